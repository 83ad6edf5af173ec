// Command embedd runs the backend-for-frontend for third-party pages that embed fragments
// (package embed): /embed/v1/{context}/{fragment} and /embed/v1/loader.js on EMBED_ADDR, /metrics on
// EMBED_ADMIN_ADDR (defaults :8202 and 127.0.0.1:9202), its partners in its own database
// (inlay_embed), rate limits and the fragment cache in Redis. Every other variable is listed in the
// README.
//
// It also manages the partners:
//
//	embedd partners add NAME -origins https://a.example,https://b.example -fragments decide/product-card [-rate 600]
//	embedd partners list
//	embedd partners revoke NAME
//
// add prints the partner's publishable and secret keys, once: only their hashes are stored.
package main

import (
	"context"
	"crypto/ed25519"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/inlay-dev/inlay/bff/embed"
	"github.com/inlay-dev/inlay/fragments"
	"github.com/inlay-dev/inlay/services/kit"
	"github.com/inlay-dev/inlay/services/kit/clientip"
	"github.com/inlay-dev/inlay/services/kit/config"
)

// Config is the embed BFF's configuration.
type Config struct {
	config.Common
	// Addr is the listen address; ":0" picks a free port.
	Addr string `env:"EMBED_ADDR" envDefault:":8202"`
	// AdminAddr is the admin listener (/metrics), never the public port.
	AdminAddr string `env:"EMBED_ADMIN_ADDR" envDefault:"127.0.0.1:9202"`
	// Teams is the team registry: context=baseURL pairs, comma-separated; fragments.DefaultTeams
	// (every team on its local port) when unset.
	Teams string `env:"INLAY_TEAMS"`
	// DNSRefresh is how often a registry URL's host name is resolved again (fragments.InstancesOptions).
	DNSRefresh time.Duration `env:"INLAY_DNS_REFRESH" envDefault:"10s"`
	// PrivateKey is embed's Ed25519 seed (base64, key id "embed") it signs its partners' guest
	// contexts with; the teams verify them with INLAY_EMBED_PUBLIC_KEY. Dev mode makes a fresh one.
	PrivateKey string `env:"INLAY_EMBED_PRIVATE_KEY" prod:"required"`
	// Storefront is the storefront's public URL; embedded links and assets point there.
	Storefront string `env:"EMBED_STOREFRONT_URL" envDefault:"http://localhost:8080" prod:"required"`
	// FragmentTimeout is a fragment's deadline when its manifest names none.
	FragmentTimeout time.Duration `env:"EMBED_FRAGMENT_TIMEOUT" envDefault:"500ms"`
	// Cache turns the fragment cache (in process and Redis) on or off.
	Cache bool `env:"EMBED_FRAGMENT_CACHE" envDefault:"true"`
	// TrustedProxies lists the addresses and CIDR prefixes of the proxies in front of embed whose
	// X-Forwarded-For it believes (the shell's variable, with the same meaning).
	TrustedProxies string `env:"INLAY_TRUSTED_PROXIES"`
	// KeyTTL is how long a partner key's lookup is remembered: a revoked key stops working within it.
	KeyTTL time.Duration `env:"EMBED_KEY_TTL" envDefault:"2s"`
}

func main() { kit.Main("embed", run) }

func run(ctx context.Context, cfg Config, log *slog.Logger) error {
	args := os.Args[1:]
	if len(args) > 0 && args[0] == "partners" {
		return partners(ctx, cfg, log, args[1:], os.Stdout)
	}
	if len(args) > 0 {
		return fmt.Errorf("unknown command %q (partners add|list|revoke, or none to serve)", args[0])
	}
	if cfg.KeyTTL <= 0 || cfg.KeyTTL > 5*time.Second {
		return errors.New("EMBED_KEY_TTL must be more than 0 and at most 5s: a revoked key must stop working within 5 s")
	}
	proxies, err := clientip.Parse(cfg.TrustedProxies)
	if err != nil {
		return err
	}
	registry, err := fragments.ParseTeams(cfg.Teams)
	if err != nil {
		return fmt.Errorf("INLAY_TEAMS: %w", err)
	}
	key, err := signingKey(cfg, log)
	if err != nil {
		return err
	}
	svc, err := kit.Start(ctx, kit.Options{Name: "embed", Addr: cfg.Addr, AdminAddr: cfg.AdminAddr, Public: true, Common: cfg.Common, Log: log,
		Redis: true, Migrations: embed.Migrations()})
	if err != nil {
		return err
	}
	defer svc.Close()
	e, err := embed.New(ctx, embed.Options{Teams: registry, DNSRefresh: cfg.DNSRefresh, Storefront: cfg.Storefront,
		Signer: fragments.NewKeySigner(fragments.KeyEmbed, key), Partners: embed.NewKeyCache(embed.NewStore(svc.DB), cfg.KeyTTL, nil),
		Redis: svc.Redis, Keys: svc.Keys, FragmentTimeout: cfg.FragmentTimeout, Cache: cfg.Cache, Locales: cfg.Locales, Proxies: proxies, Log: log,
		Tracer: svc.Tracing})
	if err != nil {
		return err
	}
	defer e.Close()
	e.Mount(svc.Server.App)
	svc.Go(e.Run)
	return svc.Run(ctx)
}

// signingKey reads INLAY_EMBED_PRIVATE_KEY; in dev, when it is unset, it makes an ephemeral key and
// logs its public half, for the teams' INLAY_EMBED_PUBLIC_KEY.
func signingKey(cfg Config, log *slog.Logger) (ed25519.PrivateKey, error) {
	if strings.TrimSpace(cfg.PrivateKey) != "" {
		key, err := fragments.ParsePrivateKey(cfg.PrivateKey)
		if err != nil {
			return nil, fmt.Errorf("INLAY_EMBED_PRIVATE_KEY: %w", err)
		}
		return key, nil
	}
	if !cfg.Dev() {
		return nil, errors.New("INLAY_EMBED_PRIVATE_KEY must be set outside dev")
	}
	pub, key, err := fragments.GenerateKey()
	if err != nil {
		return nil, err
	}
	log.Warn("INLAY_EMBED_PRIVATE_KEY unset: using an ephemeral signing key (dev only)", "INLAY_EMBED_PUBLIC_KEY", fragments.EncodePublicKey(pub))
	return key, nil
}

// partners runs `embedd partners add|list|revoke`.
func partners(ctx context.Context, cfg Config, log *slog.Logger, args []string, out io.Writer) error {
	if len(args) == 0 {
		return errors.New("partners: add, list or revoke")
	}
	svc, err := kit.Start(ctx, kit.Options{Name: "embed", Addr: "127.0.0.1:0", Common: cfg.Common, Log: log, Migrations: embed.Migrations()})
	if err != nil {
		return err
	}
	defer svc.Close()
	store := embed.NewStore(svc.DB)
	switch cmd, rest := args[0], args[1:]; cmd {
	case "add":
		if len(rest) == 0 || strings.HasPrefix(rest[0], "-") {
			return errors.New("partners add NAME -origins ... -fragments ... [-rate N]")
		}
		fs := flag.NewFlagSet("partners add", flag.ContinueOnError)
		origins := fs.String("origins", "", "the browser origins of its publishable key, comma-separated (scheme://host[:port])")
		frags := fs.String("fragments", "", "the fragments it may embed, comma-separated (context/name)")
		rate := fs.Int("rate", 600, "requests per minute per key")
		if err := fs.Parse(rest[1:]); err != nil {
			return err
		}
		keys, err := store.Add(ctx, embed.NewPartner{Name: rest[0], Origins: split(*origins), Fragments: split(*frags), RatePerMinute: *rate})
		if err != nil {
			return err
		}
		_, err = fmt.Fprintf(out, "EMBED_PUBLISHABLE_KEY=%s\nEMBED_SECRET_KEY=%s\n", keys.Publishable, keys.Secret)
		return err
	case "list":
		ps, err := store.List(ctx)
		if err != nil {
			return err
		}
		tw := tabwriter.NewWriter(out, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "NAME\tORIGINS\tFRAGMENTS\tRATE/MIN\tREVOKED")
		for _, p := range ps {
			fmt.Fprintf(tw, "%s\t%s\t%s\t%d\t%v\n", p.Name, strings.Join(p.Origins, ","), strings.Join(p.Fragments, ","), p.RatePerMinute, p.Revoked)
		}
		return tw.Flush()
	case "revoke":
		if len(rest) != 1 {
			return errors.New("partners revoke NAME")
		}
		ok, err := store.Revoke(ctx, rest[0])
		if err != nil {
			return err
		}
		if !ok {
			return fmt.Errorf("no partner %q", rest[0])
		}
		_, err = fmt.Fprintf(out, "revoked %s\n", rest[0])
		return err
	default:
		return fmt.Errorf("partners: unknown command %q (add, list, revoke)", cmd)
	}
}

func split(s string) []string {
	var out []string
	for _, f := range strings.Split(s, ",") {
		if f = strings.TrimSpace(f); f != "" {
			out = append(out, f)
		}
	}
	return out
}

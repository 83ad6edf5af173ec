// Command mobiled runs the native apps' JSON backend-for-frontend (package mobile): the /v1 screens and
// their OpenAPI document (/v1/openapi.json) on MOBILE_ADDR, /metrics on MOBILE_ADMIN_ADDR (defaults
// :8201 and 127.0.0.1:9201), rate limits in Redis. Every other variable is listed in the README.
package main

import (
	"context"
	"crypto/ed25519"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"github.com/inlay-dev/inlay/bff/mobile"
	"github.com/inlay-dev/inlay/fragments"
	"github.com/inlay-dev/inlay/services/kit"
	"github.com/inlay-dev/inlay/services/kit/clientip"
	"github.com/inlay-dev/inlay/services/kit/config"
)

// Config is the mobile BFF's configuration.
type Config struct {
	config.Common
	// Addr is the listen address; ":0" picks a free port.
	Addr string `env:"MOBILE_ADDR" envDefault:":8201"`
	// AdminAddr is the admin listener (/metrics), never the public port.
	AdminAddr string `env:"MOBILE_ADMIN_ADDR" envDefault:"127.0.0.1:9201"`
	// Teams is the team registry: context=baseURL pairs, comma-separated; fragments.DefaultTeams
	// (every team on its local port) when unset.
	Teams string `env:"INLAY_TEAMS"`
	// DNSRefresh is how often a registry URL's host name is resolved again (fragments.InstancesOptions).
	DNSRefresh time.Duration `env:"INLAY_DNS_REFRESH" envDefault:"10s"`
	// PrivateKey is mobile's Ed25519 seed (base64, key id "mobile") it signs the teams' Inlay-Context
	// with; the teams verify it with INLAY_MOBILE_PUBLIC_KEY. Dev mode makes a fresh one when unset.
	PrivateKey string `env:"INLAY_MOBILE_PRIVATE_KEY" prod:"required"`
	// TrustedProxies lists the addresses and CIDR prefixes of the proxies in front of the BFF whose
	// X-Forwarded-For it believes (the shell's variable, with the same meaning).
	TrustedProxies string `env:"INLAY_TRUSTED_PROXIES"`
	// RatePerMinute is how many requests a bearer token, and a client address, may make a minute.
	RatePerMinute int `env:"MOBILE_RATE_LIMIT" envDefault:"120"`
	// BodyLimit bounds a request body, in bytes.
	BodyLimit int64 `env:"MOBILE_BODY_LIMIT" envDefault:"16384"`
	// TokenTTL is how long a resolved bearer token is remembered: a session ended elsewhere still
	// works through the BFF for at most this long.
	TokenTTL time.Duration `env:"MOBILE_TOKEN_TTL" envDefault:"10s"`
	// Per-team deadlines of the screens' calls; decide's is at most 1s.
	DecideTimeout    time.Duration `env:"MOBILE_DECIDE_TIMEOUT" envDefault:"1s"`
	ExploreTimeout   time.Duration `env:"MOBILE_EXPLORE_TIMEOUT" envDefault:"1s"`
	CheckoutTimeout  time.Duration `env:"MOBILE_CHECKOUT_TIMEOUT" envDefault:"2s"`
	InspireTimeout   time.Duration `env:"MOBILE_INSPIRE_TIMEOUT" envDefault:"500ms"`
	InventoryTimeout time.Duration `env:"MOBILE_INVENTORY_TIMEOUT" envDefault:"500ms"`
	AccountsTimeout  time.Duration `env:"MOBILE_ACCOUNTS_TIMEOUT" envDefault:"1s"`
}

func main() { kit.Main("mobile", run) }

func run(ctx context.Context, cfg Config, log *slog.Logger) error {
	registry, err := fragments.ParseTeams(cfg.Teams)
	if err != nil {
		return fmt.Errorf("INLAY_TEAMS: %w", err)
	}
	proxies, err := clientip.Parse(cfg.TrustedProxies)
	if err != nil {
		return err
	}
	key, err := signingKey(cfg, log)
	if err != nil {
		return err
	}
	svc, err := kit.Start(ctx, kit.Options{Name: "mobile", Addr: cfg.Addr, AdminAddr: cfg.AdminAddr, Public: true, Common: cfg.Common, Log: log, Redis: true,
		Problems: true})
	if err != nil {
		return err
	}
	defer svc.Close()
	b, err := mobile.New(mobile.Options{Teams: registry, DNSRefresh: cfg.DNSRefresh, Signer: fragments.NewKeySigner(fragments.KeyMobile, key),
		Redis: svc.Redis, Keys: svc.Keys, Proxies: proxies, RatePerMinute: cfg.RatePerMinute, BodyLimit: cfg.BodyLimit, TokenTTL: cfg.TokenTTL,
		Deadlines: mobile.Deadlines{Decide: cfg.DecideTimeout, Explore: cfg.ExploreTimeout, Checkout: cfg.CheckoutTimeout,
			Inspire: cfg.InspireTimeout, Inventory: cfg.InventoryTimeout, Accounts: cfg.AccountsTimeout},
		Locales: cfg.Locales, Log: log})
	if err != nil {
		return err
	}
	defer b.Close()
	b.Mount(svc.Server.App)
	log.Info("team registry", "teams", registry.Names())
	return svc.Run(ctx)
}

// signingKey reads INLAY_MOBILE_PRIVATE_KEY; in dev, when it is unset, it makes an ephemeral key and
// logs its public half, for the teams' INLAY_MOBILE_PUBLIC_KEY.
func signingKey(cfg Config, log *slog.Logger) (ed25519.PrivateKey, error) {
	if strings.TrimSpace(cfg.PrivateKey) != "" {
		key, err := fragments.ParsePrivateKey(cfg.PrivateKey)
		if err != nil {
			return nil, fmt.Errorf("INLAY_MOBILE_PRIVATE_KEY: %w", err)
		}
		return key, nil
	}
	if !cfg.Dev() {
		return nil, errors.New("INLAY_MOBILE_PRIVATE_KEY must be set outside dev")
	}
	pub, key, err := fragments.GenerateKey()
	if err != nil {
		return nil, err
	}
	log.Warn("INLAY_MOBILE_PRIVATE_KEY unset: using an ephemeral signing key (dev only)", "INLAY_MOBILE_PUBLIC_KEY", fragments.EncodePublicKey(pub))
	return key, nil
}

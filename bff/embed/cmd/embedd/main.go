// Command embedd runs the backend-for-frontend for third-party pages that embed fragments. It reads the team registry (INLAY_TEAMS), opens
// Redis (rate limits) and serves /healthz and /readyz on EMBED_ADDR and /metrics on EMBED_ADMIN_ADDR (defaults :8202 and 127.0.0.1:9202). Every
// other variable is listed in the README.
package main

import (
	"context"
	"log/slog"

	"github.com/inlay-dev/inlay/bff/internal/teams"
	"github.com/inlay-dev/inlay/services/kit"
	"github.com/inlay-dev/inlay/services/kit/config"
)

// Config is the embed BFF's configuration.
type Config struct {
	config.Common
	// Addr is the listen address; ":0" picks a free port.
	Addr string `env:"EMBED_ADDR" envDefault:":8202"`
	// AdminAddr is the admin listener (/metrics), never the public port.
	AdminAddr string `env:"EMBED_ADMIN_ADDR" envDefault:"127.0.0.1:9202"`
	// Teams is the team registry: context=baseURL pairs, comma-separated; teams.DefaultRegistry
	// (every team on its local port) when unset.
	Teams string `env:"INLAY_TEAMS"`
	// PrivateKey is embed's Ed25519 seed (base64, key id "embed") it signs its partners' guest
	// contexts with; the teams verify them with INLAY_EMBED_PUBLIC_KEY. Dev mode makes a fresh one.
	PrivateKey string `env:"INLAY_EMBED_PRIVATE_KEY" prod:"required"`
}

func main() { kit.Main("embed", run) }

func run(ctx context.Context, cfg Config, log *slog.Logger) error {
	if cfg.Teams == "" {
		cfg.Teams = teams.DefaultRegistry
	}
	registry, err := teams.Parse(cfg.Teams)
	if err != nil {
		return err
	}
	svc, err := kit.Start(ctx, kit.Options{Name: "embed", Addr: cfg.Addr, AdminAddr: cfg.AdminAddr, Common: cfg.Common, Log: log, Redis: true})
	if err != nil {
		return err
	}
	defer svc.Close()
	log.Info("team registry", "teams", registry.Names())
	return svc.Run(ctx)
}

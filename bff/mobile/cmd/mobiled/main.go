// Command mobiled runs the native apps' JSON backend-for-frontend. It reads the team registry (INLAY_TEAMS), opens
// Redis (rate limits) and serves /healthz and /readyz on MOBILE_ADDR and /metrics on MOBILE_ADMIN_ADDR (defaults :8201 and 127.0.0.1:9201). Every
// other variable is listed in the README.
package main

import (
	"context"
	"fmt"
	"log/slog"

	"github.com/inlay-dev/inlay/fragments"
	"github.com/inlay-dev/inlay/services/kit"
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
}

func main() { kit.Main("mobile", run) }

func run(ctx context.Context, cfg Config, log *slog.Logger) error {
	registry, err := fragments.ParseTeams(cfg.Teams)
	if err != nil {
		return fmt.Errorf("INLAY_TEAMS: %w", err)
	}
	svc, err := kit.Start(ctx, kit.Options{Name: "mobile", Addr: cfg.Addr, AdminAddr: cfg.AdminAddr, Common: cfg.Common, Log: log, Redis: true})
	if err != nil {
		return err
	}
	defer svc.Close()
	log.Info("team registry", "teams", registry.Names())
	return svc.Run(ctx)
}

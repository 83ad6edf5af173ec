// Command inventoryd runs the inventory service: it opens (in dev mode, creates) its PostgreSQL database,
// applies its migrations and serves /healthz, /readyz and /metrics on INVENTORY_ADDR (default :8105).
// Every other variable is listed in the README.
package main

import (
	"context"
	"log/slog"

	"github.com/inlay-dev/inlay/services/inventory/postgres"
	"github.com/inlay-dev/inlay/services/kit"
	"github.com/inlay-dev/inlay/services/kit/config"
)

// Config is the inventory process's configuration.
type Config struct {
	config.Common
	// Addr is the listen address; ":0" picks a free port.
	Addr string `env:"INVENTORY_ADDR" envDefault:":8105"`
}

func main() { kit.Main("inventory", run) }

func run(ctx context.Context, cfg Config, log *slog.Logger) error {
	svc, err := kit.Start(ctx, kit.Options{
		Name:       "inventory",
		Addr:       cfg.Addr,
		Common:     cfg.Common,
		Log:        log,
		Migrations: postgres.Migrations(),
	})
	if err != nil {
		return err
	}
	defer svc.Close()
	return svc.Run(ctx)
}

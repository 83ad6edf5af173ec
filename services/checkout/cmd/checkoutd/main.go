// Command checkoutd runs the checkout service: it opens (in dev mode, creates) its PostgreSQL database and Redis,
// applies its migrations and serves /healthz, /readyz and /metrics on CHECKOUT_ADDR (default :8103).
// Every other variable is listed in the README.
package main

import (
	"context"
	"log/slog"

	"github.com/inlay-dev/inlay/services/checkout/postgres"
	"github.com/inlay-dev/inlay/services/kit"
	"github.com/inlay-dev/inlay/services/kit/config"
)

// Config is the checkout process's configuration.
type Config struct {
	config.Common
	// Addr is the listen address; ":0" picks a free port.
	Addr string `env:"CHECKOUT_ADDR" envDefault:":8103"`
}

func main() { kit.Main("checkout", run) }

func run(ctx context.Context, cfg Config, log *slog.Logger) error {
	svc, err := kit.Start(ctx, kit.Options{
		Name:       "checkout",
		Addr:       cfg.Addr,
		Common:     cfg.Common,
		Log:        log,
		Migrations: postgres.Migrations(),
		Redis:      true,
	})
	if err != nil {
		return err
	}
	defer svc.Close()
	return svc.Run(ctx)
}

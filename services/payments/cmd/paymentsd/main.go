// Command paymentsd runs the payments service: it opens (in dev mode, creates) its PostgreSQL database,
// applies its migrations and serves /healthz, /readyz and /metrics on PAYMENTS_ADDR (default :8106).
// Every other variable is listed in the README.
package main

import (
	"context"
	"log/slog"

	"github.com/inlay-dev/inlay/services/kit"
	"github.com/inlay-dev/inlay/services/kit/config"
	"github.com/inlay-dev/inlay/services/payments/postgres"
)

// Config is the payments process's configuration.
type Config struct {
	config.Common
	// Addr is the listen address; ":0" picks a free port.
	Addr string `env:"PAYMENTS_ADDR" envDefault:":8106"`
}

func main() { kit.Main("payments", run) }

func run(ctx context.Context, cfg Config, log *slog.Logger) error {
	svc, err := kit.Start(ctx, kit.Options{
		Name:       "payments",
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

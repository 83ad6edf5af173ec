// Command inspired runs the inspire service: its own read model of variants (from decide's events)
// and the Recommendations fragment. Configuration: INSPIRE_ADDR (default :8104) and the common
// variables (services/kit/config).
package main

import (
	"context"
	"log/slog"

	"github.com/inlay-dev/inlay/services/inspire/postgres"
	"github.com/inlay-dev/inlay/services/kit"
	"github.com/inlay-dev/inlay/services/kit/config"
)

// Config is inspired's configuration.
type Config struct {
	config.Common
	// Addr is the listen address; ":0" picks a free port.
	Addr string `env:"INSPIRE_ADDR" envDefault:":8104"`
}

func main() { kit.Main("inspire", run) }

func run(ctx context.Context, cfg Config, log *slog.Logger) error {
	svc, err := kit.Start(ctx, kit.Options{Name: "inspire", Addr: cfg.Addr, Common: cfg.Common, Log: log,
		Migrations: postgres.Migrations()})
	if err != nil {
		return err
	}
	defer svc.Close()
	return svc.Run(ctx)
}

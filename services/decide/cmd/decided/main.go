// Command decided runs the decide service: products, variants, highlights and prices (the source of
// truth), the Product page's fragment and decide's /v1 API. Configuration: DECIDE_ADDR (default
// :8101) and the common variables (services/kit/config).
package main

import (
	"context"
	"log/slog"

	"github.com/inlay-dev/inlay/services/decide/postgres"
	"github.com/inlay-dev/inlay/services/kit"
	"github.com/inlay-dev/inlay/services/kit/config"
)

// Config is decided's configuration.
type Config struct {
	config.Common
	// Addr is the listen address; ":0" picks a free port.
	Addr string `env:"DECIDE_ADDR" envDefault:":8101"`
}

func main() { kit.Main("decide", run) }

func run(ctx context.Context, cfg Config, log *slog.Logger) error {
	svc, err := kit.Start(ctx, kit.Options{Name: "decide", Addr: cfg.Addr, Common: cfg.Common, Log: log,
		Migrations: postgres.Migrations()})
	if err != nil {
		return err
	}
	defer svc.Close()
	return svc.Run(ctx)
}

// Command explored is the explore team's service: categories with product summaries (from decide's
// events), stores, home teasers and search, served as fragments. Configuration: EXPLORE_ADDR and the
// common variables (services/kit/config).
package main

import (
	"context"
	"log/slog"

	"github.com/inlay-dev/inlay/services/explore/postgres"
	"github.com/inlay-dev/inlay/services/explore/seed"
	"github.com/inlay-dev/inlay/services/kit"
	"github.com/inlay-dev/inlay/services/kit/config"
)

// Config is explored's configuration.
type Config struct {
	config.Common
	Addr string `env:"EXPLORE_ADDR" envDefault:":8102"`
}

func main() { kit.Main("explore", run) }

func run(ctx context.Context, cfg Config, log *slog.Logger) error {
	svc, err := kit.Start(ctx, kit.Options{Name: "explore", Addr: cfg.Addr, Common: cfg.Common, Log: log,
		Migrations: postgres.Migrations})
	if err != nil {
		return err
	}
	defer svc.Close()
	data, err := seed.Load()
	if err != nil {
		return err
	}
	if err := postgres.NewSeeder(svc.DB).Seed(ctx, data.Categories, data.Stores, data.Teasers); err != nil {
		return err
	}
	return svc.Run(ctx)
}

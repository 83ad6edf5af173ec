// Command explored is the explore team's service: categories with product summaries (from decide's
// events), stores, home teasers and search, served as fragments. Configuration: EXPLORE_ADDR,
// EXPLORE_SHELL_URL, INLAY_PURGE_TOKEN and the common variables (services/kit/config).
package main

import (
	"context"
	"fmt"
	"log/slog"

	"github.com/inlay-dev/inlay/fragments"
	"github.com/inlay-dev/inlay/services/explore/events"
	"github.com/inlay-dev/inlay/services/explore/postgres"
	"github.com/inlay-dev/inlay/services/explore/purge"
	"github.com/inlay-dev/inlay/services/explore/seed"
	"github.com/inlay-dev/inlay/services/explore/static"
	"github.com/inlay-dev/inlay/services/explore/ui"
	"github.com/inlay-dev/inlay/services/explore/ui/category"
	"github.com/inlay-dev/inlay/services/explore/ui/footer"
	"github.com/inlay-dev/inlay/services/explore/ui/header"
	"github.com/inlay-dev/inlay/services/explore/ui/search"
	"github.com/inlay-dev/inlay/services/explore/ui/storepicker"
	"github.com/inlay-dev/inlay/services/explore/ui/stores"
	"github.com/inlay-dev/inlay/services/explore/ui/teasers"
	"github.com/inlay-dev/inlay/services/kit"
	"github.com/inlay-dev/inlay/services/kit/config"
	kitevents "github.com/inlay-dev/inlay/services/kit/events"
)

// Config is explored's configuration.
type Config struct {
	config.Common
	config.FragmentServer
	// Addr is the listen address; ":0" picks a free port.
	Addr string `env:"EXPLORE_ADDR" envDefault:":8102"`
	// ShellURL is the shell whose cached category and search fragments explore purges after decide's
	// changes (its admin listener); empty turns purging off (dev only: prod requires it).
	ShellURL string `env:"EXPLORE_SHELL_URL" envDefault:"http://127.0.0.1:9080" prod:"required"`
	// PurgeToken is the bearer token of the shell's purge API (the shell's own INLAY_PURGE_TOKEN).
	PurgeToken string `env:"INLAY_PURGE_TOKEN" prod:"required"`
}

func main() { kit.Main("explore", run) }

func run(ctx context.Context, cfg Config, log *slog.Logger) error {
	verifier, err := fragments.KeySetVerifier(cfg.PublicKeys(), cfg.Dev())
	if err != nil {
		return err
	}
	svc, err := kit.Start(ctx, kit.Options{Name: ui.Context, Addr: cfg.Addr, Common: cfg.Common, Log: log,
		Migrations: postgres.Migrations})
	if err != nil {
		return err
	}
	defer svc.Close()
	if err := kitevents.Migrate(ctx, svc.DB); err != nil {
		return fmt.Errorf("explore events tables: %w", err)
	}
	data, err := seed.Load()
	if err != nil {
		return err
	}
	if err := postgres.NewSeeder(svc.DB).Seed(ctx, data.Categories, data.Stores, data.Teasers); err != nil {
		return err
	}

	catalog := postgres.NewCatalog(svc.DB)
	assets, err := static.New(fragments.AssetURL(ui.Context, ""))
	if err != nil {
		return err
	}
	if _, err := ui.Mount(svc.Server.App, ui.Options{Catalog: catalog, Assets: assets, Verifier: verifier}); err != nil {
		return err
	}
	// Ready once every page's fragment of explore has rendered (pool open, queries warm).
	svc.Server.AddCheck("warm", fragments.WarmUp(svc.Server.App, verifier, header.Name, footer.Name, teasers.Name,
		category.Name+"?category=classic", search.Name+"?q=tractor", stores.Name, storepicker.Name))

	purger := purge.New(purge.Options{ShellURL: cfg.ShellURL, Token: cfg.PurgeToken, Log: log})
	svc.Go(purger.Run)
	consumer := kitevents.NewConsumer(kitevents.ConsumerOptions{Name: events.ConsumerName, Pool: svc.DB,
		AMQPURL: cfg.AMQPURL, Exchange: cfg.Exchange, Log: log, Registry: svc.Server.Registry,
		// Once a change is committed, the shell's cached listings are stale.
		OnSettled: func(_ kitevents.Event, outcome string) {
			if outcome == "applied" {
				purger.Changed()
			}
		}})
	events.NewHandlers(catalog).Register(consumer)
	// Ready only once the queue is bound: decide's catch-up waits for it before republishing the
	// catalog after a first seed (services/decide/events.CatchUp).
	svc.Server.AddCheck("events", consumer.Ready)
	svc.Go(consumer.Run)
	return svc.Run(ctx)
}

// Command explored is the explore team's service: categories with product summaries (from decide's
// events), stores (published as explore.store.changed), home teasers and search, served as fragments. Configuration: EXPLORE_ADDR,
// EXPLORE_SHELL_URL, INLAY_PURGE_TOKEN and the common variables (services/kit/config).
package main

import (
	"context"
	"log/slog"

	"github.com/inlay-dev/inlay/fragments"
	"github.com/inlay-dev/inlay/fragments/purge"
	"github.com/inlay-dev/inlay/services/explore/api"
	"github.com/inlay-dev/inlay/services/explore/events"
	"github.com/inlay-dev/inlay/services/explore/postgres"
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
	// changes (its admin listener). An empty value takes the default (caarlos0/env), so purging is
	// always on; prod requires the variable set.
	ShellURL string `env:"EXPLORE_SHELL_URL" envDefault:"http://127.0.0.1:9080" prod:"required"`
	// PurgeToken is the bearer token of the shell's purge API (the shell's own INLAY_PURGE_TOKEN).
	PurgeToken string `env:"INLAY_PURGE_TOKEN" prod:"required"`
	// Teams is the team registry (context=base URL, comma-separated); after a seed that changed the
	// stores explore waits for the consumers of store.changed among them (checkout) to be ready and
	// republishes the stores once (kit/events.CatchUp).
	Teams string `env:"INLAY_TEAMS" envDefault:"checkout=http://127.0.0.1:8103"`
}

func main() { kit.Main("explore", run) }

func run(ctx context.Context, cfg Config, log *slog.Logger) error {
	svc, err := kit.Start(ctx, kit.Options{Name: ui.Context, Addr: cfg.Addr, Common: cfg.Common, Log: log,
		Migrations: postgres.Migrations(), Events: true, Fragments: &cfg.FragmentServer})
	if err != nil {
		return err
	}
	defer svc.Close()
	data, err := seed.Load()
	if err != nil {
		return err
	}
	seeder := postgres.NewSeeder(svc.DB)
	changed, err := seeder.Seed(ctx, data.Categories, data.Stores, data.Teasers)
	if err != nil {
		return err
	}
	if changed > 0 {
		if err := svc.CatchUp(cfg.Teams, kitevents.CatchUp{Consumers: events.Consumers(),
			Republish: seeder.RepublishStores, What: "stores"}); err != nil {
			return err
		}
	}

	catalog := postgres.NewCatalog(svc.DB)
	assets, err := static.New(fragments.AssetURL(ui.Context, ""))
	if err != nil {
		return err
	}
	if _, err := ui.Mount(svc.Server.App, ui.Options{Catalog: catalog, Assets: assets,
		Verifier: svc.Verifier}); err != nil {
		return err
	}
	// The /v1 JSON API for the BFFs.
	api.New(catalog).Mount(svc.Server.App)
	// Ready once every page's fragment of explore has rendered (pool open, queries warm).
	svc.Server.AddCheck("warm", fragments.WarmUp(svc.Server.App, svc.Verifier, header.Name, footer.Name, teasers.Name,
		category.Name+"?category=classic", search.Name+"?q=tractor", stores.Name, storepicker.Name))

	purger := purge.New(purge.Options{ShellURL: cfg.ShellURL, Token: cfg.PurgeToken, Log: log,
		Whole: []string{ui.Context + "/" + category.Name, ui.Context + "/" + search.Name}}) // the listings
	svc.Go(purger.Run)
	// Ready only once the queue is bound: decide's catch-up waits for it before republishing the
	// catalog after a first seed (services/kit/events.CatchUp).
	consumer := svc.Consumer(kitevents.ConsumerOptions{Name: events.ConsumerName,
		// Once a change is committed, the shell's cached copies of what shows it are stale: a
		// price, every fragment that shows the product (by its tag); a product, explore's listings.
		OnSettled: func(e kitevents.Event, outcome string) {
			switch {
			case outcome != "applied":
			case e.Type == events.PriceChanged:
				purger.Changed(fragments.ProductTag(e.Subject))
			default:
				purger.Changed()
				purger.Changed(fragments.ProductTag(e.Subject))
			}
		}})
	events.NewHandlers(catalog).Register(consumer)
	// The relay publishes explore.store.changed from the outbox.
	svc.Relay()
	return svc.Run(ctx)
}

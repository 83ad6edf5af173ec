// Command decided runs the decide service: products, variants, highlights and prices (the source of
// truth), the Product page's fragment, decide's /v1 API and its content-hashed assets. Its events go
// out through the outbox and a relay to RabbitMQ.
//
//	decided                    serve (seeding the catalog first unless DECIDE_SEED=false)
//	decided seed               seed the catalog and exit (idempotent)
//	decided price SKU PRICE    change a variant's price and exit
//	decided republish          write a product.updated snapshot of every product and exit, for
//	                           consumers whose queue did not exist when the catalog was first published
//
// A running decided relays the events the commands write. Configuration: DECIDE_ADDR (default :8101),
// DECIDE_ADMIN_TOKEN, DECIDE_SEED, DECIDE_CATCHUP, INLAY_TEAMS, DECIDE_STATIC_URL and the common variables (services/kit/config).
package main

import (
	"context"
	"fmt"
	"log/slog"
	"strconv"

	"github.com/inlay-dev/inlay/fragments"
	"github.com/inlay-dev/inlay/services/decide/api"
	decideevents "github.com/inlay-dev/inlay/services/decide/events"
	"github.com/inlay-dev/inlay/services/decide/postgres"
	"github.com/inlay-dev/inlay/services/decide/seed"
	"github.com/inlay-dev/inlay/services/decide/static"
	"github.com/inlay-dev/inlay/services/decide/ui/card"
	"github.com/inlay-dev/inlay/services/decide/ui/product"
	"github.com/inlay-dev/inlay/services/kit"
	"github.com/inlay-dev/inlay/services/kit/config"
	"github.com/inlay-dev/inlay/services/kit/events"
)

// Config is decided's configuration.
type Config struct {
	config.Common
	config.FragmentServer
	// Addr is the listen address; ":0" picks a free port.
	Addr string `env:"DECIDE_ADDR" envDefault:":8101"`
	// AdminToken guards the admin API (Authorization: Bearer <token>).
	AdminToken string `env:"DECIDE_ADMIN_TOKEN" envDefault:"dev-admin-token" prod:"required"`
	// Seed seeds the embedded catalog at start.
	Seed bool `env:"DECIDE_SEED" envDefault:"true"`
	// Teams is the team registry (context=base URL, comma-separated; fragments.DefaultTeams when
	// empty); after a fresh seed decide waits for its consumers among them to be ready and republishes
	// the catalog once (see events.CatchUp).
	Teams string `env:"INLAY_TEAMS"`
	// CatchUp turns that republish on or off.
	CatchUp bool `env:"DECIDE_CATCHUP" envDefault:"true"`
	// StaticURL is the public URL prefix of decide's /static/ (the shell serves it at /static/decide).
	StaticURL string `env:"DECIDE_STATIC_URL" envDefault:"/static/decide"`
}

func main() { kit.MainArgs("decide", run) }

func run(ctx context.Context, cfg Config, log *slog.Logger, args []string) error {
	if err := cfg.CheckAdminToken("DECIDE_ADMIN_TOKEN", cfg.AdminToken); err != nil {
		return err
	}
	cmd, err := kit.Command(args, map[string]int{"serve": 0, "seed": 0, "republish": 0, "price": 2})
	if err != nil {
		return err
	}

	var fragServer *config.FragmentServer
	if cmd == "serve" {
		fragServer = &cfg.FragmentServer // `decided seed` needs no shell key
	}
	svc, err := kit.Start(ctx, kit.Options{Name: "decide", Addr: cfg.Addr, Common: cfg.Common, Log: log,
		Migrations: postgres.Migrations(), Events: true, Fragments: fragServer})
	if err != nil {
		return err
	}
	defer svc.Close()
	assets := static.New(cfg.StaticURL)
	store := postgres.NewStore(svc.DB, decideevents.NewPublisher(assets))

	switch cmd {
	case "seed":
		_, err := seedCatalog(ctx, store, log)
		return err
	case "republish":
		n, err := store.Republish(ctx)
		if err == nil {
			log.Info("republished", "products", n)
		}
		return err
	case "price":
		if len(args) != 3 { // kit.Command has checked it; the index below must not trust that alone
			return fmt.Errorf("price takes a sku and a price, got %d arguments", len(args)-1)
		}
		price, err := strconv.ParseInt(args[2], 10, 64)
		if err != nil {
			return fmt.Errorf("price %q: %w", args[2], err)
		}
		ch, err := store.ChangePrice(ctx, args[1], price)
		if err == nil {
			log.Info("price changed", "sku", ch.SKU, "old", ch.Old, "new", ch.New, "version", ch.Version)
		}
		return err
	}

	if cfg.Seed {
		res, err := seedCatalog(ctx, store, log)
		if err != nil {
			return err
		}
		if res.Created > 0 && cfg.CatchUp {
			if err := svc.CatchUp(cfg.Teams, events.CatchUp{Consumers: decideevents.Consumers(),
				Republish: store.Republish, What: "products"}); err != nil {
				return err
			}
		}
	}
	app := svc.Server.App
	assets.Mount(app)
	fragments.ServeManifest(app, fragments.Manifest{Name: "decide", Version: assets.Version(),
		Fragments: map[string]fragments.Fragment{product.Name: product.Manifest(assets.Stylesheet()),
			card.Name: card.Manifest(assets.Stylesheet())}})
	frags := app.Group("/fragments", fragments.Middleware(svc.Verifier))
	frags.Get("/"+product.Name, product.Handler(store, assets, assets.StylesheetURL()))
	frags.Get("/"+card.Name, card.Handler(store, assets, assets.StylesheetURL()))
	// Ready once the product page's fragment has rendered (pool open, queries warm).
	svc.Server.AddCheck("warm", fragments.WarmUp(app, svc.Verifier, product.Name+"?id=AU-01&sku=AU-01-SI"))
	api.New(store, store, assets, cfg.AdminToken).Mount(app)

	svc.Relay()
	return svc.Run(ctx)
}

func seedCatalog(ctx context.Context, store *postgres.Store, log *slog.Logger) (postgres.SeedResult, error) {
	products, err := seed.Products()
	if err != nil {
		return postgres.SeedResult{}, err
	}
	res, err := store.Seed(ctx, products)
	if err != nil {
		return postgres.SeedResult{}, err
	}
	log.Info("catalog seeded", "created", res.Created, "updated", res.Updated, "unchanged", res.Unchanged)
	return res, nil
}

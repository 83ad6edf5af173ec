// Command inventoryd runs the inventory service: stock per sku and reservations per order. It seeds
// the stock from its own copy of the catalog (idempotently; a stock.changed per new sku), consumes
// payments.payment.authorized.v1 (reserve all lines or reject the order), checkout.order.cancelled.v1
// (release) and decide.product.created/updated.v1 (a stock row per new sku) with an idempotent
// consumer, publishes inventory.stock.reserved/rejected/changed.v1 through its outbox and relay,
// and serves the /v1 API, /healthz, /readyz (database and consumer) and /metrics.
//
//	inventoryd              serve (seeding the stock first unless INVENTORY_SEED=false)
//	inventoryd seed         seed the stock and exit (idempotent)
//	inventoryd republish    write a stock.changed of every sku and exit, for consumers whose queue
//	                        did not exist when the stock was first published
//
// A running inventoryd relays the events the commands write. Configuration: INVENTORY_ADDR (default
// :8105), INVENTORY_ADMIN_TOKEN, INVENTORY_SEED, INVENTORY_CATCHUP, INLAY_TEAMS and the common
// variables (services/kit/config).
package main

import (
	"context"
	"log/slog"

	"github.com/inlay-dev/inlay/services/inventory/api"
	inventoryevents "github.com/inlay-dev/inlay/services/inventory/events"
	"github.com/inlay-dev/inlay/services/inventory/postgres"
	"github.com/inlay-dev/inlay/services/inventory/seed"
	"github.com/inlay-dev/inlay/services/kit"
	"github.com/inlay-dev/inlay/services/kit/config"
	"github.com/inlay-dev/inlay/services/kit/events"
)

// Config is the inventory process's configuration.
type Config struct {
	config.Common
	// Addr is the listen address; ":0" picks a free port.
	Addr string `env:"INVENTORY_ADDR" envDefault:":8105"`
	// AdminToken guards the admin API (Authorization: Bearer <token>).
	AdminToken string `env:"INVENTORY_ADMIN_TOKEN" envDefault:"dev-admin-token" prod:"required"`
	// Seed seeds the embedded stock at start.
	Seed bool `env:"INVENTORY_SEED" envDefault:"true"`
	// Teams is the team registry (context=base URL, comma-separated; fragments.DefaultTeams when
	// empty); after a fresh seed inventory waits for the consumers of stock.changed among them
	// (checkout) to be ready and republishes the stock once (see events.CatchUp).
	Teams string `env:"INLAY_TEAMS"`
	// CatchUp turns that republish on or off.
	CatchUp bool `env:"INVENTORY_CATCHUP" envDefault:"true"`
}

func main() { kit.MainArgs("inventory", run) }

func run(ctx context.Context, cfg Config, log *slog.Logger, args []string) error {
	if err := cfg.CheckAdminToken("INVENTORY_ADMIN_TOKEN", cfg.AdminToken); err != nil {
		return err
	}
	cmd, err := kit.Command(args, map[string]int{"serve": 0, "seed": 0, "republish": 0})
	if err != nil {
		return err
	}

	svc, err := kit.Start(ctx, kit.Options{
		Name:       "inventory",
		Addr:       cfg.Addr,
		Common:     cfg.Common,
		Log:        log,
		Migrations: postgres.Migrations(),
		Events:     true,
	})
	if err != nil {
		return err
	}
	defer svc.Close()
	store := postgres.NewStore(svc.DB)
	svc.Server.Registry.MustRegister(store.Collector())

	switch cmd {
	case "seed":
		_, err := seedStock(ctx, store, log)
		return err
	case "republish":
		n, err := store.Republish(ctx)
		if err == nil {
			log.Info("republished", "skus", n)
		}
		return err
	}
	if cfg.Seed {
		created, err := seedStock(ctx, store, log)
		if err != nil {
			return err
		}
		if created > 0 && cfg.CatchUp {
			if err := svc.CatchUp(cfg.Teams, events.CatchUp{Consumers: inventoryevents.Consumers(),
				Republish: store.Republish, What: "skus"}); err != nil {
				return err
			}
		}
	}

	// One event per transaction: a reservation locks its stock rows in sku order, which rules out
	// deadlocks only while a transaction holds one event's locks (a batch of several orders would
	// gather locks out of order and could deadlock with another worker's batch).
	inventoryevents.NewHandlers(store).Register(svc.Consumer(events.ConsumerOptions{
		Name: inventoryevents.ConsumerName, BatchSize: 1}))
	svc.Relay()

	api.New(store, cfg.AdminToken).Mount(svc.Server.App)
	return svc.Run(ctx)
}

func seedStock(ctx context.Context, store *postgres.Store, log *slog.Logger) (int, error) {
	stock, err := seed.Stock()
	if err != nil {
		return 0, err
	}
	n, err := store.Seed(ctx, stock)
	if err != nil {
		return 0, err
	}
	log.Info("stock seeded", "skus", len(stock), "created", n)
	return n, nil
}

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
	"errors"
	"fmt"
	"log/slog"
	"os"

	"github.com/inlay-dev/inlay/fragments"
	"github.com/inlay-dev/inlay/services/inventory/api"
	inventoryevents "github.com/inlay-dev/inlay/services/inventory/events"
	"github.com/inlay-dev/inlay/services/inventory/postgres"
	"github.com/inlay-dev/inlay/services/inventory/seed"
	"github.com/inlay-dev/inlay/services/kit"
	"github.com/inlay-dev/inlay/services/kit/config"
	"github.com/inlay-dev/inlay/services/kit/events"
)

// devAdminToken is INVENTORY_ADMIN_TOKEN's default, refused in prod.
const devAdminToken = "dev-admin-token"

// Config is the inventory process's configuration.
type Config struct {
	config.Common
	// Addr is the listen address; ":0" picks a free port.
	Addr string `env:"INVENTORY_ADDR" envDefault:":8105"`
	// AdminToken guards the admin API (Authorization: Bearer <token>).
	AdminToken string `env:"INVENTORY_ADMIN_TOKEN" envDefault:"dev-admin-token" prod:"required"`
	// Seed seeds the embedded stock at start.
	Seed bool `env:"INVENTORY_SEED" envDefault:"true"`
	// Teams is the team registry (context=base URL, comma-separated); after a fresh seed inventory
	// waits for the consumers of stock.changed among them (checkout) to be ready and republishes the
	// stock once (see events.CatchUp).
	Teams string `env:"INLAY_TEAMS" envDefault:"checkout=http://127.0.0.1:8103"`
	// CatchUp turns that republish on or off.
	CatchUp bool `env:"INVENTORY_CATCHUP" envDefault:"true"`
}

func main() {
	args := os.Args[1:]
	kit.Main("inventory", func(ctx context.Context, cfg Config, log *slog.Logger) error {
		return run(ctx, cfg, log, args)
	})
}

func run(ctx context.Context, cfg Config, log *slog.Logger, args []string) error {
	if !cfg.Dev() && cfg.AdminToken == devAdminToken {
		return errors.New("INVENTORY_ADMIN_TOKEN must be set to a secret in prod")
	}
	cmd := "serve"
	if len(args) > 0 {
		cmd = args[0]
	}
	switch cmd {
	case "serve", "seed", "republish":
		if len(args) > 1 {
			return fmt.Errorf("%s takes no arguments", cmd)
		}
	default:
		return fmt.Errorf("unknown command %q (serve, seed, republish)", cmd)
	}

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
	if err := events.Migrate(ctx, svc.DB); err != nil {
		return err
	}
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
			teams, err := fragments.ParseTeams(cfg.Teams)
			if err != nil {
				return fmt.Errorf("INLAY_TEAMS: %w", err)
			}
			svc.Go(inventoryevents.CatchUp{Teams: teams, Republish: store.Republish, Log: log}.Run)
		}
	}

	// One event per transaction: a reservation locks its stock rows in sku order, which rules out
	// deadlocks only while a transaction holds one event's locks (a batch of several orders would
	// gather locks out of order and could deadlock with another worker's batch).
	consumer := events.NewConsumer(events.ConsumerOptions{Name: inventoryevents.ConsumerName, Pool: svc.DB,
		AMQPURL: cfg.AMQPURL, Exchange: cfg.Exchange, Log: log, Registry: svc.Server.Registry, BatchSize: 1})
	inventoryevents.NewHandlers(store).Register(consumer)
	svc.Server.AddCheck("events", consumer.Ready)
	svc.Go(consumer.Run)

	relay := events.NewRelay(events.RelayOptions{Name: "inventory", Pool: svc.DB, AMQPURL: cfg.AMQPURL,
		Exchange: cfg.Exchange, Log: log, Registry: svc.Server.Registry})
	svc.Go(relay.Run)

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

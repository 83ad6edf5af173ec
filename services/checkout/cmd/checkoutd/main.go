// Command checkoutd runs the checkout service on CHECKOUT_ADDR (default :8103): carts in Redis,
// orders and its copies of variants and stock in PostgreSQL (database created in dev mode, migrated
// at start), the fragments and /ui endpoints of package ui, the outbox relay publishing
// checkout.order.* and the consumer of decide's, inventory's and payments' events. Every other
// variable is listed in the README.
package main

import (
	"context"
	"log/slog"

	"github.com/inlay-dev/inlay/fragments"
	"github.com/inlay-dev/inlay/services/checkout/api"
	"github.com/inlay-dev/inlay/services/checkout/events"
	"github.com/inlay-dev/inlay/services/checkout/postgres"
	"github.com/inlay-dev/inlay/services/checkout/redis"
	"github.com/inlay-dev/inlay/services/checkout/static"
	"github.com/inlay-dev/inlay/services/checkout/ui"
	"github.com/inlay-dev/inlay/services/kit"
	"github.com/inlay-dev/inlay/services/kit/config"
	kitevents "github.com/inlay-dev/inlay/services/kit/events"
)

// Config is the checkout process's configuration.
type Config struct {
	config.Common
	config.FragmentServer
	// Addr is the listen address; ":0" picks a free port.
	Addr string `env:"CHECKOUT_ADDR" envDefault:":8103"`
}

func main() { kit.Main("checkout", run) }

func run(ctx context.Context, cfg Config, log *slog.Logger) error {
	svc, err := kit.Start(ctx, kit.Options{
		Name:       ui.Context,
		Addr:       cfg.Addr,
		Common:     cfg.Common,
		Log:        log,
		Migrations: postgres.Migrations(),
		Events:     true,
		Fragments:  &cfg.FragmentServer,
		Redis:      true,
	})
	if err != nil {
		return err
	}
	defer svc.Close()

	store := postgres.NewStore(svc.DB)
	assets, err := static.New(fragments.AssetURL(ui.Context, ""))
	if err != nil {
		return err
	}
	carts := redis.NewCarts(svc.Redis, svc.Keys)
	if _, err := ui.Mount(svc.Server.App, ui.Options{Carts: carts, Store: store,
		Assets: assets, Verifier: svc.Verifier, SecureCookie: !cfg.Dev(), Log: log}); err != nil {
		return err
	}
	// The /v1 JSON API for the BFFs, behind the same Inlay-Context check.
	api.New(carts, store, svc.Verifier, log).Mount(svc.Server.App)
	// Ready once the header's and the cart pages' fragments have rendered (pools open, queries warm).
	svc.Server.AddCheck("warm", fragments.WarmUp(svc.Server.App, svc.Verifier, ui.MiniCart, ui.CartPage, ui.CheckoutPage,
		ui.AddToCart+"?sku=AU-01-SI"))

	svc.Relay()
	// Ready only once the queue is bound: decide's and inventory's first-start catch-ups wait for it
	// before republishing the catalog and the stock.
	consumer := svc.Consumer(kitevents.ConsumerOptions{Name: events.ConsumerName})
	events.NewHandlers(store, store, store).Register(consumer)
	events.NewAccountHandlers(store).Register(consumer)
	return svc.Run(ctx)
}

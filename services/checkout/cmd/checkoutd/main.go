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
	"github.com/inlay-dev/inlay/fragments/purge"
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
	// ShellURL is the shell whose cached Add To Cart copies checkout purges (by fragments.SKUTag) once
	// a variant's price or stock changed in its copies (the shell's admin listener); empty turns
	// purging off (dev only: prod requires it).
	ShellURL string `env:"CHECKOUT_SHELL_URL" envDefault:"http://127.0.0.1:9080" prod:"required"`
	// PurgeToken is the bearer token of the shell's purge API (the shell's own INLAY_PURGE_TOKEN).
	PurgeToken string `env:"INLAY_PURGE_TOKEN" prod:"required"`
}

func main() { kit.Main("checkout", run) }

func run(ctx context.Context, cfg Config, log *slog.Logger) error {
	svc, err := kit.Start(ctx, kit.Options{
		Name:       ui.Context,
		Addr:       cfg.Addr,
		Common:     cfg.Common,
		Log:        log,
		Migrations: postgres.Migrations(),
		Prepare:    postgres.HotStatements(),
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
	purger := purge.New(purge.Options{ShellURL: cfg.ShellURL, Token: cfg.PurgeToken, Log: log,
		Whole: []string{ui.Context + "/" + ui.AddToCart}})
	svc.Go(purger.Run)
	consumer := svc.Consumer(kitevents.ConsumerOptions{Name: events.ConsumerName,
		// Once a variant's price or stock is committed in checkout's copies, the shell's cached Add To
		// Cart of it is stale (docs/fragments.md, "Who purges what").
		OnSettled: func(e kitevents.Event, outcome string) {
			if outcome != "applied" {
				return
			}
			for _, sku := range events.SKUs(e) {
				purger.Changed(fragments.SKUTag(sku))
			}
		}})
	events.NewHandlers(store, store, store).Register(consumer)
	events.NewAccountHandlers(store).Register(consumer)
	events.NewCartHandlers(store, carts).Register(consumer)
	return svc.Run(ctx)
}

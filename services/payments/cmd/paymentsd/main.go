// Command paymentsd runs the payments service: payments and refunds against a simulated card
// provider with test cards, one payment per order. It consumes checkout.order.placed.v1 (authorize)
// and inventory.stock.rejected.v1 (refund) with an idempotent consumer, publishes
// payments.payment.authorized/declined/refunded.v1 through its outbox and relay, and serves
// GET /v1/payments/{order_id}, /healthz, /readyz (database and consumer) and /metrics on
// PAYMENTS_ADDR (default :8106). Every other variable is listed in the README.
package main

import (
	"context"
	"log/slog"

	"github.com/inlay-dev/inlay/services/kit"
	"github.com/inlay-dev/inlay/services/kit/config"
	"github.com/inlay-dev/inlay/services/kit/events"
	"github.com/inlay-dev/inlay/services/payments/api"
	paymentsevents "github.com/inlay-dev/inlay/services/payments/events"
	"github.com/inlay-dev/inlay/services/payments/postgres"
)

// Config is the payments process's configuration.
type Config struct {
	config.Common
	// Addr is the listen address; ":0" picks a free port.
	Addr string `env:"PAYMENTS_ADDR" envDefault:":8106"`
}

func main() { kit.Main("payments", run) }

func run(ctx context.Context, cfg Config, log *slog.Logger) error {
	svc, err := kit.Start(ctx, kit.Options{
		Name:       "payments",
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

	paymentsevents.NewHandlers(store, postgres.NewID).Register(svc.Consumer(events.ConsumerOptions{
		Name: paymentsevents.ConsumerName}))
	svc.Relay()

	api.New(store).Mount(svc.Server.App)
	return svc.Run(ctx)
}

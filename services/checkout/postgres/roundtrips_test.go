package postgres_test

import (
	"context"
	"sync/atomic"
	"testing"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/inlay-dev/inlay/services/checkout"
	checkoutevents "github.com/inlay-dev/inlay/services/checkout/events"
	"github.com/inlay-dev/inlay/services/checkout/internal/checkouttest"
	"github.com/inlay-dev/inlay/services/checkout/postgres"
)

// roundTrips counts what a pool sends to PostgreSQL and waits for: each query (BEGIN and COMMIT
// included) and each batch.
type roundTrips struct{ n atomic.Int64 }

func (r *roundTrips) TraceQueryStart(ctx context.Context, _ *pgx.Conn, _ pgx.TraceQueryStartData) context.Context {
	r.n.Add(1)
	return ctx
}
func (r *roundTrips) TraceQueryEnd(context.Context, *pgx.Conn, pgx.TraceQueryEndData) {}
func (r *roundTrips) TraceBatchStart(ctx context.Context, _ *pgx.Conn, _ pgx.TraceBatchStartData) context.Context {
	r.n.Add(1)
	return ctx
}
func (r *roundTrips) TraceBatchQuery(context.Context, *pgx.Conn, pgx.TraceBatchQueryData) {}
func (r *roundTrips) TraceBatchEnd(context.Context, *pgx.Conn, pgx.TraceBatchEndData)     {}

// Placing an order waits for PostgreSQL twice (issue 17: with +500 ms on every answer, place-order's
// p99 must stay under 2 s; it took seven round trips, 6.5 s at p50): one read, one write.
func TestPlaceOrderRoundTrips(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	_, pool := checkouttest.Store(t)
	cfg := pool.Config()
	rt := &roundTrips{}
	cfg.ConnConfig.Tracer = rt
	traced, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(traced.Close)
	s := postgres.NewStore(traced)
	place := checkout.Placement{CartID: "cart-rt", Lines: []checkout.CartLine{{SKU: checkouttest.SKUGrey, Quantity: 1},
		{SKU: checkouttest.SKURed, Quantity: 1}}, Form: form("key-rt")}

	id, created, err := s.PlaceOrder(ctx, place)
	if err != nil || !created {
		t.Fatalf("PlaceOrder = %s, %v, %v", id, created, err)
	}
	if n := rt.n.Load(); n > 2 {
		t.Errorf("placing an order took %d round trips, want at most 2", n)
	}
	rt.n.Store(0)
	again, created, err := s.PlaceOrder(ctx, place)
	if err != nil || created || again != id {
		t.Fatalf("PlaceOrder again = %s, %v, %v; want %s, not created", again, created, err, id)
	}
	if n := rt.n.Load(); n > 1 {
		t.Errorf("placing an order again took %d round trips, want 1", n)
	}
	if o, err := s.Order(ctx, id); err != nil || len(o.Lines) != 2 {
		t.Fatalf("order = %+v, %v", o, err)
	}
	if evs := checkouttest.Outbox(t, pool); len(evs) != 1 || evs[0].Type != checkoutevents.OrderPlacedType {
		t.Fatalf("outbox = %+v, want one %s", evs, checkoutevents.OrderPlacedType)
	}
}

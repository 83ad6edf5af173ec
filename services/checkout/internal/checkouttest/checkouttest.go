// Package checkouttest sets up checkout's real stores for tests: a fresh migrated PostgreSQL
// database with the events tables and a few variants with stock, and a Redis cart store with a
// unique prefix.
package checkouttest

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/inlay-dev/inlay/services/checkout"
	"github.com/inlay-dev/inlay/services/checkout/postgres"
	"github.com/inlay-dev/inlay/services/checkout/redis"
	kitevents "github.com/inlay-dev/inlay/services/kit/events"
	"github.com/inlay-dev/inlay/services/kit/kittest"
)

// The seeded variants: GY has 5 in stock, RD 1, MT none.
const (
	SKUGrey  = "CL-01-GY"
	SKURed   = "CL-01-RD"
	SKUMatte = "AU-07-MT"
)

// Products are the seeded products, as decide would publish them.
var Products = []checkout.ProductChange{
	{ID: "CL-01", Name: "Heritage Workhorse", Variants: []checkout.Variant{
		{SKU: SKUGrey, Name: "Verdant Field", Color: "#6b8e23", Image: "/static/decide/img/gy.svg", Price: 5700},
		{SKU: SKURed, Name: "Red Barn", Color: "#b22222", Image: "/static/decide/img/rd.svg", Price: 6200},
	}},
	{ID: "AU-07", Name: "FutureHarvest Navigator", Variants: []checkout.Variant{
		{SKU: SKUMatte, Name: "Midnight Matte", Color: "#222222", Image: "/static/decide/img/mt.svg", Price: 3200},
	}},
}

// Stores are the seeded stores, as explore would publish them.
var Stores = []checkout.PickupStore{{ID: "store-a", Name: "Aurora Flagship Store"}, {ID: "store-b", Name: "Big Micro Machines"}}

// Stock is the seeded stock per sku.
var Stock = map[string]int{SKUGrey: 5, SKURed: 1, SKUMatte: 0}

// DB returns a fresh migrated database with the events tables, and no data.
func DB(t testing.TB) *pgxpool.Pool {
	t.Helper()
	pool := kittest.Postgres(t, postgres.Migrations())
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := kitevents.Migrate(ctx, pool); err != nil {
		t.Fatalf("events tables: %v", err)
	}
	return pool
}

// Store returns a store on a fresh database seeded with Products (version 1), Stock and Stores.
func Store(t testing.TB) (*postgres.Store, *pgxpool.Pool) {
	t.Helper()
	pool := DB(t)
	s := postgres.NewStore(pool)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	err := pgx.BeginFunc(ctx, pool, func(tx pgx.Tx) error {
		for _, p := range Products {
			p.Variants = slices.Clone(p.Variants)
			for i := range p.Variants {
				p.Variants[i].ProductID, p.Variants[i].ProductName = p.ID, p.Name
			}
			if err := s.ApplyProduct(ctx, tx, p, 1); err != nil {
				return err
			}
		}
		for _, st := range Stores {
			if err := s.ApplyStore(ctx, tx, st, 1); err != nil {
				return err
			}
		}
		for sku, q := range Stock {
			if err := s.ApplyStock(ctx, tx, sku, q); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatalf("seed: %v", err)
	}
	return s, pool
}

// Carts returns a cart store on Redis with a prefix unique to t.
func Carts(t testing.TB) *redis.Carts {
	t.Helper()
	rdb, keys := kittest.Redis(t)
	return redis.NewCarts(rdb, keys)
}

// Outbox returns the events in the outbox, oldest first.
func Outbox(t testing.TB, pool *pgxpool.Pool) []kitevents.Event {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	rows, err := pool.Query(ctx, `SELECT body FROM inlay_outbox ORDER BY seq`)
	if err != nil {
		t.Fatal(err)
	}
	bodies, err := pgx.CollectRows(rows, pgx.RowTo[[]byte])
	if err != nil {
		t.Fatal(err)
	}
	out := make([]kitevents.Event, len(bodies))
	for i, b := range bodies {
		if out[i], err = kitevents.Decode(b); err != nil {
			t.Fatalf("outbox row %d: %v", i, err)
		}
	}
	return out
}

// Tx runs f in a committed transaction, failing the test on error.
func Tx(t testing.TB, pool *pgxpool.Pool, f func(ctx context.Context, tx pgx.Tx) error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := pgx.BeginFunc(ctx, pool, func(tx pgx.Tx) error { return f(ctx, tx) }); err != nil {
		t.Fatal(err)
	}
}

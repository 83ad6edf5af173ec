package events_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/inlay-dev/inlay/services/checkout"
	"github.com/inlay-dev/inlay/services/checkout/events"
	"github.com/inlay-dev/inlay/services/checkout/internal/checkouttest"
	"github.com/inlay-dev/inlay/services/checkout/postgres"
	kitevents "github.com/inlay-dev/inlay/services/kit/events"
	"github.com/inlay-dev/inlay/services/kit/events/eventstest"
	"github.com/inlay-dev/inlay/services/kit/kittest"
	"github.com/inlay-dev/inlay/services/kit/kittest/maintest"
)

// decideEvent reads one of decide's example events, the contract decide keeps equal to what it
// publishes.
func decideEvent(t *testing.T, name string) kitevents.Event {
	t.Helper()
	return eventstest.Read(t, filepath.Join("..", "..", "decide", "events", "testdata", name))
}

func event(t *testing.T, source, typ, subject string, data any) kitevents.Event {
	t.Helper()
	e, err := kitevents.New(source, typ, subject, data)
	if err != nil {
		t.Fatal(err)
	}
	return e
}

func handle(t *testing.T, pool *pgxpool.Pool, h kitevents.Handler, e kitevents.Event) error {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	return pgx.BeginFunc(ctx, pool, func(tx pgx.Tx) error { return h(ctx, tx, e) })
}

func TestDecideExamplesInAnyOrderAndTwice(t *testing.T) {
	t.Parallel()
	created, updated, price := decideEvent(t, "product_created.json"), decideEvent(t, "product_updated.json"),
		decideEvent(t, "price_changed.json")
	orders := [][]kitevents.Event{
		{created, price, updated},
		{updated, price, created},
		{price, created, updated, created, price},
	}
	for i, order := range orders {
		t.Run(fmt.Sprint(i), func(t *testing.T) {
			t.Parallel()
			pool := checkouttest.DB(t)
			s := postgres.NewStore(pool)
			h := events.NewHandlers(s, s, s)
			for _, e := range order {
				fn := h.Product
				if e.Type == events.PriceChanged {
					fn = h.Price
				}
				if err := handle(t, pool, fn, e); err != nil {
					t.Fatalf("%s: %v", e.Type, err)
				}
			}
			// product.updated (version 3) is the newest state: name "SmartFarm Titan II", BL at 4000.
			it, err := s.Item(context.Background(), "AU-02-BL")
			if err != nil {
				t.Fatal(err)
			}
			if it.ProductName != "SmartFarm Titan II" || it.Price != 4000 || it.Name != "Cosmic Sapphire" ||
				it.Image != "/static/decide/img/tractor-2a52be-small.ad2d9c185a.svg" || it.ProductID != "AU-02" {
				t.Fatalf("after %d events: %+v", len(order), it)
			}
		})
	}
}

func TestTolerantReader(t *testing.T) {
	t.Parallel()
	pool := checkouttest.DB(t)
	s := postgres.NewStore(pool)
	h := events.NewHandlers(s, s, s)
	// Unknown fields are ignored.
	e := event(t, "decide", events.ProductCreated, "X-1", map[string]any{"id": "X-1", "name": "X", "future": true,
		"variants": []map[string]any{{"sku": "X-1-A", "price": 10, "colour": "ignored"}}, "version": 1})
	if err := handle(t, pool, h.Product, e); err != nil {
		t.Fatal(err)
	}
	if it, err := s.Item(context.Background(), "X-1-A"); err != nil || it.Price != 10 {
		t.Fatalf("X-1-A = %+v, %v", it, err)
	}
	// Payloads checkout cannot use are parked at once.
	bad := []kitevents.Event{
		event(t, "decide", events.ProductCreated, "X", map[string]any{"name": "no id"}),
		event(t, "decide", events.ProductCreated, "X", map[string]any{"id": "X", "name": "X", "variants": []map[string]any{{"sku": "X-B"}}}),
		event(t, "decide", events.PriceChanged, "X", map[string]any{"sku": "X-1-A"}),
		event(t, "inventory", events.StockChanged, "X", map[string]any{"sku": "X-1-A"}),
		event(t, "inventory", events.StockReserved, "X", map[string]any{"lines": []any{}}),
		event(t, "payments", events.PaymentDeclined, "X", "not an object"),
	}
	hs := map[string]kitevents.Handler{events.ProductCreated: h.Product, events.PriceChanged: h.Price,
		events.StockChanged: h.Stock, events.StockReserved: h.Reserved, events.PaymentDeclined: h.Declined}
	for _, e := range bad {
		if err := handle(t, pool, hs[e.Type], e); !kitevents.IsPermanent(err) {
			t.Errorf("%s %s: err = %v, want permanent", e.Type, e.Data, err)
		}
	}
	// Stock.
	if err := handle(t, pool, h.Stock, event(t, "inventory", events.StockChanged, "X-1-A",
		map[string]any{"sku": "X-1-A", "quantity": 4, "reserved": 2})); err != nil {
		t.Fatal(err)
	}
	if it, _ := s.Item(context.Background(), "X-1-A"); it.Stock != 4 {
		t.Fatalf("stock = %d", it.Stock)
	}
}

func place(t *testing.T, s *postgres.Store, key string) string {
	t.Helper()
	id, _, err := s.PlaceOrder(context.Background(), checkout.Placement{CartID: "c", Lines: []checkout.CartLine{{SKU: checkouttest.SKUGrey, Quantity: 1}},
		Form: checkout.CheckoutForm{FirstName: "A", LastName: "B", Email: "a@b.example", Card: "4000000000000002", StoreID: "store-a", IdempotencyKey: key}})
	if err != nil {
		t.Fatal(err)
	}
	return id
}

func status(t *testing.T, s *postgres.Store, id string) (checkout.Status, string) {
	t.Helper()
	_, st, reason, err := s.OrderStatus(context.Background(), id)
	if err != nil {
		t.Fatal(err)
	}
	return st, reason
}

func TestSagaEventsIdempotent(t *testing.T) {
	t.Parallel()
	s, pool := checkouttest.Store(t)
	h := events.NewHandlers(s, s, s)
	confirmed, declined, refunded := place(t, s, "k1"), place(t, s, "k2"), place(t, s, "k3")
	reserved := event(t, "inventory", events.StockReserved, confirmed, map[string]any{"order_id": confirmed,
		"lines": []map[string]any{{"sku": checkouttest.SKUGrey, "quantity": 1}}})
	decline := event(t, "payments", events.PaymentDeclined, declined, map[string]any{"order_id": declined, "reason": "card_declined"})
	refund := event(t, "payments", events.PaymentRefunded, refunded, map[string]any{"order_id": refunded,
		"payment_id": "p1", "amount": 5700, "reason": "out of stock"})
	for range 2 { // each event twice: the second is a no-op
		for _, step := range []struct {
			h kitevents.Handler
			e kitevents.Event
		}{{h.Reserved, reserved}, {h.Declined, decline}, {h.Refunded, refund}} {
			if err := handle(t, pool, step.h, step.e); err != nil {
				t.Fatalf("%s: %v", step.e.Type, err)
			}
		}
	}
	if st, _ := status(t, s, confirmed); st != checkout.Confirmed {
		t.Errorf("confirmed order: %s", st)
	}
	if st, reason := status(t, s, declined); st != checkout.Cancelled || reason != "card declined" {
		t.Errorf("declined order: %s %q", st, reason)
	}
	if st, reason := status(t, s, refunded); st != checkout.Cancelled || reason != "out of stock" {
		t.Errorf("refunded order: %s %q", st, reason)
	}
	// 3 placed + 1 confirmed + 2 cancelled: the repeats published nothing.
	if evs := checkouttest.Outbox(t, pool); len(evs) != 6 {
		t.Errorf("%d events in the outbox, want 6", len(evs))
	}
	// Illegal transitions and unknown orders are parked, not applied.
	late := event(t, "payments", events.PaymentDeclined, confirmed, map[string]any{"order_id": confirmed, "reason": "late"})
	if err := handle(t, pool, h.Declined, late); !kitevents.IsPermanent(err) || !errors.Is(err, checkout.ErrIllegalTransition) {
		t.Errorf("decline of a confirmed order: %v", err)
	}
	ghost := event(t, "inventory", events.StockReserved, "x", map[string]any{"order_id": "0190aaaa-0000-7000-8000-000000000000"})
	if err := handle(t, pool, h.Reserved, ghost); !kitevents.IsPermanent(err) {
		t.Errorf("unknown order: %v", err)
	}
	if st, _ := status(t, s, confirmed); st != checkout.Confirmed {
		t.Errorf("confirmed order after a late decline: %s", st)
	}
}

// TestDeclineThroughRabbitMQ runs the saga's decline path through a real exchange: payments'
// decline (published twice, as a relay that died before marking its row sent would) reaches
// checkout's consumer, which cancels the order once and writes one order.cancelled.
func TestDeclineThroughRabbitMQ(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	platform := maintest.New(t)
	s, pool := checkouttest.Store(t)
	type settled struct{ id, outcome string }
	outcomes := make(chan settled, 16)
	consumer := kitevents.NewConsumer(kitevents.ConsumerOptions{Name: events.ConsumerName, Pool: pool,
		AMQPURL: kittest.AMQPURL(), Exchange: platform.Exchange, Log: maintest.Log("checkout"),
		OnSettled: func(e kitevents.Event, outcome string) { outcomes <- settled{e.ID, outcome} }})
	events.NewHandlers(s, s, s).Register(consumer)
	platform.Consume(ctx, consumer)

	id := place(t, s, "k1")
	decline := event(t, "payments", events.PaymentDeclined, id, map[string]any{"order_id": id, "reason": "card declined"})
	for i, want := range []string{"applied", "duplicate"} {
		// Each delivery from an outbox of its own: the same event id twice, as a relay that died
		// before marking its row sent publishes it again.
		platform.Publisher(ctx, "payments").Publish(decline)
		select {
		case got := <-outcomes:
			if got != (settled{decline.ID, want}) {
				t.Fatalf("delivery %d settled %+v, want %s", i, got, want)
			}
		case <-ctx.Done():
			t.Fatalf("delivery %d: %v", i, ctx.Err())
		}
	}
	if st, reason := status(t, s, id); st != checkout.Cancelled || reason != "card declined" {
		t.Fatalf("order %s %q", st, reason)
	}
	evs := checkouttest.Outbox(t, pool)
	if len(evs) != 2 || evs[1].Type != events.OrderCancelledType {
		t.Fatalf("outbox: %d events", len(evs))
	}
	var c events.CancelledData
	if err := json.Unmarshal(evs[1].Data, &c); err != nil || c.Reason != "card declined" || c.OrderID != id {
		t.Fatalf("order.cancelled = %+v, %v", c, err)
	}
}

// TestExploreStoreExample: explore's example store.changed (read as a file, never imported) fills
// checkout's copy of the stores, once; an older version changes nothing, and a store without an id
// or name is parked.
func TestExploreStoreExample(t *testing.T) {
	t.Parallel()
	e := eventstest.Read(t, filepath.Join("..", "..", "explore", "events", "testdata", "store_changed.json"))
	if e.Type != events.StoreChanged {
		t.Fatalf("explore's example has type %s, checkout routes %s", e.Type, events.StoreChanged)
	}
	pool := checkouttest.DB(t)
	s := postgres.NewStore(pool)
	h := events.NewHandlers(s, s, s)
	renamed := withData(t, e, func(m map[string]any) { m["version"], m["name"] = 2, "Aurora Megastore" })
	stale := withData(t, e, func(m map[string]any) { m["name"] = "Stale" })
	for _, ev := range []kitevents.Event{e, e, renamed, stale} {
		if err := handle(t, pool, h.Store, ev); err != nil {
			t.Fatal(err)
		}
	}
	var name string
	var version int64
	if err := pool.QueryRow(context.Background(), `SELECT name, version FROM stores WHERE id = 'store-a'`).Scan(&name, &version); err != nil ||
		name != "Aurora Megastore" || version != 2 {
		t.Fatalf("store-a = %q v%d, %v", name, version, err)
	}
	for _, bad := range []func(m map[string]any){
		func(m map[string]any) { delete(m, "id") },
		func(m map[string]any) { m["name"] = " " },
		func(m map[string]any) { m["id"] = "no such store!" },
		func(m map[string]any) { delete(m, "version") },
	} {
		if err := handle(t, pool, h.Store, withData(t, e, bad)); !kitevents.IsPermanent(err) {
			t.Errorf("bad store event: %v, want permanent", err)
		}
	}
}

// withData returns e with its data changed by change.
func withData(t *testing.T, e kitevents.Event, change func(m map[string]any)) kitevents.Event {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(e.Data, &m); err != nil {
		t.Fatal(err)
	}
	change(m)
	out, err := kitevents.New(e.Source, e.Type, e.Subject, m)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// TestSKUs: the variants whose Add To Cart an event changes, from the publishers' own examples.
func TestSKUs(t *testing.T) {
	t.Parallel()
	stock := eventstest.Read(t, filepath.Join("..", "..", "inventory", "events", "testdata", "stock_changed.json"))
	for _, tt := range []struct {
		e    kitevents.Event
		want []string
	}{
		{decideEvent(t, "product_created.json"), []string{"AU-02-OG", "AU-02-BL"}},
		{decideEvent(t, "product_updated.json"), []string{"AU-02-OG", "AU-02-BL"}},
		{decideEvent(t, "price_changed.json"), []string{"AU-02-BL"}},
		{stock, []string{"AU-02-OG"}},
		{event(t, "payments", events.PaymentDeclined, "o-1", map[string]string{"order_id": "o-1"}), nil},
		{kitevents.Event{Type: events.StockChanged, Data: []byte(`not json`)}, nil},
	} {
		if got := events.SKUs(tt.e); !slices.Equal(got, tt.want) {
			t.Errorf("%s: %v, want %v", tt.e.Type, got, tt.want)
		}
	}
}

// TestPlacedTakesTheLinesOutOfTheCart: the order's own order.placed takes its lines out of the cart
// when the request that placed it could not (Redis failed after the commit), once: a redelivery, or
// the request's own take after it, leaves what was added since; an event for an order checkout does
// not have is parked.
func TestPlacedTakesTheLinesOutOfTheCart(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s, pool := checkouttest.Store(t)
	carts := checkouttest.Carts(t)
	h := events.NewCartHandlers(s, carts)
	for _, l := range []checkout.CartLine{{SKU: checkouttest.SKUGrey, Quantity: 2}, {SKU: checkouttest.SKURed, Quantity: 1}} {
		if _, err := carts.Add(ctx, "cart-1", l.SKU, l.Quantity, 10); err != nil {
			t.Fatal(err)
		}
	}
	lines, err := carts.Lines(ctx, "cart-1")
	if err != nil {
		t.Fatal(err)
	}
	// The order of one grey (the request's read of the cart), placed; its take of the lines never ran.
	id, _, err := s.PlaceOrder(ctx, checkout.Placement{CartID: "cart-1", Lines: []checkout.CartLine{{SKU: checkouttest.SKUGrey, Quantity: 2}},
		Form: checkout.CheckoutForm{FirstName: "A", LastName: "B", Email: "a@b.example", Card: "4242424242424242", StoreID: "store-a", IdempotencyKey: "k1"}})
	if err != nil {
		t.Fatal(err)
	}
	if len(lines) != 2 {
		t.Fatalf("cart before: %+v", lines)
	}
	var placed kitevents.Event
	for _, e := range checkouttest.Outbox(t, pool) {
		if e.Type == events.OrderPlacedType && e.Subject == id {
			placed = e
		}
	}
	if placed.ID == "" {
		t.Fatal("no order.placed in the outbox")
	}
	if err := handle(t, pool, h.Placed, placed); err != nil {
		t.Fatal(err)
	}
	want := []checkout.CartLine{{SKU: checkouttest.SKURed, Quantity: 1}}
	if got, err := carts.Lines(ctx, "cart-1"); err != nil || !slices.Equal(got, want) {
		t.Fatalf("after order.placed: %+v (%v), want %+v", got, err, want)
	}
	// Grey added again since: neither a redelivery nor the request's own take (a retry of its key)
	// takes it out again.
	if _, err := carts.Add(ctx, "cart-1", checkouttest.SKUGrey, 1, 10); err != nil {
		t.Fatal(err)
	}
	if err := handle(t, pool, h.Placed, placed); err != nil {
		t.Fatal(err)
	}
	if err := carts.ClearOrdered(ctx, "cart-1", id, "k1", []checkout.CartLine{{SKU: checkouttest.SKUGrey, Quantity: 2}}); err != nil {
		t.Fatal(err)
	}
	if got, _ := carts.Lines(ctx, "cart-1"); len(got) != 2 {
		t.Fatalf("a second take changed the cart: %+v", got)
	}
	// An order checkout does not have: parked, not retried.
	other := withData(t, placed, func(m map[string]any) { m["order_id"] = "01900000-0000-7000-8000-000000000000" })
	if err := handle(t, pool, h.Placed, other); !kitevents.IsPermanent(err) || !errors.Is(err, checkout.ErrUnknownOrder) {
		t.Fatalf("unknown order: %v, want a permanent error", err)
	}
}

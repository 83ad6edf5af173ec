package events_test

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/inlay-dev/inlay/services/inventory"
	inventoryevents "github.com/inlay-dev/inlay/services/inventory/events"
	"github.com/inlay-dev/inlay/services/inventory/postgres"
	"github.com/inlay-dev/inlay/services/kit/events"
	"github.com/inlay-dev/inlay/services/kit/events/eventstest"
	"github.com/inlay-dev/inlay/services/kit/kittest"
)

var update = flag.Bool("update", false, "rewrite testdata/*.json from the current payloads")

const exampleOrder = "0193a2c4-5b6d-7e8f-9a0b-1c2d3e4f5a6b"

// TestExamples keeps testdata/*.json — the examples other contexts' tests decode — equal to what
// inventory publishes (apart from id and time). Run with -update after a deliberate change.
func TestExamples(t *testing.T) {
	t.Parallel()
	for name, fn := range map[string]func() (events.Event, error){
		"stock_changed.json": func() (events.Event, error) {
			return inventoryevents.StockChangedEvent(inventory.Stock{SKU: "AU-02-OG", Quantity: 2, Version: 3})
		},
		"stock_reserved.json": func() (events.Event, error) {
			return inventoryevents.ReservedEvent(exampleOrder, []inventory.Line{{SKU: "AU-02-OG", Quantity: 2}, {SKU: "CL-01-GY", Quantity: 1}})
		},
		"stock_rejected.json": func() (events.Event, error) {
			return inventoryevents.RejectedEvent(exampleOrder, inventory.ReasonOutOfStock, []string{"AU-02-OG"})
		},
	} {
		t.Run(name, func(t *testing.T) {
			e, err := fn()
			if err != nil {
				t.Fatal(err)
			}
			eventstest.Example(t, filepath.Join("testdata", name), e, *update)
		})
	}
}

// mustDB returns inventory's database, migrated with the event tables, its store, and stock set to
// stock without any event in the outbox.
func mustDB(t testing.TB, stock map[string]int) (*pgxpool.Pool, *postgres.Store) {
	t.Helper()
	ctx := context.Background()
	pool := kittest.Postgres(t, postgres.Migrations())
	if err := events.Migrate(ctx, pool); err != nil {
		t.Fatal(err)
	}
	for sku, q := range stock {
		if _, err := pool.Exec(ctx, `INSERT INTO stock (sku, quantity) VALUES ($1, $2)`, sku, q); err != nil {
			t.Fatal(err)
		}
	}
	return pool, postgres.NewStore(pool)
}

func handle(pool *pgxpool.Pool, h events.Handler, e events.Event) error {
	return pgx.BeginFunc(context.Background(), pool, func(tx pgx.Tx) error { return h(context.Background(), tx, e) })
}

func mustHandle(t testing.TB, pool *pgxpool.Pool, h events.Handler, e events.Event) {
	t.Helper()
	if err := handle(pool, h, e); err != nil {
		t.Fatalf("handle %s: %v", e.Type, err)
	}
}

// authorized is payments' payment.authorized of an order with lines (sku, quantity pairs), shaped
// like payments' example (services/payments/events/testdata/payment_authorized.json).
func authorized(t testing.TB, orderID string, lines ...any) events.Event {
	t.Helper()
	ls := []map[string]any{}
	for i := 0; i < len(lines); i += 2 {
		ls = append(ls, map[string]any{"sku": lines[i], "quantity": lines[i+1], "unit_price": 100, "name": "x"})
	}
	e, err := events.New("payments", inventoryevents.PaymentAuthorizedType, orderID, map[string]any{
		"order_id": orderID, "payment_id": "0193a2c4-6000-7000-8000-000000000001", "amount": 100, "lines": ls})
	if err != nil {
		t.Fatal(err)
	}
	return e
}

// cancelled is checkout's example order.cancelled (services/checkout/events/testdata, read as a
// file, never imported) for orderID.
func cancelled(t testing.TB, orderID string) events.Event {
	t.Helper()
	ex := eventstest.Read(t, filepath.Join("..", "..", "checkout", "events", "testdata", "order_cancelled.json"))
	var data map[string]any
	if err := json.Unmarshal(ex.Data, &data); err != nil {
		t.Fatal(err)
	}
	data["order_id"] = orderID
	e, err := events.New(ex.Source, ex.Type, orderID, data)
	if err != nil {
		t.Fatal(err)
	}
	return e
}

// TestCheckoutExamples: the events inventory handles from checkout are the ones checkout publishes.
func TestCheckoutExamples(t *testing.T) {
	t.Parallel()
	if e := eventstest.Read(t, filepath.Join("..", "..", "checkout", "events", "testdata", "order_cancelled.json")); e.Type != inventoryevents.OrderCancelledType {
		t.Errorf("checkout's order_cancelled.json has type %s, inventory routes %s", e.Type, inventoryevents.OrderCancelledType)
	}
}

// outbox returns the events in the outbox, in the order they were written.
func outbox(t testing.TB, pool *pgxpool.Pool) []events.Event {
	t.Helper()
	rows, err := pool.Query(context.Background(), `SELECT body FROM inlay_outbox ORDER BY seq`)
	if err != nil {
		t.Fatal(err)
	}
	bodies, err := pgx.CollectRows(rows, pgx.RowTo[[]byte])
	if err != nil {
		t.Fatal(err)
	}
	out := make([]events.Event, 0, len(bodies))
	for _, b := range bodies {
		e, err := events.Decode(b)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, e)
	}
	return out
}

// summary describes events compactly: "reserved o1", "rejected o1 [A]", "changed A=2@v2".
func summary(t testing.TB, es []events.Event) []string {
	t.Helper()
	var out []string
	for _, e := range es {
		switch e.Type {
		case inventoryevents.StockChangedType:
			var c inventoryevents.StockChanged
			if err := json.Unmarshal(e.Data, &c); err != nil {
				t.Fatal(err)
			}
			out = append(out, fmt.Sprintf("changed %s=%d@v%d", c.SKU, c.Quantity, c.Version))
		case inventoryevents.StockReservedType:
			var r inventoryevents.Reserved
			if err := json.Unmarshal(e.Data, &r); err != nil {
				t.Fatal(err)
			}
			out = append(out, fmt.Sprintf("reserved %s %v", r.OrderID, r.Lines))
		case inventoryevents.StockRejectedType:
			var r inventoryevents.Rejected
			if err := json.Unmarshal(e.Data, &r); err != nil {
				t.Fatal(err)
			}
			out = append(out, fmt.Sprintf("rejected %s %s %v", r.OrderID, r.Reason, r.SKUs))
		default:
			out = append(out, e.Type)
		}
	}
	return out
}

func stockOf(t testing.TB, store *postgres.Store, sku string) int {
	t.Helper()
	st, err := store.Stock(context.Background(), sku)
	if err != nil {
		t.Fatal(err)
	}
	return st.Quantity
}

func TestReserveAllOrNothing(t *testing.T) {
	t.Parallel()
	pool, store := mustDB(t, map[string]int{"A": 3, "B": 1})
	h := inventoryevents.NewHandlers(store)
	// o1 takes 2 A (as two lines of 1) and the last B; o2 wants 2 A, only 1 left, so it gets nothing.
	mustHandle(t, pool, h.PaymentAuthorized, authorized(t, "o1", "B", 1, "A", 1, "A", 1))
	mustHandle(t, pool, h.PaymentAuthorized, authorized(t, "o2", "A", 2, "B", 0+1))
	mustHandle(t, pool, h.PaymentAuthorized, authorized(t, "o3", "A", 1, "Z", 1))
	got := summary(t, outbox(t, pool))
	want := []string{
		"reserved o1 [{A 2} {B 1}]", "changed A=1@v2", "changed B=0@v2",
		"rejected o2 out of stock [A B]",
		"rejected o3 out of stock [Z]",
	}
	slices.Sort(got[1:3])
	if !slices.Equal(got, want) {
		t.Errorf("published\n %q\nwant\n %q", got, want)
	}
	if a, b := stockOf(t, store, "A"), stockOf(t, store, "B"); a != 1 || b != 0 {
		t.Errorf("stock A=%d B=%d, want 1 and 0", a, b)
	}
	for order, want := range map[string]string{"o1": "reserved", "o2": "rejected", "o3": "rejected"} {
		if status, _, err := store.Reservation(context.Background(), order); err != nil || status != want {
			t.Errorf("%s: %q %v, want %s", order, status, err, want)
		}
	}
}

// TestReserveOnce hands the same payment to inventory again (the same event, a new event for the
// same order, concurrently): one reservation, one set of events.
func TestReserveOnce(t *testing.T) {
	t.Parallel()
	pool, store := mustDB(t, map[string]int{"A": 10})
	h := inventoryevents.NewHandlers(store)
	first := authorized(t, "o1", "A", 2)
	mustHandle(t, pool, h.PaymentAuthorized, first)
	mustHandle(t, pool, h.PaymentAuthorized, first)
	var wg sync.WaitGroup
	for range 10 {
		wg.Go(func() {
			if err := handle(pool, h.PaymentAuthorized, authorized(t, "o1", "A", 2)); err != nil {
				t.Error(err)
			}
		})
	}
	wg.Wait()
	if got := summary(t, outbox(t, pool)); !slices.Equal(got, []string{"reserved o1 [{A 2}]", "changed A=8@v2"}) {
		t.Errorf("published %q", got)
	}
	if a := stockOf(t, store, "A"); a != 8 {
		t.Errorf("stock A=%d, want 8", a)
	}
}

// TestConcurrentOrders runs 50 payments for the same sku with 8 in stock at once: exactly 8 are
// reserved, 42 rejected, the stock ends at 0 and never went below (the CHECK would have failed a
// transaction).
func TestConcurrentOrders(t *testing.T) {
	t.Parallel()
	pool, store := mustDB(t, map[string]int{"AU-01-SI": 8, "OTHER": 100})
	h := inventoryevents.NewHandlers(store)
	var wg sync.WaitGroup
	for i := range 50 {
		wg.Go(func() {
			// Half of the orders also take another sku, listed first, to mix lock orders.
			e := authorized(t, fmt.Sprintf("o%02d", i), "AU-01-SI", 1)
			if i%2 == 0 {
				e = authorized(t, fmt.Sprintf("o%02d", i), "OTHER", 1, "AU-01-SI", 1)
			}
			if err := handle(pool, h.PaymentAuthorized, e); err != nil {
				t.Error(err)
			}
		})
	}
	wg.Wait()
	var reserved, rejected, changed int
	for _, e := range outbox(t, pool) {
		switch e.Type {
		case inventoryevents.StockReservedType:
			reserved++
		case inventoryevents.StockRejectedType:
			rejected++
		case inventoryevents.StockChangedType:
			changed++
		}
	}
	if reserved != 8 || rejected != 42 {
		t.Errorf("%d reserved, %d rejected; want 8 and 42", reserved, rejected)
	}
	var held int
	if err := pool.QueryRow(context.Background(),
		`SELECT coalesce(sum(quantity), 0) FROM reservation_lines WHERE sku = 'AU-01-SI'`).Scan(&held); err != nil || held != 8 {
		t.Errorf("%d units held in reservations (%v), want 8", held, err)
	}
	if q := stockOf(t, store, "AU-01-SI"); q != 0 {
		t.Errorf("stock %d, want 0", q)
	}
	other := stockOf(t, store, "OTHER")
	if changed != 8+(100-other) {
		t.Errorf("%d stock.changed for 8 reservations and %d of OTHER", changed, 100-other)
	}
	// Every stock.changed of the sku has a distinct version and none is negative.
	versions := map[int64]bool{}
	for _, e := range outbox(t, pool) {
		var c inventoryevents.StockChanged
		if e.Type != inventoryevents.StockChangedType || json.Unmarshal(e.Data, &c) != nil || c.SKU != "AU-01-SI" {
			continue
		}
		if c.Quantity < 0 || versions[c.Version] {
			t.Errorf("stock.changed %+v", c)
		}
		versions[c.Version] = true
	}
}

func TestStockNeverNegative(t *testing.T) {
	t.Parallel()
	pool, _ := mustDB(t, map[string]int{"A": 1})
	if _, err := pool.Exec(context.Background(), `UPDATE stock SET quantity = quantity - 2 WHERE sku = 'A'`); err == nil {
		t.Error("the database let the stock go below zero")
	}
}

func TestReleaseOnce(t *testing.T) {
	t.Parallel()
	pool, store := mustDB(t, map[string]int{"A": 3, "B": 2})
	h := inventoryevents.NewHandlers(store)
	mustHandle(t, pool, h.PaymentAuthorized, authorized(t, "o1", "A", 2, "B", 1))
	mustHandle(t, pool, h.PaymentAuthorized, authorized(t, "o2", "A", 5)) // rejected
	c := cancelled(t, "o1")
	for _, e := range []events.Event{c, c, cancelled(t, "o1"), cancelled(t, "o2")} {
		mustHandle(t, pool, h.OrderCancelled, e)
	}
	got := summary(t, outbox(t, pool))
	slices.Sort(got[1:3])
	slices.Sort(got[4:6])
	want := []string{"reserved o1 [{A 2} {B 1}]", "changed A=1@v2", "changed B=1@v2",
		"rejected o2 out of stock [A]", "changed A=3@v3", "changed B=2@v3"}
	if !slices.Equal(got, want) {
		t.Errorf("published\n %q\nwant\n %q", got, want)
	}
	if a, b := stockOf(t, store, "A"), stockOf(t, store, "B"); a != 3 || b != 2 {
		t.Errorf("stock A=%d B=%d after release, want 3 and 2", a, b)
	}
	if status, lines, _ := store.Reservation(context.Background(), "o1"); status != "released" || len(lines) != 2 {
		t.Errorf("o1 %s %v", status, lines)
	}
	// A payment arriving again after the release reserves nothing.
	mustHandle(t, pool, h.PaymentAuthorized, authorized(t, "o1", "A", 2, "B", 1))
	if a := stockOf(t, store, "A"); a != 3 {
		t.Errorf("stock A=%d after a late duplicate payment, want 3", a)
	}
}

// TestCancelledBeforePayment: an order cancelled before its payment reached inventory is not
// reserved when the payment comes; it is rejected so that payments refunds it.
func TestCancelledBeforePayment(t *testing.T) {
	t.Parallel()
	pool, store := mustDB(t, map[string]int{"A": 3})
	h := inventoryevents.NewHandlers(store)
	mustHandle(t, pool, h.OrderCancelled, cancelled(t, "o1"))
	mustHandle(t, pool, h.PaymentAuthorized, authorized(t, "o1", "A", 1))
	mustHandle(t, pool, h.PaymentAuthorized, authorized(t, "o1", "A", 1))
	if got := summary(t, outbox(t, pool)); !slices.Equal(got, []string{"rejected o1 order cancelled []"}) {
		t.Errorf("published %q", got)
	}
	if a := stockOf(t, store, "A"); a != 3 {
		t.Errorf("stock A=%d, want 3", a)
	}
}

func TestProductEvents(t *testing.T) {
	t.Parallel()
	pool, store := mustDB(t, map[string]int{"AU-02-OG": 4})
	h := inventoryevents.NewHandlers(store)
	// decide's example: AU-02 with AU-02-OG (held) and AU-02-BL (new).
	raw, err := os.ReadFile("../../decide/events/testdata/product_created.json")
	if err != nil {
		t.Fatal(err)
	}
	created, err := events.Decode(raw)
	if err != nil {
		t.Fatal(err)
	}
	mustHandle(t, pool, h.Product, created)
	mustHandle(t, pool, h.Product, created)
	if got := summary(t, outbox(t, pool)); !slices.Equal(got, []string{"changed AU-02-BL=0@v1"}) {
		t.Errorf("published %q", got)
	}
	if og, bl := stockOf(t, store, "AU-02-OG"), stockOf(t, store, "AU-02-BL"); og != 4 || bl != 0 {
		t.Errorf("stock OG=%d BL=%d, want 4 and 0", og, bl)
	}
}

func TestBadEventsArePermanent(t *testing.T) {
	t.Parallel()
	pool, store := mustDB(t, map[string]int{"A": 3})
	h := inventoryevents.NewHandlers(store)
	ev := func(typ, data string) events.Event {
		return events.Event{ID: "01a207b9-9386-7ac3-83d4-f89df26f476e", Type: typ, Data: json.RawMessage(data)}
	}
	for _, tc := range []struct {
		name string
		h    events.Handler
		e    events.Event
	}{
		{"not json", h.PaymentAuthorized, ev(inventoryevents.PaymentAuthorizedType, `{`)},
		{"no order", h.PaymentAuthorized, ev(inventoryevents.PaymentAuthorizedType, `{"lines":[{"sku":"A","quantity":1}]}`)},
		{"no lines", h.PaymentAuthorized, ev(inventoryevents.PaymentAuthorizedType, `{"order_id":"o","lines":[]}`)},
		{"zero quantity", h.PaymentAuthorized, ev(inventoryevents.PaymentAuthorizedType, `{"order_id":"o","lines":[{"sku":"A","quantity":0}]}`)},
		{"cancelled not json", h.OrderCancelled, ev(inventoryevents.OrderCancelledType, `1`)},
		{"cancelled without order", h.OrderCancelled, ev(inventoryevents.OrderCancelledType, `{"reason":"x"}`)},
		{"product not json", h.Product, ev(inventoryevents.ProductCreatedType, `[`)},
		{"variant without sku", h.Product, ev(inventoryevents.ProductCreatedType, `{"id":"X","variants":[{"name":"x"}]}`)},
	} {
		if err := handle(pool, tc.h, tc.e); !events.IsPermanent(err) {
			t.Errorf("%s: %v, want a permanent error (parked, not retried)", tc.name, err)
		}
	}
	if got := outbox(t, pool); len(got) != 0 {
		t.Errorf("bad events published %q", summary(t, got))
	}
}

// BenchmarkReserve measures reservations of a two-line order, each in its own transaction with its
// events, from parallel goroutines contending for the same two skus.
func BenchmarkReserve(b *testing.B) {
	pool, store := mustDB(b, map[string]int{"A": inventory.MaxQuantity, "B": inventory.MaxQuantity})
	h := inventoryevents.NewHandlers(store)
	var n atomic.Int64
	b.ReportAllocs()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			e := authorized(b, fmt.Sprintf("o%d", n.Add(1)), "A", 1, "B", 1)
			if err := handle(pool, h.PaymentAuthorized, e); err != nil {
				b.Error(err)
			}
		}
	})
}

package events_test

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/inlay-dev/inlay/services/kit/events"
	"github.com/inlay-dev/inlay/services/kit/events/eventstest"
	"github.com/inlay-dev/inlay/services/kit/kittest"
	"github.com/inlay-dev/inlay/services/payments"
	paymentsevents "github.com/inlay-dev/inlay/services/payments/events"
	"github.com/inlay-dev/inlay/services/payments/postgres"
)

var update = flag.Bool("update", false, "rewrite testdata/*.json from the current payloads")

var exampleLines = []payments.Line{
	{SKU: "AU-02-OG", Name: "SmartFarm Titan Sunset Copper", Quantity: 2, UnitPrice: 4100},
	{SKU: "CL-01-GY", Name: "Heritage Workhorse Verdant Field", Quantity: 1, UnitPrice: 5700},
}

const exampleOrder = "0193a2c4-5b6d-7e8f-9a0b-1c2d3e4f5a6b"

// TestExamples keeps testdata/*.json — the examples other contexts' tests decode — equal to what
// payments publishes (apart from id and time). Run with -update after a deliberate change.
func TestExamples(t *testing.T) {
	t.Parallel()
	p := payments.Payment{ID: "0193a2c4-6000-7000-8000-000000000001", OrderID: exampleOrder, Amount: 13900,
		Status: payments.StatusAuthorized, CardLast4: "4242"}
	declined := p
	declined.Status, declined.Reason, declined.CardLast4 = payments.StatusDeclined, payments.ReasonInsufficientFunds, "9995"
	refunded := p
	refunded.Status, refunded.Reason = payments.StatusRefunded, "out of stock"
	for name, fn := range map[string]func() (events.Event, error){
		"payment_authorized.json": func() (events.Event, error) { return paymentsevents.AuthorizedEvent(p, exampleLines) },
		"payment_declined.json":   func() (events.Event, error) { return paymentsevents.DeclinedEvent(declined) },
		"payment_refunded.json":   func() (events.Event, error) { return paymentsevents.RefundedEvent(refunded) },
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

// orderPlaced is checkout's example order.placed (services/checkout/events/testdata, read as a
// file, never imported) for orderID, paid with card, for total; with a field payments does not know,
// which its tolerant reader ignores.
func orderPlaced(t testing.TB, orderID, card string, total int64) events.Event {
	t.Helper()
	ex := eventstest.Read(t, checkoutExample)
	var data map[string]any
	if err := json.Unmarshal(ex.Data, &data); err != nil {
		t.Fatal(err)
	}
	data["order_id"], data["total"], data["card"] = orderID, total, map[string]any{"number": card}
	data["future_field"] = true
	e, err := events.New(ex.Source, ex.Type, orderID, data)
	if err != nil {
		t.Fatal(err)
	}
	return e
}

const checkoutExample = "../../checkout/events/testdata/order_placed.json"

// TestCheckoutExample: checkout's example order.placed is what payments routes, and payments
// authorizes it for its total with its lines.
func TestCheckoutExample(t *testing.T) {
	t.Parallel()
	e := eventstest.Read(t, checkoutExample)
	if e.Type != paymentsevents.OrderPlacedType {
		t.Fatalf("checkout's example has type %s, payments routes %s", e.Type, paymentsevents.OrderPlacedType)
	}
	pool, store := mustDB(t)
	if err := handle(pool, paymentsevents.NewHandlers(store, postgres.NewID).OrderPlaced, e); err != nil {
		t.Fatal(err)
	}
	var want struct {
		OrderID string `json:"order_id"`
		Total   int64  `json:"total"`
	}
	if err := json.Unmarshal(e.Data, &want); err != nil {
		t.Fatal(err)
	}
	p, err := store.Payment(context.Background(), want.OrderID)
	if err != nil || p.Status != payments.StatusAuthorized || p.Amount != want.Total || p.CardLast4 != "4242" {
		t.Fatalf("payment %+v, %v", p, err)
	}
}

func stockRejected(t testing.TB, orderID string) events.Event {
	t.Helper()
	e, err := events.New("inventory", paymentsevents.StockRejectedType, orderID, map[string]any{
		"order_id": orderID, "reason": "out of stock", "skus": []string{"AU-02-OG"}})
	if err != nil {
		t.Fatal(err)
	}
	return e
}

// mustDB returns payments' database, migrated with the event tables, and its store.
func mustDB(t testing.TB) (*pgxpool.Pool, *postgres.Store) {
	t.Helper()
	pool := kittest.Postgres(t, postgres.Migrations())
	if err := events.Migrate(context.Background(), pool); err != nil {
		t.Fatal(err)
	}
	return pool, postgres.NewStore(pool)
}

func handle(pool *pgxpool.Pool, h events.Handler, e events.Event) error {
	return pgx.BeginFunc(context.Background(), pool, func(tx pgx.Tx) error { return h(context.Background(), tx, e) })
}

// published returns the outbox's events of order in the order they were written.
func published(t testing.TB, pool *pgxpool.Pool, orderID string) []events.Event {
	t.Helper()
	rows, err := pool.Query(context.Background(), `SELECT body FROM inlay_outbox WHERE subject = $1 ORDER BY seq`, orderID)
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

func types(es []events.Event) []string {
	out := make([]string, len(es))
	for i, e := range es {
		out[i] = e.Type
	}
	return out
}

func TestOrderPlaced(t *testing.T) {
	t.Parallel()
	pool, store := mustDB(t)
	h := paymentsevents.NewHandlers(store, postgres.NewID)
	for i, tc := range []struct {
		card   string
		status payments.Status
		reason string
		typ    string
	}{
		{"4242 4242 4242 4242", payments.StatusAuthorized, "", paymentsevents.AuthorizedType},
		{"4000 0000 0000 0002", payments.StatusDeclined, "card declined", paymentsevents.DeclinedType},
		{"4000000000009995", payments.StatusDeclined, "insufficient funds", paymentsevents.DeclinedType},
		{"5555555555554444", payments.StatusDeclined, "unknown test card", paymentsevents.DeclinedType},
		{"1234", payments.StatusDeclined, "invalid card number", paymentsevents.DeclinedType},
	} {
		t.Run(tc.card, func(t *testing.T) {
			order := fmt.Sprintf("order-%d", i)
			if err := handle(pool, h.OrderPlaced, orderPlaced(t, order, tc.card, 13900)); err != nil {
				t.Fatal(err)
			}
			p, err := store.Payment(context.Background(), order)
			if err != nil {
				t.Fatal(err)
			}
			if p.Status != tc.status || p.Reason != tc.reason || p.Amount != 13900 || p.ID == "" {
				t.Errorf("payment %+v, want %s %q", p, tc.status, tc.reason)
			}
			if want := payments.Last4(tc.card); p.CardLast4 != want {
				t.Errorf("card_last4 %q, want %q", p.CardLast4, want)
			}
			es := published(t, pool, order)
			if len(es) != 1 || es[0].Type != tc.typ {
				t.Fatalf("published %v, want one %s", types(es), tc.typ)
			}
			switch tc.typ {
			case paymentsevents.AuthorizedType:
				var a paymentsevents.Authorized
				if err := json.Unmarshal(es[0].Data, &a); err != nil {
					t.Fatal(err)
				}
				if a.OrderID != order || a.PaymentID != p.ID || a.Amount != 13900 || len(a.Lines) != 2 ||
					a.Lines[0] != (paymentsevents.Line{SKU: "AU-02-OG", Quantity: 2, UnitPrice: 4100}) ||
					a.Lines[1] != (paymentsevents.Line{SKU: "CL-01-GY", Quantity: 1, UnitPrice: 5700}) {
					t.Errorf("authorized %+v", a)
				}
			case paymentsevents.DeclinedType:
				var d paymentsevents.Declined
				if err := json.Unmarshal(es[0].Data, &d); err != nil {
					t.Fatal(err)
				}
				if d != (paymentsevents.Declined{OrderID: order, PaymentID: p.ID, Reason: tc.reason}) {
					t.Errorf("declined %+v", d)
				}
			}
			if es[0].Subject != order || es[0].Source != "payments" {
				t.Errorf("envelope subject %q source %q", es[0].Subject, es[0].Source)
			}
		})
	}
}

// TestNeverChargedTwice hands the same order to payments again and again — the same event (as the
// inbox would drop it, but handled directly here), a new event for the same order with another card,
// and concurrently — and checks there is one payment and one event.
func TestNeverChargedTwice(t *testing.T) {
	t.Parallel()
	pool, store := mustDB(t)
	h := paymentsevents.NewHandlers(store, postgres.NewID)
	const order = "order-twice"
	first := orderPlaced(t, order, "4242424242424242", 1000)
	for _, e := range []events.Event{first, first, orderPlaced(t, order, "4000000000000002", 99)} {
		if err := handle(pool, h.OrderPlaced, e); err != nil {
			t.Fatal(err)
		}
	}
	var wg sync.WaitGroup
	errs := make(chan error, 20)
	for range 20 {
		wg.Go(func() { errs <- handle(pool, h.OrderPlaced, orderPlaced(t, order, "4242424242424242", 1000)) })
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Error(err)
		}
	}
	p, err := store.Payment(context.Background(), order)
	if err != nil {
		t.Fatal(err)
	}
	if p.Status != payments.StatusAuthorized || p.Amount != 1000 {
		t.Errorf("payment %+v, want the first decision", p)
	}
	var n int
	if err := pool.QueryRow(context.Background(), `SELECT count(*) FROM payments`).Scan(&n); err != nil || n != 1 {
		t.Errorf("%d payments (%v), want 1", n, err)
	}
	if es := published(t, pool, order); len(es) != 1 || es[0].Type != paymentsevents.AuthorizedType {
		t.Errorf("published %v, want one authorized", types(es))
	}
}

func TestRefundOnce(t *testing.T) {
	t.Parallel()
	pool, store := mustDB(t)
	h := paymentsevents.NewHandlers(store, postgres.NewID)
	const order, declinedOrder = "order-refund", "order-declined"
	if err := handle(pool, h.OrderPlaced, orderPlaced(t, order, "4242424242424242", 13900)); err != nil {
		t.Fatal(err)
	}
	if err := handle(pool, h.OrderPlaced, orderPlaced(t, declinedOrder, "4000000000000002", 13900)); err != nil {
		t.Fatal(err)
	}
	rejected := stockRejected(t, order)
	// The same event twice and another rejection of the same order: one refund.
	for _, e := range []events.Event{rejected, rejected, stockRejected(t, order)} {
		if err := handle(pool, h.StockRejected, e); err != nil {
			t.Fatal(err)
		}
	}
	p, err := store.Payment(context.Background(), order)
	if err != nil {
		t.Fatal(err)
	}
	if p.Status != payments.StatusRefunded || p.Reason != "out of stock" {
		t.Errorf("payment %+v, want refunded, out of stock", p)
	}
	es := published(t, pool, order)
	if got := types(es); len(got) != 2 || got[0] != paymentsevents.AuthorizedType || got[1] != paymentsevents.RefundedType {
		t.Fatalf("published %v, want authorized, refunded", got)
	}
	var r paymentsevents.Refunded
	if err := json.Unmarshal(es[1].Data, &r); err != nil {
		t.Fatal(err)
	}
	if r != (paymentsevents.Refunded{OrderID: order, PaymentID: p.ID, Amount: 13900, Reason: "out of stock"}) {
		t.Errorf("refunded %+v", r)
	}

	// A declined payment is not refunded.
	if err := handle(pool, h.StockRejected, stockRejected(t, declinedOrder)); err != nil {
		t.Fatal(err)
	}
	if got := types(published(t, pool, declinedOrder)); len(got) != 1 || got[0] != paymentsevents.DeclinedType {
		t.Errorf("declined order published %v", got)
	}
	if p, _ := store.Payment(context.Background(), declinedOrder); p.Status != payments.StatusDeclined {
		t.Errorf("declined payment became %s", p.Status)
	}
}

func TestRefundConcurrently(t *testing.T) {
	t.Parallel()
	pool, store := mustDB(t)
	h := paymentsevents.NewHandlers(store, postgres.NewID)
	const order = "order-refund-concurrently"
	if err := handle(pool, h.OrderPlaced, orderPlaced(t, order, "4242424242424242", 500)); err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	for range 10 {
		wg.Go(func() {
			if err := handle(pool, h.StockRejected, stockRejected(t, order)); err != nil {
				t.Error(err)
			}
		})
	}
	wg.Wait()
	if got := types(published(t, pool, order)); len(got) != 2 || got[1] != paymentsevents.RefundedType {
		t.Errorf("published %v, want authorized, refunded", got)
	}
}

func TestBadEventsArePermanent(t *testing.T) {
	t.Parallel()
	pool, store := mustDB(t)
	h := paymentsevents.NewHandlers(store, postgres.NewID)
	ev := func(typ, data string) events.Event {
		return events.Event{ID: "01a207b9-9386-7ac3-83d4-f89df26f476e", Type: typ, Data: json.RawMessage(data)}
	}
	for _, tc := range []struct {
		name string
		h    events.Handler
		e    events.Event
	}{
		{"not json", h.OrderPlaced, ev(paymentsevents.OrderPlacedType, `{`)},
		{"no order id", h.OrderPlaced, ev(paymentsevents.OrderPlacedType, `{"lines":[{"sku":"A","quantity":1,"unit_price":1}],"total":1,"card":{"number":"4242424242424242"}}`)},
		{"no total", h.OrderPlaced, ev(paymentsevents.OrderPlacedType, `{"order_id":"o","lines":[{"sku":"A","quantity":1,"unit_price":1}],"card":{"number":"4242424242424242"}}`)},
		{"negative total", h.OrderPlaced, ev(paymentsevents.OrderPlacedType, `{"order_id":"o","lines":[{"sku":"A","quantity":1,"unit_price":1}],"total":-1}`)},
		{"no lines", h.OrderPlaced, ev(paymentsevents.OrderPlacedType, `{"order_id":"o","lines":[],"total":1}`)},
		{"zero quantity", h.OrderPlaced, ev(paymentsevents.OrderPlacedType, `{"order_id":"o","lines":[{"sku":"A","quantity":0,"unit_price":1}],"total":1}`)},
		{"rejected not json", h.StockRejected, ev(paymentsevents.StockRejectedType, `[]`)},
		{"rejected without order", h.StockRejected, ev(paymentsevents.StockRejectedType, `{"reason":"out of stock"}`)},
		{"rejected unknown order", h.StockRejected, ev(paymentsevents.StockRejectedType, `{"order_id":"nobody"}`)},
	} {
		if err := handle(pool, tc.h, tc.e); !events.IsPermanent(err) {
			t.Errorf("%s: %v, want a permanent error (parked, not retried)", tc.name, err)
		}
	}
	var n int
	if err := pool.QueryRow(context.Background(), `SELECT count(*) FROM payments`).Scan(&n); err != nil || n != 0 {
		t.Errorf("%d payments (%v) after bad events", n, err)
	}
}

// BenchmarkOrderPlaced measures authorizing orders, each in its own transaction with its event, from
// parallel goroutines.
func BenchmarkOrderPlaced(b *testing.B) {
	pool, store := mustDB(b)
	h := paymentsevents.NewHandlers(store, postgres.NewID)
	var n atomic.Int64
	b.ReportAllocs()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			e := orderPlaced(b, fmt.Sprintf("o%d", n.Add(1)), "4242424242424242", 13900)
			if err := handle(pool, h.OrderPlaced, e); err != nil {
				b.Error(err)
			}
		}
	})
}

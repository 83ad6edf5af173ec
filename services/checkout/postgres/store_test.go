package postgres_test

import (
	"context"
	"encoding/json"
	"errors"
	"sync"
	"testing"

	"github.com/jackc/pgx/v5"

	"github.com/inlay-dev/inlay/services/checkout"
	checkoutevents "github.com/inlay-dev/inlay/services/checkout/events"
	"github.com/inlay-dev/inlay/services/checkout/internal/checkouttest"
	"github.com/inlay-dev/inlay/services/kit/errs"
)

func form(key string) checkout.CheckoutForm {
	return checkout.CheckoutForm{FirstName: "Ada", LastName: "Lovelace", Email: "ada@example.com",
		Card: "4242424242424242", StoreID: "store-a", IdempotencyKey: key}
}

func TestItemsAndVersions(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s, pool := checkouttest.Store(t)
	it, err := s.Item(ctx, checkouttest.SKUGrey)
	if err != nil {
		t.Fatal(err)
	}
	if it.Price != 5700 || it.Stock != 5 || it.ProductID != "CL-01" || it.Title() != "Heritage Workhorse Verdant Field" {
		t.Fatalf("item = %+v", it)
	}
	if _, err := s.Item(ctx, "NOPE"); !errors.Is(err, checkout.ErrUnknownSKU) || errs.Code(err) != errs.ENOTFOUND {
		t.Fatalf("unknown sku = %v", err)
	}

	// A newer price applies, an older one (a late event) does not.
	checkouttest.Tx(t, pool, func(ctx context.Context, tx pgx.Tx) error {
		return s.ApplyPrice(ctx, tx, checkouttest.SKUGrey, 5900, 3)
	})
	checkouttest.Tx(t, pool, func(ctx context.Context, tx pgx.Tx) error { return s.ApplyPrice(ctx, tx, checkouttest.SKUGrey, 1, 2) })
	// A product update at an older version changes nothing either.
	old := checkouttest.Products[0]
	old.Name = "Stale"
	checkouttest.Tx(t, pool, func(ctx context.Context, tx pgx.Tx) error { return s.ApplyProduct(ctx, tx, old, 2) })
	if it, _ := s.Item(ctx, checkouttest.SKUGrey); it.Price != 5900 || it.ProductName != "Heritage Workhorse" {
		t.Fatalf("after stale events: %+v", it)
	}
	// A newer product version without RD removes it.
	p := checkout.ProductChange{ID: "CL-01", Name: "Heritage Workhorse II", Variants: []checkout.Variant{
		{SKU: checkouttest.SKUGrey, ProductID: "CL-01", ProductName: "Heritage Workhorse II", Name: "Verdant Field", Price: 6000}}}
	checkouttest.Tx(t, pool, func(ctx context.Context, tx pgx.Tx) error { return s.ApplyProduct(ctx, tx, p, 4) })
	items, err := s.Items(ctx, []string{checkouttest.SKUGrey, checkouttest.SKURed, checkouttest.SKUMatte})
	if err != nil {
		t.Fatal(err)
	}
	if len(items) != 2 || items[checkouttest.SKUGrey].Price != 6000 || items[checkouttest.SKUGrey].ProductName != "Heritage Workhorse II" {
		t.Fatalf("items = %+v", items)
	}
	// Stock: the last quantity wins.
	checkouttest.Tx(t, pool, func(ctx context.Context, tx pgx.Tx) error { return s.ApplyStock(ctx, tx, checkouttest.SKUMatte, 9) })
	if it, _ := s.Item(ctx, checkouttest.SKUMatte); it.Stock != 9 {
		t.Fatalf("stock = %d", it.Stock)
	}
}

func TestKnownStore(t *testing.T) {
	t.Parallel()
	s, _ := checkouttest.Store(t)
	for id, want := range map[string]bool{"store-a": true, "store-zz": false} {
		if known, err := s.KnownStore(context.Background(), id); err != nil || known != want {
			t.Errorf("KnownStore(%s) = %v, %v; want %v", id, known, err, want)
		}
	}
}

func TestPlaceOrder(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s, pool := checkouttest.Store(t)
	lines := []checkout.CartLine{{SKU: checkouttest.SKUGrey, Quantity: 2}, {SKU: checkouttest.SKURed, Quantity: 1}}
	id, created, err := s.PlaceOrder(ctx, checkout.Placement{CartID: "cart-1", Lines: lines, Form: form("key-1")})
	if err != nil || !created {
		t.Fatalf("PlaceOrder = %s, %v, %v", id, created, err)
	}
	o, err := s.Order(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	if o.Status != checkout.Pending || o.Total != 2*5700+6200 || o.CartID != "cart-1" || o.CardLast != "4242" ||
		o.StoreID != "store-a" || o.Customer.Email != "ada@example.com" || len(o.Lines) != 2 || o.Lines[0].UnitPrice != 5700 {
		t.Fatalf("order = %+v", o)
	}
	// The snapshot does not follow later price changes.
	checkouttest.Tx(t, pool, func(ctx context.Context, tx pgx.Tx) error {
		return s.ApplyPrice(ctx, tx, checkouttest.SKUGrey, 9999, 9)
	})
	if o, _ := s.Order(ctx, id); o.Lines[0].UnitPrice != 5700 {
		t.Fatalf("snapshot changed: %+v", o.Lines[0])
	}

	evs := checkouttest.Outbox(t, pool)
	if len(evs) != 1 || evs[0].Type != checkoutevents.OrderPlacedType || evs[0].Subject != id || evs[0].Source != "checkout" {
		t.Fatalf("outbox = %+v", evs)
	}
	var data map[string]any
	if err := json.Unmarshal(evs[0].Data, &data); err != nil {
		t.Fatal(err)
	}
	want := `{"card":{"number":"4242424242424242"},"lines":[{"quantity":2,"sku":"CL-01-GY","unit_price":5700},{"quantity":1,"sku":"CL-01-RD","unit_price":6200}],"order_id":"` + id + `","total":17600}`
	if got, _ := json.Marshal(data); string(got) != want {
		t.Fatalf("order.placed data =\n%s\nwant\n%s", got, want)
	}
}

func TestPlaceOrderIdempotent(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s, pool := checkouttest.Store(t)
	place := checkout.Placement{CartID: "cart-1", Lines: []checkout.CartLine{{SKU: checkouttest.SKUGrey, Quantity: 1}}, Form: form("key-1")}

	// The same form posted 8 times at once makes one order.
	var wg sync.WaitGroup
	ids := make([]string, 8)
	created := make([]bool, 8)
	for i := range ids {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var err error
			ids[i], created[i], err = s.PlaceOrder(ctx, place)
			if err != nil {
				t.Error(err)
			}
		}()
	}
	wg.Wait()
	n := 0
	for i := range ids {
		if ids[i] != ids[0] {
			t.Fatalf("ids differ: %v", ids)
		}
		if created[i] {
			n++
		}
	}
	if n != 1 {
		t.Fatalf("%d creations, want 1", n)
	}
	// Again later, with the cart already emptied: the same order.
	place.Lines = nil
	if id, created, err := s.PlaceOrder(ctx, place); err != nil || created || id != ids[0] {
		t.Fatalf("replay = %s, %v, %v", id, created, err)
	}
	var orders int
	if err := pool.QueryRow(ctx, `SELECT count(*) FROM orders`).Scan(&orders); err != nil {
		t.Fatal(err)
	}
	if orders != 1 || len(checkouttest.Outbox(t, pool)) != 1 {
		t.Fatalf("%d orders, %d events", orders, len(checkouttest.Outbox(t, pool)))
	}
	// Keys are scoped to the cart: another cart's key neither finds nor blocks the order (this
	// cart is empty, so it places nothing).
	place.CartID = "cart-2"
	if _, _, err := s.PlaceOrder(ctx, place); !errors.Is(err, checkout.ErrEmptyCart) {
		t.Fatalf("key of another cart = %v", err)
	}
}

func TestPlaceOrderRefused(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s, pool := checkouttest.Store(t)
	tests := []struct {
		name  string
		lines []checkout.CartLine
		store string // store-a when empty
		code  string
		is    error
	}{
		{"empty", nil, "", errs.EINVALID, checkout.ErrEmptyCart},
		{"unknown sku", []checkout.CartLine{{SKU: "NOPE", Quantity: 1}}, "", errs.EINVALID, checkout.ErrUnknownSKU},
		{"out of stock", []checkout.CartLine{{SKU: checkouttest.SKUMatte, Quantity: 1}}, "", errs.ECONFLICT, checkout.ErrOutOfStock},
		{"more than in stock", []checkout.CartLine{{SKU: checkouttest.SKURed, Quantity: 2}}, "", errs.ECONFLICT, checkout.ErrOutOfStock},
		// A store explore never published (hardening issue 10, defect 5).
		{"a store that does not exist", []checkout.CartLine{{SKU: checkouttest.SKUGrey, Quantity: 1}}, "no-such-store", errs.EINVALID, checkout.ErrUnknownStore},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := form("key-" + tt.name)
			if tt.store != "" {
				f.StoreID = tt.store
			}
			_, _, err := s.PlaceOrder(ctx, checkout.Placement{CartID: "c", Lines: tt.lines, Form: f})
			if !errors.Is(err, tt.is) || errs.Code(err) != tt.code {
				t.Fatalf("err = %v (code %s), want %v (%s)", err, errs.Code(err), tt.is, tt.code)
			}
		})
	}
	if evs := checkouttest.Outbox(t, pool); len(evs) != 0 {
		t.Fatalf("refused orders published %v", evs)
	}
}

func TestConfirmAndCancel(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s, pool := checkouttest.Store(t)
	place := func(key string) string {
		id, _, err := s.PlaceOrder(ctx, checkout.Placement{CartID: "c", Lines: []checkout.CartLine{{SKU: checkouttest.SKUGrey, Quantity: 1}}, Form: form(key)})
		if err != nil {
			t.Fatal(err)
		}
		return id
	}
	a, b := place("a"), place("b")
	confirm := func(o *checkout.Order) error { return o.Confirm() }
	cancel := func(reason string) func(o *checkout.Order) error {
		return func(o *checkout.Order) error { return o.Cancel(reason) }
	}
	tests := []struct {
		name   string
		id     string
		fn     func(o *checkout.Order) error
		status checkout.Status
		err    error
	}{
		{"confirm a", a, confirm, checkout.Confirmed, nil},
		{"confirm a again", a, confirm, checkout.Confirmed, nil},
		{"cancel confirmed a", a, cancel("payment refunded"), "", checkout.ErrIllegalTransition},
		{"cancel b", b, cancel("card declined"), checkout.Cancelled, nil},
		{"cancel b again", b, cancel("other"), checkout.Cancelled, nil},
		{"confirm cancelled b", b, confirm, "", checkout.ErrIllegalTransition},
		{"unknown order", "0190aaaa-0000-7000-8000-000000000000", confirm, "", checkout.ErrUnknownOrder},
		{"not an id", "nope", cancel("x"), "", checkout.ErrUnknownOrder},
		{"the snapshot is immutable", a, func(o *checkout.Order) error { o.Total++; return nil }, "", checkout.ErrSnapshotChanged},
	}
	for _, tt := range tests {
		var o checkout.Order
		err := pgx.BeginFunc(ctx, pool, func(tx pgx.Tx) error {
			var err error
			o, err = s.UpdateTx(ctx, tx, tt.id, tt.fn)
			return err
		})
		if o.Status != tt.status || !errors.Is(err, tt.err) {
			t.Errorf("%s: status %q err %v, want %q %v", tt.name, o.Status, err, tt.status, tt.err)
		}
	}
	if _, st, reason, err := s.OrderStatus(ctx, b); err != nil || st != checkout.Cancelled || reason != "card declined" {
		t.Fatalf("b = %s %q %v", st, reason, err)
	}
	evs := checkouttest.Outbox(t, pool)
	var types []string
	for _, e := range evs {
		types = append(types, e.Type)
	}
	if len(evs) != 4 || evs[2].Type != checkoutevents.OrderConfirmedType || evs[3].Type != checkoutevents.OrderCancelledType {
		t.Fatalf("events = %v", types)
	}
	var c checkoutevents.CancelledData
	if err := json.Unmarshal(evs[3].Data, &c); err != nil || c.OrderID != b || c.Reason != "card declined" ||
		len(c.Lines) != 1 || c.Lines[0].SKU != checkouttest.SKUGrey || c.Lines[0].Quantity != 1 {
		t.Fatalf("cancelled = %+v, %v", c, err)
	}
	if _, err := s.Order(ctx, "nope"); errs.Code(err) != errs.ENOTFOUND {
		t.Fatalf("Order(nope) = %v", err)
	}
	// Update owns its transaction: a third order cancelled through it publishes its event too.
	third := place("c")
	if o, err := s.Update(ctx, third, cancel("changed my mind")); err != nil || o.Status != checkout.Cancelled || o.Reason != "changed my mind" {
		t.Fatalf("Update = %+v, %v", o, err)
	}
	if evs := checkouttest.Outbox(t, pool); len(evs) != 6 || evs[5].Type != checkoutevents.OrderCancelledType || evs[5].Subject != third {
		t.Fatalf("%d events after Update", len(evs))
	}
}

package checkout_test

import (
	"errors"
	"testing"

	"github.com/inlay-dev/inlay/services/checkout"
	"github.com/inlay-dev/inlay/services/kit/errs"
)

var (
	grey = checkout.Item{Variant: checkout.Variant{SKU: "CL-01-GY", ProductID: "CL-01", ProductName: "Heritage Workhorse",
		Name: "Verdant Field", Image: "/gy.svg", Price: 5700}, Stock: 5}
	red = checkout.Item{Variant: checkout.Variant{SKU: "CL-01-RD", ProductID: "CL-01", ProductName: "Heritage Workhorse",
		Name: "Red Barn", Price: 6200}, Stock: 1}
	items  = map[string]checkout.Item{grey.SKU: grey, red.SKU: red}
	stores = map[string]checkout.PickupStore{"store-a": {ID: "store-a", Name: "Aurora Flagship Store"}}
	form   = checkout.CheckoutForm{FirstName: "Ada", LastName: "Lovelace", Email: "ada@example.com",
		Card: "4242424242424242", StoreID: "store-a", IdempotencyKey: "k1"}
)

func TestNewOrder(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name  string
		lines []checkout.CartLine
		store string // the form's; store-a when empty
		shown *int64 // Placement.ShownTotal
		total int64
		code  string
		is    error
		msg   string
	}{
		{name: "priced at the current prices", lines: []checkout.CartLine{{SKU: grey.SKU, Quantity: 2}, {SKU: red.SKU, Quantity: 1}},
			total: 2*5700 + 6200},
		{name: "all the stock", lines: []checkout.CartLine{{SKU: grey.SKU, Quantity: 5}}, total: 5 * 5700},
		{name: "empty cart", code: errs.EINVALID, is: checkout.ErrEmptyCart, msg: "Your basket is empty."},
		{name: "unknown sku", lines: []checkout.CartLine{{SKU: grey.SKU, Quantity: 1}, {SKU: "NOPE", Quantity: 1}},
			code: errs.EINVALID, is: checkout.ErrUnknownSKU, msg: "NOPE: unknown sku"},
		{name: "a store checkout does not know", lines: []checkout.CartLine{{SKU: grey.SKU, Quantity: 1}}, store: "no-such-store",
			code: errs.EINVALID, is: checkout.ErrUnknownStore, msg: "Please choose one of our stores."},
		{name: "more than in stock", lines: []checkout.CartLine{{SKU: red.SKU, Quantity: 2}},
			code: errs.ECONFLICT, is: checkout.ErrOutOfStock, msg: "Heritage Workhorse Red Barn: only 1 left, fewer than the basket holds"},
		{name: "the total shown is the current one", lines: []checkout.CartLine{{SKU: grey.SKU, Quantity: 2}},
			shown: ptr(2 * 5700), total: 2 * 5700},
		{name: "a price changed since the total was shown", lines: []checkout.CartLine{{SKU: grey.SKU, Quantity: 2}},
			shown: ptr(2 * 5500), code: errs.ECONFLICT, is: checkout.ErrPriceChanged, msg: checkout.PriceChangedMessage},
		{name: "a tampered total", lines: []checkout.CartLine{{SKU: grey.SKU, Quantity: 1}},
			shown: ptr(-1), code: errs.ECONFLICT, is: checkout.ErrPriceChanged, msg: checkout.PriceChangedMessage},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			f := form
			if tt.store != "" {
				f.StoreID = tt.store
			}
			o, err := checkout.NewOrder("o1", checkout.Placement{CartID: "c1", CustomerID: "u1", Lines: tt.lines, Form: f, ShownTotal: tt.shown}, items, stores)
			if tt.is != nil {
				if !errors.Is(err, tt.is) || errs.Code(err) != tt.code || errs.Message(err) != tt.msg {
					t.Fatalf("err = %v (code %s, message %q), want %v (%s, %q)", err, errs.Code(err), errs.Message(err), tt.is, tt.code, tt.msg)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if o.ID != "o1" || o.Status != checkout.Pending || o.CartID != "c1" || o.Total != tt.total ||
				o.Customer != (checkout.Customer{ID: "u1", FirstName: "Ada", LastName: "Lovelace", Email: "ada@example.com"}) ||
				o.StoreID != "store-a" || o.CardLast != "4242" || len(o.Lines) != len(tt.lines) {
				t.Fatalf("order = %+v", o)
			}
		})
	}
}

func TestPriceLine(t *testing.T) {
	t.Parallel()
	got := checkout.PriceLine(checkout.CartLine{SKU: grey.SKU, Quantity: 3}, grey)
	want := checkout.OrderLine{SKU: "CL-01-GY", ProductID: "CL-01", ProductName: "Heritage Workhorse", Name: "Verdant Field",
		Image: "/gy.svg", Quantity: 3, UnitPrice: 5700}
	if got != want {
		t.Errorf("PriceLine = %+v, want %+v", got, want)
	}
	if total := checkout.OrderTotal([]checkout.OrderLine{got, {Quantity: 1, UnitPrice: 6200}}); total != 3*5700+6200 {
		t.Errorf("OrderTotal = %d", total)
	}
}

func TestCheckLine(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		line checkout.CartLine
		it   checkout.Item
		ok   bool
		want error
	}{
		{"in stock", checkout.CartLine{SKU: grey.SKU, Quantity: 5}, grey, true, nil},
		{"unknown", checkout.CartLine{SKU: "NOPE", Quantity: 1}, checkout.Item{}, false, checkout.ErrUnknownSKU},
		{"one too many", checkout.CartLine{SKU: grey.SKU, Quantity: 6}, grey, true, checkout.ErrOutOfStock},
		{"none in stock", checkout.CartLine{SKU: red.SKU, Quantity: 1}, checkout.Item{Variant: red.Variant}, true, checkout.ErrOutOfStock},
	}
	for _, tt := range tests {
		err := checkout.CheckLine(tt.line, tt.it, tt.ok)
		var le *checkout.LineError
		if !errors.Is(err, tt.want) || (tt.want != nil && (!errors.As(err, &le) || le.SKU != tt.line.SKU)) {
			t.Errorf("%s: CheckLine = %v, want %v", tt.name, err, tt.want)
		}
	}
}

func TestConfirmAndCancel(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name       string
		from       checkout.Status
		fromReason string
		change     func(o *checkout.Order) error
		want       checkout.Status
		reason     string
		err        error
	}{
		{"confirm pending", checkout.Pending, "", (*checkout.Order).Confirm, checkout.Confirmed, "", nil},
		{"confirm again", checkout.Confirmed, "", (*checkout.Order).Confirm, checkout.Confirmed, "", nil},
		{"confirm cancelled", checkout.Cancelled, "x", (*checkout.Order).Confirm, checkout.Cancelled, "x", checkout.ErrIllegalTransition},
		{"cancel pending", checkout.Pending, "", func(o *checkout.Order) error { return o.Cancel("card declined") }, checkout.Cancelled, "card declined", nil},
		{"cancel again keeps the first reason", checkout.Cancelled, "card declined", func(o *checkout.Order) error { return o.Cancel("later") }, checkout.Cancelled, "card declined", nil},
		{"cancel confirmed", checkout.Confirmed, "", func(o *checkout.Order) error { return o.Cancel("late") }, checkout.Confirmed, "", checkout.ErrIllegalTransition},
	}
	for _, tt := range tests {
		o := checkout.Order{ID: "o1", Status: tt.from, Reason: tt.fromReason}
		err := tt.change(&o)
		if !errors.Is(err, tt.err) || o.Status != tt.want || o.Reason != tt.reason {
			t.Errorf("%s: %s %q, %v; want %s %q, %v", tt.name, o.Status, o.Reason, err, tt.want, tt.reason, tt.err)
		}
	}
}

func TestSameSnapshot(t *testing.T) {
	t.Parallel()
	o, err := checkout.NewOrder("o1", checkout.Placement{CartID: "c1", Lines: []checkout.CartLine{{SKU: grey.SKU, Quantity: 1}}, Form: form}, items, stores)
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name   string
		change func(o *checkout.Order)
		same   bool
	}{
		{"status and reason", func(o *checkout.Order) { o.Status, o.Reason = checkout.Cancelled, "x" }, true},
		{"total", func(o *checkout.Order) { o.Total++ }, false},
		{"a line's price", func(o *checkout.Order) { o.Lines[0].UnitPrice = 1 }, false},
		{"store", func(o *checkout.Order) { o.StoreID = "store-b" }, false},
		{"customer", func(o *checkout.Order) { o.Customer.Email = "eve@example.com" }, false},
	}
	for _, tt := range tests {
		next := o
		next.Lines = append([]checkout.OrderLine(nil), o.Lines...)
		tt.change(&next)
		if got := next.SameSnapshot(o); got != tt.same {
			t.Errorf("%s: SameSnapshot = %v", tt.name, got)
		}
	}
}

func ptr(n int64) *int64 { return &n }

package order_test

import (
	"context"
	"encoding/json"
	"errors"
	"testing"
	"time"

	"github.com/inlay-dev/inlay/fragments"
	"github.com/inlay-dev/inlay/services/checkout"
	"github.com/inlay-dev/inlay/services/checkout/ui/internal/uitest"
	"github.com/inlay-dev/inlay/services/checkout/ui/order"
)

// Orders is a fake order store with one cancelled order of cart c1 and customer u1; "broken" fails.
func Orders() uitest.Store {
	return uitest.Store{OrderFunc: func(_ context.Context, id string) (checkout.Order, error) {
		switch id {
		case "o1":
			return checkout.Order{ID: "o1", CartID: "c1", Customer: checkout.Customer{ID: "u1", FirstName: "Ada", LastName: "Lovelace"},
				Status: checkout.Cancelled, StoreID: "store-b", StoreName: "Aurora Flagship <Store>", CardLast: "0002",
				Created: time.Date(2026, 12, 1, 9, 5, 0, 0, time.UTC),
				Reason:  "card declined", Total: 11400, Lines: []checkout.OrderLine{
					{SKU: "CL-01-GY", ProductName: "Heritage Workhorse", Name: "Verdant Field", Quantity: 2, UnitPrice: 5700}}}, nil
		case "broken":
			return checkout.Order{}, errors.New("database down")
		}
		return checkout.Order{}, checkout.ErrOrderNotFound(id)
	}}
}

func TestOrderPage(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		name   string
		target string
		fc     fragments.Context
		status int
	}{
		{"the cart's order", "/?order=o1", fragments.Context{CartID: "c1"}, 200},
		{"the customer's order", "/?order=o1", fragments.Context{CartID: "other", CustomerID: "u1"}, 200},
		{"someone else's order", "/?order=o1", fragments.Context{CartID: "c2", CustomerID: "u2"}, 404},
		{"no visitor", "/?order=o1", fragments.Context{}, 404},
		{"no such order", "/?order=o9", fragments.Context{CartID: "c1"}, 404},
		{"store down", "/?order=broken", fragments.Context{CartID: "c1"}, 500},
	} {
		r := uitest.Do(t, order.Handler(Orders()), uitest.Request{Target: tt.target, Context: tt.fc})
		if r.StatusCode != tt.status {
			t.Errorf("%s: %d", tt.name, r.StatusCode)
			continue
		}
		switch tt.status {
		case 200:
			if uitest.Text(r.Doc, "[data-testid=thanks-order-id]") != "o1" || uitest.Text(r.Doc, "[data-testid=thanks-status-text]") != "cancelled" ||
				uitest.Text(r.Doc, "[data-testid=thanks-status-reason]") != "card declined" || uitest.Text(r.Doc, "[data-testid=thanks-total]") != "11400 Ø" ||
				r.Doc.Find("[data-testid=thanks-line]").Length() != 1 {
				t.Errorf("%s: %s", tt.name, r.Body)
			}
			// When, where, for whom and with which card (the store's name escaped as text).
			if uitest.Text(r.Doc, "[data-testid=order-placed]") != "1 December 2026, 09:05 UTC" ||
				r.Doc.Find("[data-testid=order-placed]").AttrOr("datetime", "") != "2026-12-01T09:05:00Z" ||
				uitest.Text(r.Doc, "[data-testid=order-store]") != "Aurora Flagship <Store>" ||
				uitest.Text(r.Doc, "[data-testid=order-for]") != "Ada Lovelace" || uitest.Text(r.Doc, "[data-testid=order-card]") != "ending 0002" {
				t.Errorf("%s: the order's facts: %s", tt.name, r.Body)
			}
		case 404:
			if uitest.Text(r.Doc, "[data-testid=checkout-order] h1") != "Order not found" ||
				uitest.Text(r.Doc, "[data-testid=checkout-order] p:first-of-type") != "This order does not exist, or it is not yours." ||
				r.Doc.Find("[data-testid=order-not-found-continue]").AttrOr("href", "") != "/" || r.Header.Get(fragments.TitleHeader) != "Order%20not%20found" {
				t.Errorf("%s: %s", tt.name, r.Body)
			}
		}
	}
}

func TestStatus(t *testing.T) {
	t.Parallel()
	h := order.StatusHandler(Orders())
	r := uitest.Do(t, h, uitest.Request{Route: "/orders/:id/status", Target: "/orders/o1/status", Context: fragments.Context{CartID: "c1"}})
	var st order.Status
	if err := json.Unmarshal([]byte(r.Body), &st); err != nil || r.StatusCode != 200 || r.Header.Get("Cache-Control") != "no-store" ||
		st != (order.Status{OrderID: "o1", Status: checkout.Cancelled, Reason: "card declined", Final: true}) {
		t.Errorf("status = %d %s", r.StatusCode, r.Body)
	}
	if r := uitest.Do(t, h, uitest.Request{Route: "/orders/:id/status", Target: "/orders/o1/status", Context: fragments.Context{CartID: "c2"}}); r.StatusCode != 404 {
		t.Errorf("someone else's status: %d", r.StatusCode)
	}
}

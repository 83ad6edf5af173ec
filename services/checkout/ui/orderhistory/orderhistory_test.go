package orderhistory_test

import (
	"context"
	"testing"
	"time"

	"github.com/inlay-dev/inlay/fragments"
	"github.com/inlay-dev/inlay/services/checkout"
	"github.com/inlay-dev/inlay/services/checkout/ui/internal/uitest"
	"github.com/inlay-dev/inlay/services/checkout/ui/orderhistory"
)

func TestOrderHistory(t *testing.T) {
	t.Parallel()
	created := time.Date(2026, 11, 3, 10, 0, 0, 0, time.UTC)
	orders := uitest.Store{OrdersOfFunc: func(_ context.Context, customer string, limit int) ([]checkout.Order, error) {
		if limit != orderhistory.Length {
			t.Errorf("limit %d", limit)
		}
		if customer != "u1" {
			return nil, nil
		}
		return []checkout.Order{{ID: "o2", Status: checkout.Confirmed, Total: 5700, Created: created},
			{ID: "o1", Status: checkout.Cancelled, Total: 100, Created: created}}, nil
	}}
	for _, tt := range []struct {
		customer string
		testid   string
		n        int
	}{
		{"", "order-history-guest", 0},
		{"u2", "order-history-empty", 0},
		{"u1", "", 2},
	} {
		r := uitest.Do(t, orderhistory.Handler(orders), uitest.Request{Context: fragments.Context{CustomerID: tt.customer}})
		if r.StatusCode != 200 || r.Doc.Find("[data-testid=order-history-order]").Length() != tt.n ||
			tt.testid != "" && r.Doc.Find("[data-testid="+tt.testid+"]").Length() != 1 {
			t.Errorf("%q: %s", tt.customer, r.Body)
		}
		if tt.n > 0 && r.Doc.Find("[data-testid=order-history-order] a").First().AttrOr("href", "") != "/checkout/orders/o2" {
			t.Errorf("link: %s", r.Body)
		}
	}
}

package minicart_test

import (
	"context"
	"errors"
	"testing"

	"github.com/inlay-dev/inlay/fragments"
	"github.com/inlay-dev/inlay/services/checkout"
	"github.com/inlay-dev/inlay/services/checkout/ui/internal/uitest"
	"github.com/inlay-dev/inlay/services/checkout/ui/minicart"
)

func TestMiniCart(t *testing.T) {
	t.Parallel()
	carts := uitest.Carts{LinesFunc: func(_ context.Context, id string) ([]checkout.CartLine, error) {
		switch id {
		case "c1":
			return []checkout.CartLine{{SKU: "A", Quantity: 2}, {SKU: "B", Quantity: 1}}, nil
		case "down":
			return nil, errors.New("redis down")
		}
		return nil, nil
	}}
	for _, tt := range []struct {
		cart     string
		status   int
		quantity string
		hidden   bool
	}{
		{"c1", 200, "3", false},
		{"", 200, "0", true},
		{"gone", 200, "0", true},
		{"down", 500, "", false},
	} {
		r := uitest.Do(t, minicart.Handler(carts), uitest.Request{Context: fragments.Context{CartID: tt.cart}})
		if r.StatusCode != tt.status {
			t.Errorf("%q: status %d", tt.cart, r.StatusCode)
			continue
		}
		if tt.status != 200 {
			continue
		}
		box := r.Doc.Find(`[data-boundary=checkout][data-testid=mini-cart]`)
		_, hidden := box.Attr("hidden")
		if box.AttrOr("data-quantity", "") != tt.quantity || hidden != tt.hidden {
			t.Errorf("%q: %s", tt.cart, r.Body)
		}
		if !tt.hidden && (box.AttrOr("href", "") != "/checkout/cart" || uitest.Text(r.Doc, "[data-testid=mini-cart-count]") != tt.quantity) {
			t.Errorf("%q: %s", tt.cart, r.Body)
		}
	}
}

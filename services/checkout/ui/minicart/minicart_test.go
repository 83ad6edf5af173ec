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
		label    string
	}{
		{"c1", 200, "3", "Basket, 3 items"},
		{"", 200, "0", "Basket, empty"},
		{"gone", 200, "0", "Basket, empty"},
		{"down", 500, "", ""},
	} {
		r := uitest.Do(t, minicart.Handler(carts), uitest.Request{Context: fragments.Context{CartID: tt.cart}})
		if r.StatusCode != tt.status {
			t.Errorf("%q: status %d", tt.cart, r.StatusCode)
			continue
		}
		if tt.status != 200 {
			continue
		}
		// The Mini Cart always links to the cart page; at 0 it shows no number.
		box := r.Doc.Find(`a[data-boundary=checkout][data-testid=mini-cart]`)
		_, hidden := box.Attr("hidden")
		if box.Length() != 1 || hidden || box.AttrOr("href", "") != "/checkout/cart" || box.AttrOr("data-quantity", "") != tt.quantity ||
			box.AttrOr("aria-label", "") != tt.label {
			t.Errorf("%q: %s", tt.cart, r.Body)
		}
		count := uitest.Text(r.Doc, "[data-testid=mini-cart-count]")
		if (tt.quantity == "0" && count != "") || (tt.quantity != "0" && count != tt.quantity) {
			t.Errorf("%q: count %q: %s", tt.cart, count, r.Body)
		}
	}
}

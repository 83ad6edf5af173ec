package addtocart_test

import (
	"context"
	"encoding/json"
	"errors"
	"net/url"
	"strings"
	"testing"

	"github.com/inlay-dev/inlay/fragments"
	"github.com/inlay-dev/inlay/services/checkout"
	"github.com/inlay-dev/inlay/services/checkout/ui/addtocart"
	"github.com/inlay-dev/inlay/services/checkout/ui/internal/uitest"
	"github.com/inlay-dev/inlay/services/kit/errs"
)

func store() uitest.Store {
	return uitest.Store{ItemFunc: func(_ context.Context, sku string) (checkout.Item, error) {
		switch sku {
		case uitest.Grey.SKU:
			return uitest.Grey, nil
		case "OUT-1":
			return checkout.Item{Variant: checkout.Variant{SKU: "OUT-1", ProductName: "Gone"}}, nil
		}
		return checkout.Item{}, errs.Wrap(errs.ENOTFOUND, checkout.ErrUnknownSKU, "no such tractor")
	}}
}

func TestFragment(t *testing.T) {
	t.Parallel()
	tests := []struct {
		sku, status, stock string
		code               int
		disabled           bool
	}{
		{uitest.Grey.SKU, "5700 Ø", "5 in stock, free shipping", 200, false},
		{"OUT-1", "0 Ø", "out of stock", 200, true},
		{"NOPE", "", "This tractor cannot be ordered.", 404, false},
		{"not a sku!", "", "This tractor cannot be ordered.", 404, false},
	}
	for _, tt := range tests {
		r := uitest.Do(t, addtocart.Handler(store()), uitest.Request{Target: "/?sku=" + url.QueryEscape(tt.sku),
			Context: fragments.Context{CSRF: "tok"}})
		if r.StatusCode != tt.code || uitest.Text(r.Doc, "[data-testid=add-to-cart-stock]") != tt.stock ||
			uitest.Text(r.Doc, "[data-testid=add-to-cart-price]") != tt.status {
			t.Errorf("%s: %d %q %q", tt.sku, r.StatusCode, uitest.Text(r.Doc, "[data-testid=add-to-cart-stock]"),
				uitest.Text(r.Doc, "[data-testid=add-to-cart-price]"))
		}
		if _, off := r.Doc.Find("[data-testid=add-to-cart-button]").Attr("disabled"); off != tt.disabled {
			t.Errorf("%s: button disabled %v", tt.sku, off)
		}
		if r.Doc.Find(`[data-boundary=checkout][data-testid=checkout-add-to-cart]`).Length() != 1 {
			t.Errorf("%s: no checkout root", tt.sku)
		}
		if tt.code != 200 {
			continue
		}
		// One shared copy per variant: public, tagged with its product and its sku, and the form's
		// token is the placeholder the shell fills, never the context's.
		if tags, want := r.Header.Get(fragments.TagsHeader), fragments.ProductTag(uitest.Grey.ProductID)+" "+fragments.SKUTag(uitest.Grey.SKU); tt.sku == uitest.Grey.SKU && tags != want {
			t.Errorf("%s: %s %q, want %q", tt.sku, fragments.TagsHeader, tags, want)
		}
		if cc := r.Header.Get("Cache-Control"); !strings.HasPrefix(cc, "public") {
			t.Errorf("%s: Cache-Control %q, want public", tt.sku, cc)
		}
		if v := r.Doc.Find(`input[name="csrf"]`).AttrOr("value", "?"); v != fragments.CSRFPlaceholder {
			t.Errorf("%s: the form's token %q, want the placeholder", tt.sku, v)
		}
	}
}

func TestAdd(t *testing.T) {
	t.Parallel()
	var added []string
	carts := uitest.Carts{
		AddFunc: func(_ context.Context, cartID, sku string, n, limit int) (int, error) {
			if limit != 5 {
				t.Errorf("limit %d, want the stock 5", limit)
			}
			added = append(added, cartID+"/"+sku)
			if cartID == "full" {
				return 0, checkout.ErrCartFull
			}
			return 2, nil
		},
		LinesFunc: func(context.Context, string) ([]checkout.CartLine, error) {
			return []checkout.CartLine{{SKU: uitest.Grey.SKU, Quantity: 2}, {SKU: "X", Quantity: 3}}, nil
		},
	}
	h := addtocart.Add(store(), carts, true)
	post := func(cart, sku string, json bool) uitest.Response {
		r := uitest.Request{Method: "POST", Context: fragments.Context{CartID: cart}, Form: url.Values{"sku": {sku}}}
		if json {
			r.Header = uitest.JSON
		}
		return uitest.Do(t, h, r)
	}

	// Without JavaScript: a redirect to the cart, with an error code when refused.
	for _, tt := range []struct{ cart, sku, location string }{
		{"c1", uitest.Grey.SKU, "/checkout/cart"},
		{"c1", "OUT-1", "/checkout/cart?error=out-of-stock"},
		{"c1", "NOPE", "/checkout/cart?error=unknown"},
		{"c1", "bad sku", "/checkout/cart?error=invalid"},
		{"full", uitest.Grey.SKU, "/checkout/cart?error=cart-full"},
	} {
		r := post(tt.cart, tt.sku, false)
		if r.StatusCode != 303 || r.Header.Get("Location") != tt.location {
			t.Errorf("%s: %d → %s, want %s", tt.sku, r.StatusCode, r.Header.Get("Location"), tt.location)
		}
	}

	// With JavaScript: the line's and the cart's quantities; a first add creates the cart's cookie.
	r := post("", uitest.Grey.SKU, true)
	var res addtocart.AddResult
	if err := json.Unmarshal([]byte(r.Body), &res); err != nil || r.StatusCode != 200 ||
		res != (addtocart.AddResult{SKU: uitest.Grey.SKU, Quantity: 2, CartQuantity: 5, Message: "Tractor was added."}) {
		t.Fatalf("add = %d %s", r.StatusCode, r.Body)
	}
	var cookie string
	for _, c := range r.Cookies() {
		if c.Name == checkout.CartCookie {
			cookie = c.Value
			if !c.HttpOnly || !c.Secure || c.Path != "/" {
				t.Errorf("cookie %+v", c)
			}
		}
	}
	if cookie == "" || added[len(added)-1] != cookie+"/"+uitest.Grey.SKU {
		t.Errorf("cookie %q, adds %v", cookie, added)
	}
	// Refusals are the error's status and message.
	if r := post("full", uitest.Grey.SKU, true); r.StatusCode != 409 {
		t.Errorf("full cart: %d %s", r.StatusCode, r.Body)
	}
	if r := post("c1", "OUT-1", true); r.StatusCode != 409 {
		t.Errorf("out of stock: %d %s", r.StatusCode, r.Body)
	}
}

func TestAddLineLimitMessage(t *testing.T) {
	t.Parallel()
	carts := uitest.Carts{AddFunc: func(context.Context, string, string, int, int) (int, error) { return 0, checkout.ErrLineLimit }}
	r := uitest.Do(t, addtocart.Add(store(), carts, false), uitest.Request{Method: "POST", Context: fragments.Context{CartID: "c"},
		Form: url.Values{"sku": {uitest.Grey.SKU}}, Header: uitest.JSON})
	want := "You already have 5 of Heritage Workhorse Verdant Field in your basket, all we have in stock."
	var body struct{ Error struct{ Message string } }
	if err := json.Unmarshal([]byte(r.Body), &body); err != nil || r.StatusCode != 409 || body.Error.Message != want {
		t.Errorf("line limit: %d %s", r.StatusCode, r.Body)
	}
}

func TestAddFailure(t *testing.T) {
	t.Parallel()
	down := uitest.Store{ItemFunc: func(context.Context, string) (checkout.Item, error) { return checkout.Item{}, errors.New("down") }}
	if r := uitest.Do(t, addtocart.Handler(down), uitest.Request{Target: "/?sku=A-1"}); r.StatusCode != 500 {
		t.Errorf("store down: %d", r.StatusCode)
	}
}

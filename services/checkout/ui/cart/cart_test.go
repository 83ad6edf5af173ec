package cart_test

import (
	"context"
	"errors"
	"net/url"
	"testing"

	"github.com/inlay-dev/inlay/fragments"
	"github.com/inlay-dev/inlay/services/checkout"
	"github.com/inlay-dev/inlay/services/checkout/ui/cart"
	"github.com/inlay-dev/inlay/services/checkout/ui/internal/uitest"
)

func carts() uitest.Carts {
	return uitest.Carts{LinesFunc: func(_ context.Context, id string) ([]checkout.CartLine, error) {
		if id != "c1" {
			return nil, nil
		}
		// NOPE is a sku checkout no longer knows: left out.
		return []checkout.CartLine{{SKU: uitest.Grey.SKU, Quantity: 2}, {SKU: "NOPE", Quantity: 1}, {SKU: uitest.Red.SKU, Quantity: 1}}, nil
	}}
}

func TestCart(t *testing.T) {
	t.Parallel()
	store := uitest.Store{ItemsFunc: uitest.Items}
	r := uitest.Do(t, cart.Handler(carts(), store), uitest.Request{Target: "/?error=out-of-stock", Context: fragments.Context{CartID: "c1", CSRF: "tok"}})
	if r.StatusCode != 200 {
		t.Fatalf("status %d", r.StatusCode)
	}
	lines := r.Doc.Find("[data-testid=cart-line]")
	if lines.Length() != 2 || lines.First().AttrOr("data-sku", "") != uitest.Grey.SKU {
		t.Fatalf("lines: %s", r.Body)
	}
	if got := uitest.Text(r.Doc, "[data-testid=cart-total-price]"); got != "17600 Ø" {
		t.Errorf("total %q", got)
	}
	if got := uitest.Text(r.Doc, "[data-testid=cart-error]"); got != "Sorry, this tractor is out of stock." {
		t.Errorf("error %q", got)
	}
	if src := r.Doc.Find("inlay-fragment").AttrOr("src", ""); src != "inspire/recommendations?skus=CL-01-GY%2CCL-01-RD" {
		t.Errorf("recommendations %q", src)
	}
	if v := r.Doc.Find("input[name="+fragments.CSRFField+"]").AttrOr("value", ""); v != "tok" {
		t.Errorf("csrf %q", v)
	}

	// An empty cart; an unknown error code shows nothing (the page never reflects request text).
	r = uitest.Do(t, cart.Handler(carts(), store), uitest.Request{Target: "/?error=%3Cscript%3E"})
	if r.Doc.Find("[data-testid=cart-empty]").Length() != 1 || r.Doc.Find("[data-testid=cart-error]").Length() != 0 {
		t.Errorf("empty cart: %s", r.Body)
	}
	// A failing store fails the fragment (the shell shows its fallback).
	down := uitest.Store{ItemsFunc: func(context.Context, []string) (map[string]checkout.Item, error) { return nil, errors.New("down") }}
	if r := uitest.Do(t, cart.Handler(carts(), down), uitest.Request{Context: fragments.Context{CartID: "c1"}}); r.StatusCode != 500 {
		t.Errorf("store down: %d", r.StatusCode)
	}
}

func TestRemove(t *testing.T) {
	t.Parallel()
	var removed []string
	carts := uitest.Carts{RemoveFunc: func(_ context.Context, id, sku string) error {
		removed = append(removed, id+"/"+sku)
		if sku == uitest.Red.SKU {
			return checkout.ErrNotInCart
		}
		return nil
	}}
	for _, tt := range []struct {
		sku    string
		header bool
		status int
	}{
		{uitest.Grey.SKU, false, 303},
		{uitest.Red.SKU, true, 200}, // not in the cart: removed already
		{"bad sku", false, 400},
	} {
		req := uitest.Request{Method: "POST", Context: fragments.Context{CartID: "c1"}, Form: url.Values{"sku": {tt.sku}}}
		if tt.header {
			req.Header = uitest.JSON
		}
		if r := uitest.Do(t, cart.Remove(carts), req); r.StatusCode != tt.status {
			t.Errorf("%s: %d %s", tt.sku, r.StatusCode, r.Body)
		}
	}
	if len(removed) != 2 || removed[0] != "c1/"+uitest.Grey.SKU {
		t.Errorf("removed %v", removed)
	}
}

func TestErrorCode(t *testing.T) {
	t.Parallel()
	for err, want := range map[error]string{
		checkout.ErrUnknownSKU: "unknown", checkout.ErrOutOfStock: "out-of-stock", checkout.ErrLineLimit: "line-limit",
		checkout.ErrCartFull: "cart-full", errors.New("other"): "invalid",
	} {
		if got := cart.ErrorCode(err); got != want {
			t.Errorf("ErrorCode(%v) = %q, want %q", err, got, want)
		}
	}
}

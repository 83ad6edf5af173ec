package checkoutpage_test

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"net/url"
	"strings"
	"testing"

	"github.com/inlay-dev/inlay/fragments"
	"github.com/inlay-dev/inlay/services/checkout"
	"github.com/inlay-dev/inlay/services/checkout/ui/checkoutpage"
	"github.com/inlay-dev/inlay/services/checkout/ui/internal/uitest"
	"github.com/inlay-dev/inlay/services/kit/errs"
)

var discard = slog.New(slog.NewTextHandler(io.Discard, nil))

func lines(context.Context, string) ([]checkout.CartLine, error) {
	return []checkout.CartLine{{SKU: uitest.Grey.SKU, Quantity: 2}}, nil
}

func TestPage(t *testing.T) {
	t.Parallel()
	store := uitest.Store{ItemsFunc: uitest.Items}
	refused := uitest.Carts{LinesFunc: lines, TakeFormFunc: func(context.Context, string) (checkout.CheckoutForm, checkout.FieldErrors, bool, error) {
		return checkout.CheckoutForm{FirstName: "Ada", StoreID: "store-b", IdempotencyKey: "k1"},
			checkout.FieldErrors{checkout.FieldEmail: "E-mail is required.", "_": "Sorry, out of stock."}, true, nil
	}}
	r := uitest.Do(t, checkoutpage.Handler(refused, store, refused, nil), uitest.Request{Target: "/?store=store-a", Context: fragments.Context{CartID: "c1"}})
	if r.StatusCode != 200 || uitest.Text(r.Doc, "[data-testid=checkout-summary]") != "2 tractors, total 11400 Ø" {
		t.Fatalf("%d %s", r.StatusCode, r.Body)
	}
	for sel, want := range map[string]string{
		"[data-testid=checkout-email-error]": "E-mail is required.",
		"[data-testid=checkout-error]":       "Sorry, out of stock.",
	} {
		if got := uitest.Text(r.Doc, sel); got != want {
			t.Errorf("%s = %q, want %q", sel, got, want)
		}
	}
	// The refused form's store wins over ?store=; its key is kept.
	if v := r.Doc.Find("input[name=store]").AttrOr("value", ""); v != "store-b" {
		t.Errorf("store %q", v)
	}
	if src := r.Doc.Find("inlay-fragment").AttrOr("src", ""); src != "explore/store-picker?selected=store-b" {
		t.Errorf("store picker %q", src)
	}
	if v := r.Doc.Find("input[name="+checkout.FieldIdempotencyKey+"]").AttrOr("value", ""); v != "k1" {
		t.Errorf("key %q", v)
	}

	// A fresh form: ?store= preselects, a new key.
	fresh := uitest.Carts{LinesFunc: lines}
	r = uitest.Do(t, checkoutpage.Handler(fresh, store, fresh, nil), uitest.Request{Target: "/?store=store-a", Context: fragments.Context{CartID: "c1"}})
	if v := r.Doc.Find("input[name=store]").AttrOr("value", ""); v != "store-a" {
		t.Errorf("store %q", v)
	}
	if v := r.Doc.Find("input[name="+checkout.FieldIdempotencyKey+"]").AttrOr("value", ""); len(v) != 36 {
		t.Errorf("key %q", v)
	}
	if v, want := r.Doc.Find("input[name="+checkout.FieldBasket+"]").AttrOr("value", ""), validForm().Get(checkout.FieldBasket); v != want {
		t.Errorf("basket version %q, want %q (the cart's lines)", v, want)
	}
	if v, want := r.Doc.Find("input[name="+checkout.FieldTotal+"]").AttrOr("value", ""), validForm().Get(checkout.FieldTotal); v != want {
		t.Errorf("total %q, want %q (the summary's, in whole Ø)", v, want)
	}
	// No cart: the empty message.
	r = uitest.Do(t, checkoutpage.Handler(fresh, store, fresh, nil), uitest.Request{})
	if r.Doc.Find("[data-testid=checkout-empty]").Length() != 1 {
		t.Errorf("no cart: %s", r.Body)
	}
}

func validForm() url.Values {
	ls, _ := lines(context.Background(), "c1")
	return url.Values{checkout.FieldFirstName: {"Ada"}, checkout.FieldLastName: {"Lovelace"}, checkout.FieldEmail: {"ada@example.com"},
		checkout.FieldCard: {"4242 4242 4242 4242"}, checkout.FieldStore: {"store-a"}, checkout.FieldIdempotencyKey: {"k1"},
		checkout.FieldBasket: {checkout.BasketVersion(ls)}, checkout.FieldTotal: {"11400"}}
}

// staleForm is validForm sent from a checkout page that showed another basket.
func staleForm() url.Values {
	f := validForm()
	f.Set(checkout.FieldBasket, checkout.BasketVersion([]checkout.CartLine{{SKU: "AU-01-SI", Quantity: 1}}))
	return f
}

func TestPlaceOrder(t *testing.T) {
	t.Parallel()
	type saved struct {
		form checkout.CheckoutForm
		errs checkout.FieldErrors
	}
	tests := []struct {
		name      string
		cart      string
		form      url.Values
		place     error
		location  string
		saved     map[string]string // the field errors kept, nil when none
		cleared   bool
		notPlaced bool
	}{
		{name: "placed", cart: "c1", form: validForm(), location: "/checkout/thanks?order=o1", cleared: true},
		{name: "no cart", form: validForm(), location: "/checkout/cart"},
		{name: "invalid", cart: "c1", form: url.Values{checkout.FieldFirstName: {"Ada"}}, location: "/checkout/checkout",
			saved: map[string]string{checkout.FieldLastName: "Last name is required.", checkout.FieldEmail: "E-mail is required.",
				checkout.FieldCard: "Card number is required.", checkout.FieldStore: "Please choose a store.",
				checkout.FieldIdempotencyKey: "The form has expired, please submit it again."}},
		{name: "out of stock", cart: "c1", form: validForm(), place: errs.Wrap(errs.ECONFLICT, checkout.ErrOutOfStock, "Red: out of stock"),
			location: "/checkout/checkout", saved: map[string]string{"_": "Red: out of stock"}},
		{name: "a store checkout does not know", cart: "c1", form: validForm(),
			place:    errs.Wrap(errs.EINVALID, checkout.ErrUnknownStore, "Please choose one of our stores."),
			location: "/checkout/checkout", saved: map[string]string{checkout.FieldStore: "Please choose one of our stores."}},
		{name: "empty", cart: "c1", form: validForm(), place: errs.Wrap(errs.EINVALID, checkout.ErrEmptyCart, "Your basket is empty."),
			location: "/checkout/cart"},
		{name: "the basket changed in another tab", cart: "c1", form: staleForm(), location: "/checkout/checkout",
			saved: map[string]string{"_": checkout.BasketChangedMessage}, notPlaced: true},
		{name: "a price changed since the page showed the total", cart: "c1", form: validForm(),
			place:    errs.Wrap(errs.ECONFLICT, checkout.ErrPriceChanged, checkout.PriceChangedMessage),
			location: "/checkout/checkout", saved: map[string]string{"_": checkout.PriceChangedMessage}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			var kept *saved
			cleared := false
			carts := uitest.Carts{LinesFunc: lines,
				SaveFormFunc: func(_ context.Context, _ string, f checkout.CheckoutForm, fe checkout.FieldErrors) error {
					kept = &saved{f, fe}
					return nil
				},
				ClearFunc: func(context.Context, string) error { cleared = true; return nil }}
			store := uitest.Store{PlaceOrderFunc: func(_ context.Context, p checkout.Placement) (string, bool, error) {
				if tt.notPlaced {
					t.Error("an order was placed")
				}
				if p.CartID != tt.cart || len(p.Lines) != 1 || p.Form.Card != "4242424242424242" || p.ShownTotal == nil || *p.ShownTotal != 11400 {
					t.Errorf("placement %+v", p)
				}
				return "o1", tt.place == nil, tt.place
			}}
			r := uitest.Do(t, checkoutpage.PlaceOrder(carts, store, discard), uitest.Request{Method: "POST",
				Context: fragments.Context{CartID: tt.cart}, Form: tt.form})
			if r.StatusCode != 303 || r.Header.Get("Location") != tt.location {
				t.Fatalf("%d → %s, want %s", r.StatusCode, r.Header.Get("Location"), tt.location)
			}
			if (kept != nil) != (tt.saved != nil) || kept != nil && len(kept.errs) != len(tt.saved) {
				t.Fatalf("kept %+v, want %v", kept, tt.saved)
			}
			for k, v := range tt.saved {
				if kept.errs[k] != v {
					t.Errorf("error %s = %q, want %q", k, kept.errs[k], v)
				}
			}
			if cleared != tt.cleared {
				t.Errorf("cart cleared %v", cleared)
			}
			if tt.notPlaced && kept != nil && kept.form.IdempotencyKey != "" {
				t.Errorf("refused for a changed basket, the form kept its key %q (it may name an order placed before)", kept.form.IdempotencyKey)
			}
		})
	}
}

// TestPageShortOfStock: an order refused because a tractor ran out comes back with why and the way
// out (the basket), and "place order" stays off until the basket changes.
func TestPageShortOfStock(t *testing.T) {
	t.Parallel()
	store := uitest.Store{ItemsFunc: func(ctx context.Context, skus []string) (map[string]checkout.Item, error) {
		items, err := uitest.Items(ctx, skus)
		for sku, it := range items {
			it.Stock = 1 // the basket holds 2
			items[sku] = it
		}
		return items, err
	}}
	var kept *checkout.CheckoutForm
	var keptErrs checkout.FieldErrors
	refused := uitest.Carts{LinesFunc: lines, TakeFormFunc: func(context.Context, string) (checkout.CheckoutForm, checkout.FieldErrors, bool, error) {
		return checkout.CheckoutForm{FirstName: "Ada", StoreID: "store-b", IdempotencyKey: "k1"},
			checkout.FieldErrors{"_": "Heritage Workhorse Verdant Field: only 1 left, fewer than the basket holds"}, true, nil
	}, SaveFormFunc: func(_ context.Context, _ string, f checkout.CheckoutForm, fe checkout.FieldErrors) error {
		kept, keptErrs = &f, fe
		return nil
	}}
	r := uitest.Do(t, checkoutpage.Handler(refused, store, refused, nil), uitest.Request{Context: fragments.Context{CartID: "c1"}})
	if got := uitest.Text(r.Doc, "[data-testid=checkout-error]"); !strings.Contains(got, "only 1 left") {
		t.Errorf("error %q", got)
	}
	if href := r.Doc.Find("[data-testid=checkout-short-cart]").AttrOr("href", ""); href != "/checkout/cart" {
		t.Errorf("no way back to the basket: %s", r.Body)
	}
	if _, disabled := r.Doc.Find("[data-testid=checkout-place-order]").Attr("disabled"); !disabled {
		t.Error("place order is enabled for a basket short of stock")
	}
	if _, short := r.Doc.Find("form[data-checkout-form]").Attr("data-checkout-short"); !short {
		t.Error("the form does not tell its script the basket is short")
	}
	// What was typed waits for the return from the basket, without its errors.
	if kept == nil || kept.FirstName != "Ada" || kept.StoreID != "store-b" || keptErrs != nil {
		t.Errorf("form kept for the return: %+v, errors %v", kept, keptErrs)
	}
}

// TestShownTotal: the total a form showed is what the order is checked against; a form without one
// (rendered before it existed) is not checked, and one that is not a total never matches.
func TestShownTotal(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		form string
		want int64 // -2: none (nil)
	}{{"", -2}, {"11400", 11400}, {"0", 0}, {"-5", -1}, {"57.00", -1}, {"1e3", -1}, {"99999999999999999999", -1}} {
		form := validForm()
		form.Set(checkout.FieldTotal, tt.form)
		var got int64 = -3
		store := uitest.Store{PlaceOrderFunc: func(_ context.Context, p checkout.Placement) (string, bool, error) {
			got = -2
			if p.ShownTotal != nil {
				got = *p.ShownTotal
			}
			return "o1", true, nil
		}}
		uitest.Do(t, checkoutpage.PlaceOrder(uitest.Carts{LinesFunc: lines}, store, discard), uitest.Request{Method: "POST",
			Context: fragments.Context{CartID: "c1"}, Form: form})
		if got != tt.want {
			t.Errorf("total %q: ShownTotal %d, want %d", tt.form, got, tt.want)
		}
	}
}

// TestPlaceOrderRefusedAsJSON: a script asking for JSON gets the refusal as a 4xx error, and the
// form is kept for the page all the same.
func TestPlaceOrderRefusedAsJSON(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		name   string
		form   url.Values
		place  error
		status int
	}{
		{"invalid", url.Values{checkout.FieldFirstName: {"Ada"}}, nil, 400},
		{"unknown store", validForm(), errs.Wrap(errs.EINVALID, checkout.ErrUnknownStore, "Please choose one of our stores."), 400},
		{"out of stock", validForm(), errs.Wrap(errs.ECONFLICT, checkout.ErrOutOfStock, "Red: out of stock"), 409},
		{"basket changed", staleForm(), nil, 409},
		{"price changed", validForm(), errs.Wrap(errs.ECONFLICT, checkout.ErrPriceChanged, checkout.PriceChangedMessage), 409},
	} {
		kept := false
		carts := uitest.Carts{LinesFunc: lines, SaveFormFunc: func(context.Context, string, checkout.CheckoutForm, checkout.FieldErrors) error {
			kept = true
			return nil
		}}
		store := uitest.Store{PlaceOrderFunc: func(context.Context, checkout.Placement) (string, bool, error) { return "", false, tt.place }}
		r := uitest.Do(t, checkoutpage.PlaceOrder(carts, store, discard), uitest.Request{Method: "POST",
			Context: fragments.Context{CartID: "c1"}, Form: tt.form, Header: uitest.JSON})
		if r.StatusCode != tt.status || !kept {
			t.Errorf("%s: %d %s (form kept: %v)", tt.name, r.StatusCode, r.Body, kept)
		}
	}
}

func TestPlaceOrderFailure(t *testing.T) {
	t.Parallel()
	store := uitest.Store{PlaceOrderFunc: func(context.Context, checkout.Placement) (string, bool, error) {
		return "", false, errors.New("database down")
	}}
	r := uitest.Do(t, checkoutpage.PlaceOrder(uitest.Carts{LinesFunc: lines}, store, discard), uitest.Request{Method: "POST",
		Context: fragments.Context{CartID: "c1"}, Form: validForm()})
	if r.StatusCode != 500 {
		t.Errorf("%d %s", r.StatusCode, r.Body)
	}
}

// TestStoreChoiceSaysTheBasketChanged: choosing a store without JavaScript brings the page back with
// the cart as it is now; when that is not the cart the page showed, the page says so.
func TestStoreChoiceSaysTheBasketChanged(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		name string
		form url.Values
		want string
	}{
		{"same basket", validForm(), ""},
		{"changed in another tab", staleForm(), checkout.BasketChangedMessage},
	} {
		var kept checkout.FieldErrors
		carts := uitest.Carts{LinesFunc: lines, SaveFormFunc: func(_ context.Context, _ string, f checkout.CheckoutForm, fe checkout.FieldErrors) error {
			if f.StoreID != "store-c" {
				t.Errorf("%s: store %q kept", tt.name, f.StoreID)
			}
			kept = fe
			return nil
		}}
		store := uitest.Store{PlaceOrderFunc: func(context.Context, checkout.Placement) (string, bool, error) {
			t.Errorf("%s: an order was placed", tt.name)
			return "", false, nil
		}}
		tt.form.Set(checkout.FieldStoreChoice, "store-c")
		r := uitest.Do(t, checkoutpage.PlaceOrder(carts, store, discard), uitest.Request{Method: "POST",
			Context: fragments.Context{CartID: "c1"}, Form: tt.form})
		if r.StatusCode != 303 || r.Header.Get("Location") != "/checkout/checkout" || kept["_"] != tt.want {
			t.Errorf("%s: %d → %s, general error %q, want %q", tt.name, r.StatusCode, r.Header.Get("Location"), kept["_"], tt.want)
		}
	}
}

// TestStoreChoiceOfAnUnknownStore: a well-formed store id that is no store of ours (a tampered form,
// a store closed since) is not kept: the page asks for a store again, and says why.
func TestStoreChoiceOfAnUnknownStore(t *testing.T) {
	t.Parallel()
	var kept checkout.CheckoutForm
	var keptErrors checkout.FieldErrors
	carts := uitest.Carts{LinesFunc: lines, SaveFormFunc: func(_ context.Context, _ string, f checkout.CheckoutForm, fe checkout.FieldErrors) error {
		kept, keptErrors = f, fe
		return nil
	}}
	var asked string
	store := uitest.Store{KnownStoreFunc: func(_ context.Context, id string) (bool, error) { asked = id; return false, nil }}
	form := validForm()
	form.Set(checkout.FieldStoreChoice, "store-zz")
	r := uitest.Do(t, checkoutpage.PlaceOrder(carts, store, discard), uitest.Request{Method: "POST",
		Context: fragments.Context{CartID: "c1"}, Form: form})
	if r.StatusCode != 303 || asked != "store-zz" || kept.StoreID != "" || keptErrors[checkout.FieldStore] == "" {
		t.Errorf("%d, asked %q, kept store %q, errors %v: want the store refused and not kept", r.StatusCode, asked, kept.StoreID, keptErrors)
	}
}

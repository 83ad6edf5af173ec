package main_test

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/PuerkitoBio/goquery"
	"github.com/jackc/pgx/v5"

	"github.com/inlay-dev/inlay/services/checkout"
	"github.com/inlay-dev/inlay/services/checkout/events"
	"github.com/inlay-dev/inlay/services/checkout/internal/checkouttest"
	kitevents "github.com/inlay-dev/inlay/services/kit/events"
)

func miniCartCount(t *testing.T, r response) string {
	t.Helper()
	if r.StatusCode != 200 {
		t.Fatalf("mini cart: %d %s", r.StatusCode, r.body)
	}
	return r.doc.Find("[data-testid=mini-cart]").AttrOr("data-quantity", "")
}

func cartLines(r response) map[string]string {
	out := map[string]string{}
	r.doc.Find("[data-testid=cart-line]").Each(func(_ int, s *goquery.Selection) {
		out[s.AttrOr("data-sku", "")] = s.Find("[data-testid=cart-line-quantity]").AttrOr("value", "")
	})
	return out
}

// TestGuestCartMergesAtSignIn: the first request whose context carries a customer and a guest cart
// merges the guest lines into the customer's saved ones (quantities add, capped as adding is), once;
// the guest cart is gone, so after sign-out the visitor starts with an empty cart; the guest cart
// cookie is cleared at the next interaction.
func TestGuestCartMergesAtSignIn(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	const customer = "0b5c1d2e-3f40-4a51-8b62-7c8d9eaf0b1c"
	// Saved lines: added while signed in (earlier, on another device).
	e.doAs(customer, "POST", "/ui/cart/add", "", addForm(checkouttest.SKUGrey), nil)
	// Guest lines.
	for _, sku := range []string{checkouttest.SKUGrey, checkouttest.SKUGrey, checkouttest.SKURed} {
		if r := e.do("POST", "/ui/cart/add", "guest-1", addForm(sku), nil); r.StatusCode != 303 {
			t.Fatalf("guest add: %d %s", r.StatusCode, r.body)
		}
	}
	// The first page after sign-in: every fragment sees every line.
	if got := miniCartCount(t, e.doAs(customer, "GET", "/fragments/mini-cart", "guest-1", nil, nil)); got != "4" {
		t.Fatalf("mini cart after sign-in: %q, want 4", got)
	}
	lines := cartLines(e.doAs(customer, "GET", "/fragments/cart", "guest-1", nil, nil))
	if lines[checkouttest.SKUGrey] != "3" || lines[checkouttest.SKURed] != "1" || len(lines) != 2 {
		t.Fatalf("merged cart %v, want grey 3, red 1", lines)
	}
	// Once: asking again adds nothing.
	if got := miniCartCount(t, e.doAs(customer, "GET", "/fragments/mini-cart", "guest-1", nil, nil)); got != "4" {
		t.Errorf("mini cart on the next page: %q, want 4", got)
	}
	// The next interaction clears the guest cart cookie and works on the customer's cart.
	r := e.doAs(customer, "POST", "/ui/cart/remove", "guest-1", addForm(checkouttest.SKURed), nil)
	var cleared bool
	for _, c := range r.Cookies() {
		cleared = cleared || c.Name == checkout.CartCookie && c.Value == ""
	}
	if !cleared {
		t.Errorf("guest cart cookie not cleared: %v", r.Header.Values("Set-Cookie"))
	}
	// Signed out, with the old cookie or without one: an empty guest cart.
	if got := miniCartCount(t, e.do("GET", "/fragments/mini-cart", "guest-1", nil, nil)); got != "0" {
		t.Errorf("guest cart after sign-out: %q, want 0", got)
	}
	// Signed in again elsewhere: the customer's cart is still there.
	if got := miniCartCount(t, e.doAs(customer, "GET", "/fragments/mini-cart", "", nil, nil)); got != "3" {
		t.Errorf("customer's cart on another device: %q, want 3", got)
	}
}

// TestMergeCapsLikeAdding: merged quantities stop where adding would (here the stock: grey 5, red 1).
func TestMergeCapsLikeAdding(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	const customer = "1b5c1d2e-3f40-4a51-8b62-7c8d9eaf0b1c"
	for _, sku := range []string{checkouttest.SKUGrey, checkouttest.SKUGrey, checkouttest.SKUGrey, checkouttest.SKUGrey, checkouttest.SKURed} {
		e.doAs(customer, "POST", "/ui/cart/add", "", addForm(sku), nil)
	}
	for _, sku := range []string{checkouttest.SKUGrey, checkouttest.SKUGrey, checkouttest.SKUGrey, checkouttest.SKURed} {
		e.do("POST", "/ui/cart/add", "guest-2", addForm(sku), nil)
	}
	lines := cartLines(e.doAs(customer, "GET", "/fragments/cart", "guest-2", nil, nil))
	if lines[checkouttest.SKUGrey] != "5" || lines[checkouttest.SKURed] != "1" {
		t.Errorf("merged quantities %v, want grey 5 and red 1 (the stock)", lines)
	}
}

// TestCheckoutPrefilledFromAccountsEvents: a signed-in customer's checkout form is filled from
// checkout's own copy of the account, written by accounts' example events.
func TestCheckoutPrefilledFromAccountsEvents(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	b, err := os.ReadFile(filepath.Join("..", "..", "..", "accounts", "events", "testdata", "address_changed.json"))
	if err != nil {
		t.Fatal(err)
	}
	ev, err := kitevents.Decode(b)
	if err != nil {
		t.Fatal(err)
	}
	if err := pgx.BeginFunc(context.Background(), e.pool, func(tx pgx.Tx) error {
		return events.NewAccountHandlers(e.store).AddressChanged(context.Background(), tx, ev)
	}); err != nil {
		t.Fatal(err)
	}
	e.doAs(ev.Subject, "POST", "/ui/cart/add", "", addForm(checkouttest.SKUGrey), nil)
	r := e.doAs(ev.Subject, "GET", "/fragments/checkout", "", nil, nil)
	for name, want := range map[string]string{checkout.FieldFirstName: "Ada", checkout.FieldLastName: "Lovelace", checkout.FieldEmail: "ada@example.com"} {
		if got := r.doc.Find("input[name="+name+"]").AttrOr("value", ""); got != want {
			t.Errorf("%s prefilled %q, want %q", name, got, want)
		}
	}
	if got := text(r.doc, "[data-testid=checkout-address]"); !strings.Contains(got, "Ada Street 1, NW1 6XE London, United Kingdom") {
		t.Errorf("address %q", got)
	}
	// A guest's form is empty.
	e.do("POST", "/ui/cart/add", "g", addForm(checkouttest.SKUGrey), nil)
	if got := e.do("GET", "/fragments/checkout", "g", nil, nil).doc.Find("input[name=email]").AttrOr("value", ""); got != "" {
		t.Errorf("guest's e-mail prefilled %q", got)
	}
}

// TestOrderHistoryNewestFirst: the customer's orders, newest first, each with its id.
func TestOrderHistoryNewestFirst(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	const customer = "2b5c1d2e-3f40-4a51-8b62-7c8d9eaf0b1c"
	var ids []string
	for _, key := range []string{"k1", "k2"} {
		e.doAs(customer, "POST", "/ui/cart/add", "", addForm(checkouttest.SKUGrey), nil)
		r := e.doAs(customer, "POST", "/ui/place-order", "", checkoutForm(key), nil)
		ids = append(ids, strings.TrimPrefix(r.Header.Get("Location"), "/checkout/thanks?order="))
	}
	var got []string
	e.doAs(customer, "GET", "/fragments/order-history", "", nil, nil).doc.Find("[data-testid=order-history-order]").Each(func(_ int, s *goquery.Selection) {
		got = append(got, s.AttrOr("data-order-id", ""))
	})
	if len(got) != 2 || got[0] != ids[1] || got[1] != ids[0] {
		t.Errorf("history %v, want newest first %v", got, []string{ids[1], ids[0]})
	}
}

// TestPlantedCustomerCartID: a guest whose cart cookie names a customer's cart (a value the shell
// signs whatever the browser sent) sees none of its lines and changes nothing in it.
func TestPlantedCustomerCartID(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	const customer = "0b5c1d2e-3f40-4a51-8b62-7c8d9eaf0b1c"
	e.doAs(customer, "POST", "/ui/cart/add", "", addForm(checkouttest.SKUGrey), nil)
	planted := checkout.CustomerCartID(customer)
	if got := miniCartCount(t, e.do("GET", "/fragments/mini-cart", planted, nil, nil)); got != "0" {
		t.Fatalf("a guest with the customer's cart id sees %q units", got)
	}
	if r := e.do("POST", "/ui/cart/remove", planted, addForm(checkouttest.SKUGrey), nil); r.StatusCode != 303 {
		t.Fatalf("remove: %d", r.StatusCode)
	}
	// Signed in, the planted id is no guest cart to merge either.
	if got := miniCartCount(t, e.doAs("another-customer", "GET", "/fragments/mini-cart", planted, nil, nil)); got != "0" {
		t.Errorf("another customer merged the planted cart: %q", got)
	}
	if got := miniCartCount(t, e.doAs(customer, "GET", "/fragments/mini-cart", "", nil, nil)); got != "1" {
		t.Errorf("the customer's cart holds %q units, want 1", got)
	}
}

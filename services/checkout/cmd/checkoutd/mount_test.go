// The tests of this file mount checkout's fragments and /ui endpoints as checkoutd wires them, on the
// real PostgreSQL and Redis stores: adapters are put together only here, in cmd; the ui packages'
// own tests use function-field fakes.
package main_test

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/PuerkitoBio/goquery"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/inlay-dev/inlay/fragments"
	"github.com/inlay-dev/inlay/fragments/fragmenttest"
	"github.com/inlay-dev/inlay/services/checkout"
	"github.com/inlay-dev/inlay/services/checkout/events"
	"github.com/inlay-dev/inlay/services/checkout/internal/checkouttest"
	"github.com/inlay-dev/inlay/services/checkout/postgres"
	"github.com/inlay-dev/inlay/services/checkout/redis"
	"github.com/inlay-dev/inlay/services/checkout/static"
	"github.com/inlay-dev/inlay/services/checkout/ui"
	"github.com/inlay-dev/inlay/services/checkout/ui/addtocart"
	"github.com/inlay-dev/inlay/services/checkout/ui/order"
	"github.com/inlay-dev/inlay/services/kit/server"
)

const csrf = "csrf-token-of-the-test"

// The stores checkoutd wires implement the interfaces the ui and events packages declare.
var (
	_ ui.Carts            = (*redis.Carts)(nil)
	_ ui.Store            = (*postgres.Store)(nil)
	_ events.CopyWriter   = (*postgres.Store)(nil)
	_ events.StoreWriter  = (*postgres.Store)(nil)
	_ events.OrderUpdater = (*postgres.Store)(nil)
)

type env struct {
	t      *testing.T
	srv    *server.Server
	signer *fragments.Signer
	store  *postgres.Store
	pool   *pgxpool.Pool
}

func newEnv(t *testing.T) *env {
	t.Helper()
	pub, priv, err := fragments.GenerateKey()
	if err != nil {
		t.Fatal(err)
	}
	store, pool := checkouttest.Store(t)
	assets, err := static.New(fragments.AssetURL(ui.Context, ""))
	if err != nil {
		t.Fatal(err)
	}
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	srv := server.New(server.Options{Name: "checkout", Log: log})
	if _, err := ui.Mount(srv.App, ui.Options{Carts: checkouttest.Carts(t), Store: store, Assets: assets,
		Verifier: fragments.NewVerifier(pub, false), Log: log}); err != nil {
		t.Fatal(err)
	}
	return &env{t: t, srv: srv, signer: fragments.NewSigner(priv), store: store, pool: pool}
}

type response struct {
	*http.Response
	body string
	doc  *goquery.Document
}

// do sends a request with a context naming cart (none when ""); form, when not nil, is posted.
func (e *env) do(method, target, cart string, form url.Values, header http.Header) response {
	e.t.Helper()
	return e.doAs("", method, target, cart, form, header)
}

// doAs is do for a signed-in customer.
func (e *env) doAs(customer, method, target, cart string, form url.Values, header http.Header) response {
	e.t.Helper()
	var body io.Reader
	if form != nil {
		body = strings.NewReader(form.Encode())
	}
	req := httptest.NewRequest(method, target, body)
	if form != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	h, err := e.signer.Sign(fragments.Context{CustomerID: customer, CartID: cart, CSRF: csrf, Expires: time.Now().Add(time.Minute)})
	if err != nil {
		e.t.Fatal(err)
	}
	req.Header.Set(fragments.ContextHeader, h)
	for k, v := range header {
		req.Header[k] = v
	}
	res, err := e.srv.App.Test(req, -1)
	if err != nil {
		e.t.Fatalf("%s %s: %v", method, target, err)
	}
	b, err := io.ReadAll(res.Body)
	if err != nil {
		e.t.Fatal(err)
	}
	doc, _ := goquery.NewDocumentFromReader(strings.NewReader(string(b)))
	return response{res, string(b), doc}
}

func addForm(sku string) url.Values { return url.Values{"sku": {sku}, fragments.CSRFField: {csrf}} }

var asJSON = http.Header{"Accept": {"application/json"}, fragments.CSRFHeader: {csrf}}

func text(d *goquery.Document, sel string) string {
	return strings.Join(strings.Fields(d.Find(sel).Text()), " ")
}

func TestAddToCartFragment(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	r := e.do("GET", "/fragments/add-to-cart?sku="+checkouttest.SKUGrey, "", nil, nil)
	if r.StatusCode != 200 {
		t.Fatalf("status %d: %s", r.StatusCode, r.body)
	}
	if got := text(r.doc, "[data-testid=add-to-cart-price]"); got != "5700 Ø" {
		t.Errorf("price %q", got)
	}
	if got := text(r.doc, "[data-testid=add-to-cart-stock]"); got != "5 in stock, free shipping" {
		t.Errorf("stock %q", got)
	}
	b := r.doc.Find("[data-testid=add-to-cart-button]")
	if got := strings.TrimSpace(b.Text()); got != "add to basket" || b.AttrOr("disabled", "no") != "no" {
		t.Errorf("button %q disabled=%v", got, b.AttrOr("disabled", "no"))
	}
	f := r.doc.Find("form[data-checkout-add-to-cart]")
	if f.AttrOr("action", "") != "/checkout/cart/add" || f.AttrOr("method", "") != "post" ||
		f.Find("input[name=csrf]").AttrOr("value", "") != fragments.CSRFPlaceholder || f.Find("input[name=sku]").AttrOr("value", "") != checkouttest.SKUGrey {
		t.Errorf("form: %s", r.body)
	}
	if got := text(r.doc, "[data-testid=add-to-cart-added]"); got != "Tractor was added. View in basket." {
		t.Errorf("confirmation %q", got)
	}
	// One shared copy per variant: the shell fills each visitor's token in the placeholder.
	if cc := r.Header.Get("Cache-Control"); !strings.HasPrefix(cc, "public, ") {
		t.Errorf("Cache-Control %q", cc)
	}

	r = e.do("GET", "/fragments/add-to-cart?sku="+checkouttest.SKUMatte, "", nil, nil)
	if got := text(r.doc, "[data-testid=add-to-cart-stock]"); got != "out of stock" {
		t.Errorf("stock %q", got)
	}
	if _, disabled := r.doc.Find("[data-testid=add-to-cart-button]").Attr("disabled"); !disabled {
		t.Error("button of an out-of-stock variant not disabled")
	}
	for _, sku := range []string{"NOPE", "", "<x>"} {
		if r := e.do("GET", "/fragments/add-to-cart?sku="+url.QueryEscape(sku), "", nil, nil); r.StatusCode != 404 {
			t.Errorf("sku %q: status %d", sku, r.StatusCode)
		}
	}
}

func TestAddWithoutJavaScript(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	r := e.do("POST", "/ui/cart/add", "", addForm(checkouttest.SKUGrey), nil)
	if r.StatusCode != http.StatusSeeOther || r.Header.Get("Location") != "/checkout/cart" {
		t.Fatalf("status %d location %q: %s", r.StatusCode, r.Header.Get("Location"), r.body)
	}
	var cart *http.Cookie
	for _, c := range r.Cookies() {
		if c.Name == checkout.CartCookie {
			cart = c
		}
	}
	if cart == nil || cart.Value == "" || !cart.HttpOnly || cart.SameSite != http.SameSiteLaxMode || cart.Path != "/" ||
		cart.MaxAge != 30*24*3600 {
		t.Fatalf("cookie %+v", cart)
	}
	// The shell now names the cart in the context: the same sku again increments.
	e.do("POST", "/ui/cart/add", cart.Value, addForm(checkouttest.SKUGrey), nil)
	e.do("POST", "/ui/cart/add", cart.Value, addForm(checkouttest.SKURed), nil)
	r = e.do("GET", "/fragments/mini-cart", cart.Value, nil, nil)
	if got := text(r.doc, "[data-testid=mini-cart-count]"); got != "3" {
		t.Fatalf("mini cart %q: %s", got, r.body)
	}
	if r.doc.Find("a[data-testid=mini-cart]").AttrOr("href", "") != "/checkout/cart" {
		t.Errorf("mini cart does not link to the cart: %s", r.body)
	}
	if len(r.Cookies()) != 0 {
		t.Error("a fragment set a cookie")
	}
	tests := []struct{ sku, location string }{
		{"NOPE", "/checkout/cart?error=unknown"},
		{checkouttest.SKUMatte, "/checkout/cart?error=out-of-stock"},
		{checkouttest.SKURed, "/checkout/cart?error=line-limit"}, // 1 in stock, 1 in the cart
		{"", "/checkout/cart?error=invalid"},
	}
	for _, tt := range tests {
		r := e.do("POST", "/ui/cart/add", cart.Value, addForm(tt.sku), nil)
		if r.StatusCode != http.StatusSeeOther || r.Header.Get("Location") != tt.location {
			t.Errorf("%q: %d %q", tt.sku, r.StatusCode, r.Header.Get("Location"))
		}
	}
	r = e.do("GET", "/fragments/cart?error=out-of-stock", cart.Value, nil, nil)
	if got := text(r.doc, "[data-testid=cart-error]"); got != "Sorry, this tractor is out of stock." {
		t.Errorf("cart error %q", got)
	}
}

// A visitor's first adds at once (two tabs, a double click) land in one cart: each answer names the
// same cart, and the cart holds both lines.
func TestFirstAddsAtOnceShareOneCart(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	skus := []string{checkouttest.SKUGrey, checkouttest.SKURed}
	carts := make([]string, len(skus))
	var wg sync.WaitGroup
	for i, sku := range skus {
		wg.Go(func() {
			r := e.do("POST", "/ui/cart/add", "", addForm(sku), asJSON)
			for _, c := range r.Cookies() {
				if c.Name == checkout.CartCookie {
					carts[i] = c.Value
				}
			}
		})
	}
	wg.Wait()
	if carts[0] == "" || carts[0] != carts[1] {
		t.Fatalf("first adds at once set carts %q", carts)
	}
	r := e.do("GET", "/fragments/mini-cart", carts[0], nil, nil)
	if got := text(r.doc, "[data-testid=mini-cart-count]"); got != "2" {
		t.Fatalf("mini cart %q, want 2: %s", got, r.body)
	}
}

func TestAddWithJavaScript(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	r := e.do("POST", "/ui/cart/add", "cart-js", addForm(checkouttest.SKURed), asJSON)
	var res addtocart.AddResult
	if err := json.Unmarshal([]byte(r.body), &res); err != nil || r.StatusCode != 200 {
		t.Fatalf("%d %s", r.StatusCode, r.body)
	}
	if res.Quantity != 1 || res.CartQuantity != 1 || res.Message != "Tractor was added." || res.SKU != checkouttest.SKURed {
		t.Errorf("result %+v", res)
	}
	tests := []struct {
		sku    string
		status int
		msg    string
	}{
		{checkouttest.SKURed, 409, "all we have in stock"},
		{checkouttest.SKUMatte, 409, "out of stock"},
		{"NOPE", 404, "does not exist"},
	}
	for _, tt := range tests {
		r := e.do("POST", "/ui/cart/add", "cart-js", addForm(tt.sku), asJSON)
		var body struct {
			Error struct{ Message string } `json:"error"`
		}
		if err := json.Unmarshal([]byte(r.body), &body); err != nil {
			t.Fatalf("%s: %v: %s", tt.sku, err, r.body)
		}
		if r.StatusCode != tt.status || !strings.Contains(body.Error.Message, tt.msg) {
			t.Errorf("%s: %d %s", tt.sku, r.StatusCode, r.body)
		}
	}
}

func TestCSRF(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	for _, path := range []string{"/ui/cart/add", "/ui/cart/remove", "/ui/place-order"} {
		form := url.Values{"sku": {checkouttest.SKUGrey}, fragments.CSRFField: {"wrong"}}
		if r := e.do("POST", path, "c", form, nil); r.StatusCode != http.StatusForbidden {
			t.Errorf("%s with a wrong token: %d", path, r.StatusCode)
		}
	}
}

func TestMiniCartEmpty(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	for _, path := range []string{"/fragments/mini-cart", "/ui/mini-cart"} {
		r := e.do("GET", path, "", nil, nil)
		// An empty cart still links to the cart page, shows no number and is not hidden.
		m := r.doc.Find("a[data-testid=mini-cart]")
		if r.StatusCode != 200 || m.Length() != 1 || m.AttrOr("href", "") != "/checkout/cart" {
			t.Errorf("%s: %d, want a link to /checkout/cart: %s", path, r.StatusCode, r.body)
		}
		if _, hidden := m.Attr("hidden"); hidden || m.AttrOr("data-quantity", "") != "0" || m.Find("[data-testid=mini-cart-count]").Length() != 0 {
			t.Errorf("%s: an empty Mini Cart is hidden or shows a number: %s", path, r.body)
		}
		if got := m.AttrOr("aria-label", ""); got != "Basket, empty" {
			t.Errorf("%s: accessible name %q", path, got)
		}
	}
}

func TestCartPageAndRemove(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	r := e.do("GET", "/fragments/cart", "c1", nil, nil)
	if r.doc.Find("[data-testid=cart-empty]").Length() != 1 {
		t.Fatalf("empty cart: %s", r.body)
	}
	e.do("POST", "/ui/cart/add", "c1", addForm(checkouttest.SKUGrey), nil)
	e.do("POST", "/ui/cart/add", "c1", addForm(checkouttest.SKUGrey), nil)
	e.do("POST", "/ui/cart/add", "c1", addForm(checkouttest.SKURed), nil)
	r = e.do("GET", "/fragments/cart", "c1", nil, nil)
	lines := r.doc.Find("[data-testid=cart-line]")
	if lines.Length() != 2 {
		t.Fatalf("%d lines: %s", lines.Length(), r.body)
	}
	first := lines.First()
	if first.Find("a[data-testid=cart-line-name]").AttrOr("href", "") != "/product/CL-01?sku=CL-01-GY" ||
		first.Find("[data-testid=cart-line-quantity]").AttrOr("value", "") != "2" ||
		text(r.doc, "[data-testid=cart-line]:first-child [data-testid=cart-line-total]") != "11400 Ø" {
		t.Errorf("first line: %s", r.body)
	}
	// One link per line, image and name together: an image link of its own would have no name.
	if links := first.Find("a"); links.Length() != 1 || strings.TrimSpace(links.Text()) == "" {
		t.Errorf("first line: %d links, name %q", links.Length(), links.Text())
	}
	if got := text(r.doc, "[data-testid=cart-total-price]"); got != "17600 Ø" {
		t.Errorf("total %q", got)
	}
	if r.doc.Find("[data-testid=cart-checkout]").AttrOr("href", "") != "/checkout/checkout" ||
		r.doc.Find("[data-testid=cart-continue]").AttrOr("href", "") != "/" {
		t.Errorf("actions: %s", r.body)
	}
	if src := r.doc.Find("inlay-fragment").AttrOr("src", ""); src != "inspire/recommendations?skus=CL-01-GY%2CCL-01-RD" {
		t.Errorf("recommendations src %q", src)
	}
	rm := e.do("POST", "/ui/cart/remove", "c1", addForm(checkouttest.SKUGrey), nil)
	if rm.StatusCode != http.StatusSeeOther || rm.Header.Get("Location") != "/checkout/cart" {
		t.Fatalf("remove: %d %q", rm.StatusCode, rm.Header.Get("Location"))
	}
	// Removing it again is harmless.
	if rm := e.do("POST", "/ui/cart/remove", "c1", addForm(checkouttest.SKUGrey), nil); rm.StatusCode != http.StatusSeeOther {
		t.Fatalf("second remove: %d", rm.StatusCode)
	}
	r = e.do("GET", "/fragments/cart", "c1", nil, nil)
	if r.doc.Find("[data-testid=cart-line]").Length() != 1 {
		t.Fatalf("after remove: %s", r.body)
	}
}

func checkoutForm(key string) url.Values {
	return url.Values{"first_name": {"Ada"}, "last_name": {"Lovelace"}, "email": {"ada@example.com"},
		"card": {"4242 4242 4242 4242"}, "store": {"store-b"}, "idempotency_key": {key}, fragments.CSRFField: {csrf}}
}

// Two tabs' checkout forms (two keys) posted at once make one order of one basket, and every tab
// lands on that order's thank-you page: the others wait for the one placing it, then find the basket
// empty and the order just placed.
func TestTwoTabsPlaceOneOrder(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.do("POST", "/ui/cart/add", "tabs", addForm(checkouttest.SKUGrey), nil)
	keys := make([]string, 6)
	var shown string
	for i := range keys {
		doc := e.do("GET", "/fragments/checkout", "tabs", nil, nil).doc
		keys[i], shown = doc.Find("input[name=idempotency_key]").AttrOr("value", ""), doc.Find("input[name=basket]").AttrOr("value", "")
	}
	if shown == "" {
		t.Fatal("the checkout form shows no basket version")
	}
	locations := make([]string, len(keys))
	var wg sync.WaitGroup
	for i, key := range keys {
		wg.Go(func() {
			locations[i] = e.do("POST", "/ui/place-order", "tabs", checkoutForm(key), nil).Header.Get("Location")
		})
	}
	wg.Wait()
	var orders int
	var id string
	if err := e.pool.QueryRow(context.Background(), `SELECT count(*), max(id::text) FROM orders WHERE cart_id = 'tabs'`).Scan(&orders, &id); err != nil {
		t.Fatal(err)
	}
	if orders != 1 {
		t.Fatalf("%d orders of one basket (%v)", orders, locations)
	}
	for _, l := range locations {
		if l != "/checkout/thanks?order="+id {
			t.Errorf("a tab went to %q, want the order's thank-you page (%v)", l, locations)
		}
	}
	// A form that showed this basket goes to its order; one that showed another basket (a customer's
	// order from another device emptied this one) goes to the cart.
	for _, tt := range []struct{ basket, want string }{
		{shown, "/checkout/thanks?order=" + id},
		{"another-basket", "/checkout/cart"},
	} {
		form := checkoutForm("key-" + tt.basket)
		form.Set("basket", tt.basket)
		if l := e.do("POST", "/ui/place-order", "tabs", form, nil).Header.Get("Location"); l != tt.want {
			t.Errorf("a form that showed basket %q went to %q, want %q", tt.basket, l, tt.want)
		}
	}
	// Much later, an empty basket's checkout form goes to the cart: only a recent order is shown.
	if _, err := e.pool.Exec(context.Background(), `UPDATE orders SET created_at = created_at - interval '1 hour' WHERE cart_id = 'tabs'`); err != nil {
		t.Fatal(err)
	}
	if l := e.do("POST", "/ui/place-order", "tabs", checkoutForm("late-key"), nil).Header.Get("Location"); l != "/checkout/cart" {
		t.Errorf("an empty basket long after its order went to %q, want the cart", l)
	}
}

func TestCheckoutAndPlaceOrder(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.do("POST", "/ui/cart/add", "c1", addForm(checkouttest.SKUGrey), nil)

	r := e.do("GET", "/fragments/checkout", "c1", nil, nil)
	key := r.doc.Find("input[name=idempotency_key]").AttrOr("value", "")
	if key == "" || r.doc.Find("form[data-checkout-form]").AttrOr("action", "") != "/checkout/place-order" {
		t.Fatalf("checkout form: %s", r.body)
	}
	if _, ro := r.doc.Find("input[name=store]").Attr("readonly"); !ro {
		t.Error("store id is not read-only")
	}
	if src := r.doc.Find("inlay-fragment").AttrOr("src", ""); src != "explore/store-picker" {
		t.Errorf("store picker src %q", src)
	}
	if got := strings.TrimSpace(r.doc.Find("[data-testid=checkout-place-order]").Text()); got != "place order" {
		t.Errorf("button %q", got)
	}
	// Enter in a field clicks the form's first submit button: it must place the order (the Store
	// Picker's "select" buttons, submit buttons too, come later in the form).
	if first := r.doc.Find("form[data-checkout-form] button[type=submit]").First(); first.AttrOr("name", "") != "" ||
		strings.TrimSpace(first.Text()) != "place order" {
		t.Errorf("default button %q named %q", first.Text(), first.AttrOr("name", ""))
	}
	// The store is chosen before the card number is typed: the card never survives a round trip.
	if store, card := strings.Index(r.body, `name="store"`), strings.Index(r.body, `name="card"`); store < 0 || card < store {
		t.Error("the card number comes before the store")
	}

	// Server-side validation: the form comes back with the errors and the values (not the card).
	bad := checkoutForm(key)
	bad.Set("card", "4242 4242 4242 4241")
	bad.Set("last_name", "")
	r = e.do("POST", "/ui/place-order", "c1", bad, nil)
	if r.StatusCode != http.StatusSeeOther || r.Header.Get("Location") != "/checkout/checkout" {
		t.Fatalf("invalid form: %d %q", r.StatusCode, r.Header.Get("Location"))
	}
	r = e.do("GET", "/fragments/checkout", "c1", nil, nil)
	if text(r.doc, "[data-testid=checkout-card-error]") != "Card number is not valid." ||
		text(r.doc, "[data-testid=checkout-last_name-error]") != "Last name is required." ||
		r.doc.Find("input[name=first_name]").AttrOr("value", "") != "Ada" ||
		r.doc.Find("input[name=card]").AttrOr("value", "") != "" ||
		r.doc.Find("input[name=idempotency_key]").AttrOr("value", "") != key {
		t.Fatalf("form re-shown: %s", r.body)
	}
	if src := r.doc.Find("inlay-fragment").AttrOr("src", ""); src != "explore/store-picker?selected=store-b" {
		t.Errorf("store picker src %q", src)
	}

	// Placing the same form twice (a double click, a retry) makes one order.
	var location string
	for i := range 2 {
		r = e.do("POST", "/ui/place-order", "c1", checkoutForm(key), nil)
		if r.StatusCode != http.StatusSeeOther || !strings.HasPrefix(r.Header.Get("Location"), "/checkout/thanks?order=") {
			t.Fatalf("place %d: %d %q %s", i, r.StatusCode, r.Header.Get("Location"), r.body)
		}
		if i == 1 && r.Header.Get("Location") != location {
			t.Fatalf("second post went to %q, first to %q", r.Header.Get("Location"), location)
		}
		location = r.Header.Get("Location")
	}
	id := strings.TrimPrefix(location, "/checkout/thanks?order=")
	o, err := e.store.Order(context.Background(), id)
	if err != nil || o.Status != checkout.Pending || o.StoreID != "store-b" || o.Total != 5700 {
		t.Fatalf("order %+v, %v", o, err)
	}
	// The cart is empty now.
	if r := e.do("GET", "/fragments/mini-cart", "c1", nil, nil); r.doc.Find("[data-testid=mini-cart-count]").Length() != 0 {
		t.Errorf("mini cart after the order: %s", r.body)
	}

	// Thank-you content and status, for this cart only.
	r = e.do("GET", "/fragments/thanks?order="+id, "c1", nil, nil)
	if r.StatusCode != 200 || text(r.doc, "h1") != "Thanks for your order!" || r.doc.Find("[data-testid=thanks-confetti]").Length() != 1 ||
		r.doc.Find("[data-testid=thanks-status]").AttrOr("data-status", "") != "pending" ||
		r.doc.Find("[data-testid=thanks-status]").AttrOr("data-checkout-status-url", "") != "/checkout/orders/"+id+"/status" {
		t.Fatalf("thanks: %d %s", r.StatusCode, r.body)
	}
	r = e.do("GET", "/ui/orders/"+id+"/status", "c1", nil, http.Header{"Accept": {"application/json"}})
	var st order.Status
	if err := json.Unmarshal([]byte(r.body), &st); err != nil || st.Status != checkout.Pending || st.Final || st.OrderID != id {
		t.Fatalf("status %d %s", r.StatusCode, r.body)
	}
	r = e.do("GET", "/fragments/order?order="+id, "c1", nil, nil)
	if r.StatusCode != 200 || r.doc.Find("[data-testid=thanks-status]").AttrOr("data-status", "") != "pending" ||
		r.doc.Find("[data-testid=thanks-confetti]").Length() != 0 {
		t.Fatalf("order: %d %s", r.StatusCode, r.body)
	}
	for _, path := range []string{"/fragments/thanks?order=" + id, "/fragments/order?order=" + id, "/ui/orders/" + id + "/status", "/fragments/thanks?order=nope"} {
		r := e.do("GET", path, "someone-else", nil, nil)
		if r.StatusCode != 404 {
			t.Errorf("%s for another cart: %d", path, r.StatusCode)
		}
		// The not-found content is the page's: it carries the page's one heading.
		if !strings.HasPrefix(path, "/ui/") && text(r.doc, "h1") != "Order not found" {
			t.Errorf("%s for another cart: heading %q", path, text(r.doc, "h1"))
		}
	}
	// Without a cart there is nothing to order.
	if r := e.do("POST", "/ui/place-order", "", checkoutForm("k2"), nil); r.Header.Get("Location") != "/checkout/cart" {
		t.Errorf("no cart: %d %q", r.StatusCode, r.Header.Get("Location"))
	}
}

// TestChooseStoreWithoutJavaScript posts the checkout form as a Store Picker "select" button does
// without JavaScript: no order, and the checkout page comes back with the store chosen and the other
// fields kept (but the card number, which never rests in Redis), without errors.
func TestChooseStoreWithoutJavaScript(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.do("POST", "/ui/cart/add", "c1", addForm(checkouttest.SKUGrey), nil)
	key := e.do("GET", "/fragments/checkout", "c1", nil, nil).doc.Find("input[name=idempotency_key]").AttrOr("value", "")

	form := checkoutForm(key)
	form.Set("store", "")
	form.Set("last_name", "") // not an error yet: the shopper is still filling the form
	form.Set(checkout.FieldStoreChoice, "store-b")
	r := e.do("POST", "/ui/place-order", "c1", form, nil)
	if r.StatusCode != http.StatusSeeOther || r.Header.Get("Location") != "/checkout/checkout" {
		t.Fatalf("choose a store: %d %q, want 303 to /checkout/checkout", r.StatusCode, r.Header.Get("Location"))
	}
	var orders int
	if err := e.pool.QueryRow(context.Background(), "SELECT count(*) FROM orders").Scan(&orders); err != nil || orders != 0 {
		t.Fatalf("%d orders (%v) after choosing a store", orders, err)
	}
	r = e.do("GET", "/fragments/checkout", "c1", nil, nil)
	for name, want := range map[string]string{"store": "store-b", "first_name": "Ada", "email": "ada@example.com",
		"card": "", "idempotency_key": key} {
		if got := r.doc.Find("input[name="+name+"]").AttrOr("value", ""); got != want {
			t.Errorf("%s = %q, want %q", name, got, want)
		}
	}
	if n := r.doc.Find(".co-field__error, [role=alert]").Length(); n != 0 {
		t.Errorf("%d errors shown after choosing a store: %s", n, r.body)
	}
	if src := r.doc.Find("inlay-fragment").AttrOr("src", ""); src != "explore/store-picker?selected=store-b" {
		t.Errorf("store picker src %q", src)
	}

	// A store id that cannot be one is refused on its field.
	form.Set(checkout.FieldStoreChoice, "store c!")
	e.do("POST", "/ui/place-order", "c1", form, nil)
	r = e.do("GET", "/fragments/checkout", "c1", nil, nil)
	if got := text(r.doc, "[data-testid=checkout-store-error]"); got != "Store is not valid." {
		t.Errorf("store error %q: %s", got, r.body)
	}
	if got := r.doc.Find("input[name=store]").AttrOr("value", "x"); got != "" {
		t.Errorf("the refused store id is kept: %q", got)
	}
}

func TestCheckoutOutOfStockAtPlacement(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.do("POST", "/ui/cart/add", "c1", addForm(checkouttest.SKURed), nil)
	e.do("POST", "/ui/cart/add", "c2", addForm(checkouttest.SKURed), nil)
	if r := e.do("POST", "/ui/place-order", "c1", checkoutForm("k1"), nil); !strings.HasPrefix(r.Header.Get("Location"), "/checkout/thanks") {
		t.Fatalf("first order: %q", r.Header.Get("Location"))
	}
	// inventory reports the last one gone before the second customer orders.
	checkouttest.Tx(t, e.pool, func(ctx context.Context, tx pgx.Tx) error {
		return e.store.ApplyStock(ctx, tx, checkouttest.SKURed, 0)
	})
	r := e.do("POST", "/ui/place-order", "c2", checkoutForm("k2"), nil)
	if r.Header.Get("Location") != "/checkout/checkout" {
		t.Fatalf("second order: %q", r.Header.Get("Location"))
	}
	r = e.do("GET", "/fragments/checkout", "c2", nil, nil)
	if got := text(r.doc, "[data-testid=checkout-error]"); !strings.Contains(got, "out of stock") {
		t.Errorf("error %q", got)
	}
}

func TestOrderHistory(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	if r := e.do("GET", "/fragments/order-history", "c1", nil, nil); r.doc.Find("[data-testid=order-history-guest]").Length() != 1 {
		t.Fatalf("guest: %s", r.body)
	}
	if r := e.doAs("cust-1", "GET", "/fragments/order-history", "c1", nil, nil); r.doc.Find("[data-testid=order-history-empty]").Length() != 1 {
		t.Fatalf("no orders: %s", r.body)
	}
	e.doAs("cust-1", "POST", "/ui/cart/add", "c1", addForm(checkouttest.SKUGrey), nil)
	r := e.doAs("cust-1", "POST", "/ui/place-order", "c1", checkoutForm("k1"), nil)
	id := strings.TrimPrefix(r.Header.Get("Location"), "/checkout/thanks?order=")
	r = e.doAs("cust-1", "GET", "/fragments/order-history", "another-cart", nil, nil)
	if r.doc.Find("[data-testid=order-history-order] a").AttrOr("href", "") != "/checkout/orders/"+id {
		t.Fatalf("history: %s", r.body)
	}
	// The customer sees the order from another device (another cart), others do not.
	if r := e.doAs("cust-1", "GET", "/fragments/order?order="+id, "another-cart", nil, nil); r.StatusCode != 200 {
		t.Errorf("own order from another cart: %d", r.StatusCode)
	}
	if r := e.doAs("cust-2", "GET", "/fragments/order?order="+id, "another-cart", nil, nil); r.StatusCode != 404 {
		t.Errorf("someone else's order: %d", r.StatusCode)
	}
	if r := e.doAs("cust-2", "GET", "/fragments/order-history", "c1", nil, nil); r.doc.Find("[data-testid=order-history-order]").Length() != 0 {
		t.Errorf("another customer's history: %s", r.body)
	}
}

// TestFragmentContract runs the fragment contract suite against a real listening server.
func TestFragmentContract(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.do("POST", "/ui/cart/add", "ft-cart", addForm(checkouttest.SKUGrey), nil)
	r := e.do("POST", "/ui/place-order", "ft-cart", checkoutForm("ft-key"), nil)
	order := strings.TrimPrefix(r.Header.Get("Location"), "/checkout/thanks?order=")
	e.do("POST", "/ui/cart/add", "ft-cart", addForm(checkouttest.SKUGrey), nil)

	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go func() { _ = e.srv.App.Listener(ln) }()
	t.Cleanup(func() { _ = e.srv.App.ShutdownWithTimeout(5 * time.Second) })
	fragmenttest.Run(t, "http://"+ln.Addr().String(),
		fragmenttest.Signer(e.signer), fragmenttest.IDPrefix("co-"),
		fragmenttest.Context(fragments.Context{CartID: "ft-cart", CSRF: csrf}),
		fragmenttest.Params(ui.AddToCart, url.Values{"sku": {checkouttest.SKUGrey}}),
		fragmenttest.Params(ui.AddToCart, url.Values{"sku": {checkouttest.SKUMatte}}),
		fragmenttest.Params(ui.CartPage, url.Values{}),
		fragmenttest.Params(ui.CheckoutPage, url.Values{"store": {"store-a"}}),
		fragmenttest.Params(ui.Thanks, url.Values{"order": {order}}),
		fragmenttest.Params(ui.OrderPage, url.Values{"order": {order}}),
		fragmenttest.Params(ui.OrderHistory, url.Values{}),
	)
}

// TestPlaceOrderAtAStoreThatDoesNotExist: an order for a store explore never published is refused
// with the store field's error, and no order is placed (hardening issue 10, defect 5).
func TestPlaceOrderAtAStoreThatDoesNotExist(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.do("POST", "/ui/cart/add", "c1", addForm(checkouttest.SKUGrey), nil)
	form := checkoutForm("k-no-such-store")
	form.Set("store", "no-such-store")
	r := e.do("POST", "/ui/place-order", "c1", form, nil)
	if r.StatusCode != 303 || r.Header.Get("Location") != "/checkout/checkout" {
		t.Fatalf("place order at no-such-store: %d → %s", r.StatusCode, r.Header.Get("Location"))
	}
	r = e.do("GET", "/fragments/checkout", "c1", nil, nil)
	if got := strings.TrimSpace(r.doc.Find("[data-testid=checkout-store-error]").Text()); got != "Please choose one of our stores." {
		t.Errorf("store error %q: %s", got, r.body)
	}
	if n := len(checkouttest.Outbox(t, e.pool)); n != 0 {
		t.Errorf("%d events: an order was placed", n)
	}
	// A script asking for JSON gets a 400.
	form.Set("idempotency_key", "k-no-such-store-2")
	if r := e.do("POST", "/ui/place-order", "c1", form, asJSON); r.StatusCode != 400 {
		t.Errorf("as JSON: %d %s", r.StatusCode, r.body)
	}
}

// TestCartQuantityUpdateAndShortage: a line's quantity is set on the cart page (no more than is in
// stock, 1 to 10, never adding a line), and a line that asks for more than is left says so there,
// before the shopper fills the checkout form.
func TestCartQuantityUpdateAndShortage(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.do("POST", "/ui/cart/add", "c1", addForm(checkouttest.SKUGrey), nil)
	e.do("POST", "/ui/cart/add", "c1", addForm(checkouttest.SKUGrey), nil)
	update := func(sku, q string) url.Values {
		return url.Values{"sku": {sku}, "quantity": {q}, fragments.CSRFField: {csrf}}
	}
	quantity := func() string {
		r := e.do("GET", "/fragments/cart", "c1", nil, nil)
		return r.doc.Find("[data-testid=cart-line][data-sku="+checkouttest.SKUGrey+"] [data-testid=cart-line-quantity]").AttrOr("value", "")
	}
	for _, tt := range []struct{ sku, q, location, after string }{
		{checkouttest.SKUGrey, "4", "/checkout/cart#co-q-" + checkouttest.SKUGrey, "4"}, // back at the field
		{checkouttest.SKUGrey, "6", "/checkout/cart?error=too-many#cart-error", "4"},    // 5 in stock
		{checkouttest.SKUGrey, "0", "/checkout/cart?error=quantity#cart-error", "4"},
		{checkouttest.SKUGrey, "11", "/checkout/cart?error=quantity#cart-error", "4"},
		{checkouttest.SKUGrey, "two", "/checkout/cart?error=quantity#cart-error", "4"},
		{checkouttest.SKURed, "1", "/checkout/cart?error=gone#cart-error", "4"}, // not in the cart: not added
		{checkouttest.SKUGrey, " 1 ", "/checkout/cart#co-q-" + checkouttest.SKUGrey, "1"},
	} {
		r := e.do("POST", "/ui/cart/update", "c1", update(tt.sku, tt.q), nil)
		if r.StatusCode != http.StatusSeeOther || r.Header.Get("Location") != tt.location {
			t.Errorf("%s to %q: %d %q, want %q", tt.sku, tt.q, r.StatusCode, r.Header.Get("Location"), tt.location)
		}
		if got := quantity(); got != tt.after {
			t.Errorf("%s to %q: the line holds %q, want %q", tt.sku, tt.q, got, tt.after)
		}
	}
	r := e.do("GET", "/fragments/cart", "c1", nil, nil)
	if n := r.doc.Find("[data-testid=cart-line]").Length(); n != 1 {
		t.Errorf("%d lines, want 1: an update never adds a line", n)
	}
	if got := text(r.doc, "[data-testid=cart-error]"); got != "" {
		t.Errorf("an error shown without one: %q", got)
	}
	r = e.do("GET", "/fragments/cart?error=too-many", "c1", nil, nil)
	if got := text(r.doc, "[data-testid=cart-error]"); got != "We do not have that many of this tractor: please choose fewer." {
		t.Errorf("too-many: %q", got)
	}
	if r := e.do("POST", "/ui/cart/update", "c1", url.Values{"sku": {checkouttest.SKUGrey}, "quantity": {"3"}}, nil); r.StatusCode != http.StatusForbidden {
		t.Errorf("an update without the CSRF token: %d, want 403", r.StatusCode)
	}

	e.do("POST", "/ui/cart/update", "c1", update(checkouttest.SKUGrey, "3"), nil)
	for stock, want := range map[int]string{2: "Only 2 left: lower the quantity to check out.", 0: "Sold out: remove it to check out."} {
		checkouttest.Tx(t, e.pool, func(ctx context.Context, tx pgx.Tx) error {
			return e.store.ApplyStock(ctx, tx, checkouttest.SKUGrey, stock)
		})
		r := e.do("GET", "/fragments/cart", "c1", nil, nil)
		if got := text(r.doc, "[data-testid=cart-line-short]"); got != want || text(r.doc, "[data-testid=cart-short]") == "" {
			t.Errorf("stock %d under a line of 3: %q (notice %q), want %q", stock, got, text(r.doc, "[data-testid=cart-short]"), want)
		}
		// The checkout page says so before the form is filled, with the way back to the basket.
		co := e.do("GET", "/fragments/checkout", "c1", nil, nil)
		if co.doc.Find("[data-testid=checkout-short] a[href='/checkout/cart']").Length() != 1 {
			t.Errorf("stock %d: the checkout page has no notice:\n%s", stock, co.body)
		}
	}
	checkouttest.Tx(t, e.pool, func(ctx context.Context, tx pgx.Tx) error {
		return e.store.ApplyStock(ctx, tx, checkouttest.SKUGrey, 3)
	})
	if r := e.do("GET", "/fragments/cart", "c1", nil, nil); r.doc.Find("[data-testid=cart-line-short], [data-testid=cart-short]").Length() != 0 {
		t.Errorf("a line with enough stock flagged short: %s", r.body)
	}
}

// TestReorderACancelledOrder: a cancelled order's tractors go back into its owner's basket (as many
// as are in stock), from the form its thank-you page shows; nobody else's order, and no order that
// was not cancelled, puts anything back.
func TestReorderACancelledOrder(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.do("POST", "/ui/cart/add", "c1", addForm(checkouttest.SKUGrey), nil)
	e.do("POST", "/ui/cart/add", "c1", addForm(checkouttest.SKUGrey), nil)
	e.do("POST", "/ui/cart/add", "c1", addForm(checkouttest.SKURed), nil)
	r := e.do("POST", "/ui/place-order", "c1", checkoutForm("k1"), nil)
	loc := r.Header.Get("Location")
	id := strings.TrimPrefix(loc, "/checkout/thanks?order=")
	if id == loc || id == "" {
		t.Fatalf("place order: %d %q", r.StatusCode, loc)
	}
	reorder := url.Values{fragments.CSRFField: {csrf}}
	// Pending: nothing to put back.
	if r := e.do("POST", "/ui/orders/"+id+"/reorder", "c1", reorder, nil); r.StatusCode != http.StatusConflict {
		t.Errorf("a pending order: %d, want 409", r.StatusCode)
	}
	if _, err := e.store.Update(context.Background(), id, func(o *checkout.Order) error { return o.Cancel("card declined") }); err != nil {
		t.Fatal(err)
	}
	th := e.do("GET", "/fragments/thanks?order="+id, "c1", nil, nil)
	if th.doc.Find("[data-testid=thanks-cancelled-note]:not([hidden]) form[data-testid=thanks-reorder]").AttrOr("action", "") != "/checkout/orders/"+id+"/reorder" {
		t.Errorf("the cancelled order's thank-you page has no reorder form: %s", th.body)
	}
	if r := e.do("POST", "/ui/orders/"+id+"/reorder", "c2", reorder, nil); r.StatusCode != http.StatusNotFound {
		t.Errorf("another visitor's reorder: %d, want 404", r.StatusCode)
	}
	if r := e.do("POST", "/ui/orders/"+id+"/reorder", "c1", url.Values{}, nil); r.StatusCode != http.StatusForbidden {
		t.Errorf("a reorder without the CSRF token: %d, want 403", r.StatusCode)
	}
	// The red one sold out meanwhile: the grey ones come back, and the page says one did not.
	checkouttest.Tx(t, e.pool, func(ctx context.Context, tx pgx.Tx) error {
		return e.store.ApplyStock(ctx, tx, checkouttest.SKURed, 0)
	})
	for range 2 { // the second post (a double click) changes nothing
		r = e.do("POST", "/ui/orders/"+id+"/reorder", "c1", reorder, nil)
		if r.StatusCode != http.StatusSeeOther || r.Header.Get("Location") != "/checkout/cart?error=reorder-short" {
			t.Fatalf("reorder: %d %q", r.StatusCode, r.Header.Get("Location"))
		}
	}
	cart := e.do("GET", "/fragments/cart?error=reorder-short", "c1", nil, nil)
	if got := cart.doc.Find("[data-testid=cart-line][data-sku="+checkouttest.SKUGrey+"] [data-testid=cart-line-quantity]").AttrOr("value", ""); got != "2" {
		t.Errorf("grey in the basket after the reorder: %q, want 2:\n%s", got, cart.body)
	}
	if n := cart.doc.Find("[data-testid=cart-line]").Length(); n != 1 || !strings.Contains(text(cart.doc, "[data-testid=cart-error]"), "no longer in stock") {
		t.Errorf("%d lines, error %q", n, text(cart.doc, "[data-testid=cart-error]"))
	}
}

// TestGuestOrdersJoinTheAccount: a customer who ordered without signing in, then signs in in the same
// browser, finds the order in their history and on its page when it was placed with the account's
// e-mail, after the account was made. Another browser's guest order, one with another e-mail
// (someone else's on a shared browser), and one older than the account (an account registered
// afterwards with a stranger's address proves nothing: addresses are not verified) do not join. An
// account whose copy reaches checkout after the sign-in gets them when the copy arrives.
func TestGuestOrdersJoinTheAccount(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	place := func(cart, key, email string) string {
		t.Helper()
		e.do("POST", "/ui/cart/add", cart, addForm(checkouttest.SKUGrey), nil)
		f := checkoutForm(key)
		f.Set("email", email)
		r := e.do("POST", "/ui/place-order", cart, f, nil)
		id, ok := strings.CutPrefix(r.Header.Get("Location"), "/checkout/thanks?order=")
		if !ok {
			t.Fatalf("guest order from %s: %d → %q", cart, r.StatusCode, r.Header.Get("Location"))
		}
		return id
	}
	copyOf := func(id, email string, registered time.Time) {
		checkouttest.Tx(t, e.pool, func(ctx context.Context, tx pgx.Tx) error {
			return e.store.ApplyCustomer(ctx, tx, checkout.CustomerCopy{ID: id, Email: email, Name: "A", RegisteredAt: registered}, false, 1)
		})
	}
	history := func(customer, cart string) []string {
		t.Helper()
		r := e.doAs(customer, "GET", "/fragments/order-history", cart, nil, nil)
		var ids []string
		r.doc.Find("[data-testid=order-history-order] a").Each(func(_ int, s *goquery.Selection) {
			ids = append(ids, strings.TrimPrefix(s.AttrOr("href", ""), "/checkout/orders/"))
		})
		return ids
	}
	copyOf("cust-ada", "Ada@Example.com", time.Now().Add(-time.Hour)) // an account made before
	mine := place("g1", "k1", "ada@example.com")
	theirs := place("g1", "k2", "someone@example.com") // a shared browser: someone else's
	elsewhere := place("g2", "k3", "ada@example.com")  // another browser's cookie

	// Signed in with g1's cookie: Ada's guest order from it is hers at once.
	if got := history("cust-ada", "g1"); len(got) != 1 || got[0] != mine {
		t.Fatalf("history after sign-in: %v, want [%s]", got, mine)
	}
	if r := e.doAs("cust-ada", "GET", "/fragments/thanks?order="+mine, "", nil, nil); r.StatusCode != 200 {
		t.Errorf("her guest order's thank-you page, from another device: %d", r.StatusCode)
	}
	for _, id := range []string{theirs, elsewhere} {
		if r := e.doAs("cust-ada", "GET", "/fragments/order?order="+id, "", nil, nil); r.StatusCode != 404 {
			t.Errorf("order %s is not hers: %d", id, r.StatusCode)
		}
	}
	if r := e.do("GET", "/fragments/order?order="+theirs, "g1", nil, nil); r.StatusCode != 200 {
		t.Errorf("the other guest's order left the guest cart: %d", r.StatusCode)
	}

	// An account registered after the order, with its e-mail (a stranger's address on a shared
	// browser): the order stays the guest cart's.
	victims := place("g4", "k5", "victim@example.com")
	copyOf("cust-mallory", "VICTIM@example.com", time.Now())
	if got := history("cust-mallory", "g4"); len(got) != 0 {
		t.Errorf("an account made after the order took it: %v", got)
	}
	if r := e.do("GET", "/fragments/order?order="+victims, "g4", nil, nil); r.StatusCode != 200 {
		t.Errorf("the victim's order left its guest cart: %d", r.StatusCode)
	}

	// An account whose copy checkout does not have yet at the sign-in.
	bob := place("g3", "k4", "bob@example.com")
	if got := history("cust-bob", "g3"); len(got) != 0 {
		t.Fatalf("history without the account's copy: %v", got)
	}
	copyOf("cust-bob", "bob@example.com", time.Now().Add(-24*time.Hour))
	if got := history("cust-bob", ""); len(got) != 1 || got[0] != bob {
		t.Fatalf("history once the copy arrived: %v, want [%s]", got, bob)
	}
}

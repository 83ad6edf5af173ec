package api_test

import (
	"context"
	"encoding/json"
	"flag"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/inlay-dev/inlay/fragments"
	"github.com/inlay-dev/inlay/services/checkout"
	"github.com/inlay-dev/inlay/services/checkout/api"
	"github.com/inlay-dev/inlay/services/checkout/internal/checkouttest"
	"github.com/inlay-dev/inlay/services/checkout/postgres"
	"github.com/inlay-dev/inlay/services/checkout/redis"
	"github.com/inlay-dev/inlay/services/kit/kittest/apitest"
	"github.com/inlay-dev/inlay/services/kit/server"
)

var update = flag.Bool("update", false, "rewrite testdata/*.json from the current responses")

// The stores checkoutd wires implement the interfaces the API declares.
var (
	_ api.Carts = (*redis.Carts)(nil)
	_ api.Store = (*postgres.Store)(nil)
)

type env struct {
	t      *testing.T
	srv    *server.Server
	signer *fragments.Signer // bff/mobile's key, as the BFF signs
	shell  *fragments.Signer // a key the API's key set does not hold
	carts  *redis.Carts
	pool   *pgxpool.Pool
}

func newEnv(t *testing.T) *env {
	t.Helper()
	pub, priv, err := fragments.GenerateKey()
	if err != nil {
		t.Fatal(err)
	}
	_, other, err := fragments.GenerateKey()
	if err != nil {
		t.Fatal(err)
	}
	store, pool := checkouttest.Store(t)
	carts := checkouttest.Carts(t)
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	srv := server.New(server.Options{Name: "checkout", Log: log})
	verifier := fragments.NewKeySetVerifier(fragments.KeySet{fragments.KeyMobile: pub}, false)
	api.New(carts, store, verifier, log).Mount(srv.App)
	return &env{t: t, srv: srv, signer: fragments.NewKeySigner(fragments.KeyMobile, priv),
		shell: fragments.NewSigner(other), carts: carts, pool: pool}
}

// caller is who sends a request: the context the BFF signs for it.
type caller struct {
	customer, cart string
	signer         *fragments.Signer // e.signer when nil
	expired        bool
	none           bool // no Inlay-Context at all
}

type response struct {
	status int
	header http.Header
	body   []byte
}

func (r response) json(t *testing.T, v any) {
	t.Helper()
	if err := json.Unmarshal(r.body, v); err != nil {
		t.Fatalf("%d %s: %v", r.status, r.body, err)
	}
}

func (e *env) do(who caller, method, target, body string, header ...string) response {
	e.t.Helper()
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req := httptest.NewRequest(method, target, rd)
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	if !who.none {
		s := who.signer
		if s == nil {
			s = e.signer
		}
		exp := time.Now().Add(time.Minute)
		if who.expired {
			exp = time.Now().Add(-time.Minute)
		}
		h, err := s.Sign(fragments.Context{CustomerID: who.customer, CartID: who.cart, Expires: exp})
		if err != nil {
			e.t.Fatal(err)
		}
		req.Header.Set(fragments.ContextHeader, h)
	}
	res, err := e.srv.App.Test(req, -1)
	if err != nil {
		e.t.Fatalf("%s %s: %v", method, target, err)
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	if err != nil {
		e.t.Fatal(err)
	}
	return response{status: res.StatusCode, header: res.Header, body: b}
}

// want fails unless r has status; an error must be a problem body of that status.
func want(t *testing.T, what string, r response, status int) {
	t.Helper()
	if r.status != status {
		t.Fatalf("%s: %d %s, want %d", what, r.status, r.body, status)
	}
	if status < 400 {
		return
	}
	if ct := r.header.Get("Content-Type"); ct != server.MIMEProblemJSON {
		t.Errorf("%s: Content-Type %q, want %s", what, ct, server.MIMEProblemJSON)
	}
	var p server.Problem
	r.json(t, &p)
	if p.Status != status || p.Type != "about:blank" || p.Title != http.StatusText(status) || p.Detail == "" || p.Code == "" {
		t.Errorf("%s: problem %+v", what, p)
	}
}

func (e *env) cart(who caller) api.Cart {
	e.t.Helper()
	r := e.do(who, "GET", "/v1/cart", "")
	want(e.t, "GET /v1/cart", r, 200)
	var c api.Cart
	r.json(e.t, &c)
	return c
}

func example(t *testing.T, name string, r response) {
	t.Helper()
	apitest.Example(t, filepath.Join("testdata", name), r.body, *update)
}

const order1 = `{"storeId":"store-a","card":"4242 4242 4242 4242","firstName":"Ada","lastName":"Lovelace","email":"ada@example.com"}`

func TestCart(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ada := caller{customer: "c-ada"}
	if c := e.cart(ada); len(c.Lines) != 0 || c.Quantity != 0 || c.Total != 0 || c.Lines == nil {
		t.Fatalf("empty cart = %+v", c)
	}
	r := e.do(ada, "POST", "/v1/cart/items", `{"sku":"`+checkouttest.SKUGrey+`"}`)
	want(t, "add one", r, 200)
	r = e.do(ada, "POST", "/v1/cart/items", `{"sku":"`+checkouttest.SKUGrey+`","quantity":2}`)
	want(t, "add two", r, 200)
	example(t, "cart.json", r)
	var c api.Cart
	r.json(t, &c)
	if len(c.Lines) != 1 || c.Quantity != 3 || c.Total != 3*5700 {
		t.Fatalf("cart after adds = %+v", c)
	}
	l := c.Lines[0]
	if l.SKU != checkouttest.SKUGrey || l.Title != "Heritage Workhorse Verdant Field" || l.UnitPrice != 5700 ||
		l.Total != 3*5700 || l.Stock != 5 || l.URL != "/product/CL-01?sku=CL-01-GY" || l.Image != "/static/decide/img/gy.svg" {
		t.Errorf("line = %+v", l)
	}
	// Set: the stock (5) is the limit.
	r = e.do(ada, "PUT", "/v1/cart/items/"+checkouttest.SKUGrey, `{"quantity":5}`)
	want(t, "set 5", r, 200)
	example(t, "cart.json", r)
	r = e.do(ada, "GET", "/v1/cart", "")
	want(t, "get", r, 200)
	example(t, "cart.json", r)
	want(t, "set 6 of 5 in stock", e.do(ada, "PUT", "/v1/cart/items/"+checkouttest.SKUGrey, `{"quantity":6}`), 409)
	want(t, "add 1 over the stock", e.do(ada, "POST", "/v1/cart/items", `{"sku":"`+checkouttest.SKUGrey+`"}`), 409)
	// Set adds a new line.
	want(t, "set a new line", e.do(ada, "PUT", "/v1/cart/items/"+checkouttest.SKURed, `{"quantity":1}`), 200)
	if c := e.cart(ada); len(c.Lines) != 2 || c.Quantity != 6 || c.Lines[1].SKU != checkouttest.SKURed {
		t.Fatalf("cart after sets = %+v", c)
	}
	// Remove, twice: the second is fine too.
	for range 2 {
		r := e.do(ada, "DELETE", "/v1/cart/items/"+checkouttest.SKUGrey, "")
		want(t, "remove", r, 200)
		example(t, "cart.json", r)
		r.json(t, &c)
		if len(c.Lines) != 1 || c.Lines[0].SKU != checkouttest.SKURed {
			t.Fatalf("cart after remove = %+v", c)
		}
	}
	// Another customer's cart is another cart.
	if c := e.cart(caller{customer: "c-bob"}); len(c.Lines) != 0 {
		t.Errorf("bob sees %+v", c)
	}
}

func TestGuestCartMergesOnSignIn(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	guest := caller{cart: "guest-cart-1"}
	want(t, "guest add", e.do(guest, "POST", "/v1/cart/items", `{"sku":"`+checkouttest.SKUGrey+`","quantity":2}`), 200)
	if c := e.cart(guest); c.Quantity != 2 {
		t.Fatalf("guest cart = %+v", c)
	}
	// Signed in, the context names the customer and still the guest cart: one cart, the customer's.
	ada := caller{customer: "c-ada", cart: "guest-cart-1"}
	if c := e.cart(ada); c.Quantity != 2 {
		t.Fatalf("customer cart after sign-in = %+v", c)
	}
	if c := e.cart(caller{customer: "c-ada"}); c.Quantity != 2 {
		t.Fatalf("customer cart = %+v", c)
	}
	if c := e.cart(guest); c.Quantity != 0 {
		t.Errorf("the guest cart still holds %+v", c)
	}
}

// TestBadInput sends what the BFF must never get past checkout: each is refused with a problem body
// and leaves the cart empty.
func TestBadInput(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ada := caller{customer: "c-ada"}
	grey := checkouttest.SKUGrey
	big := `{"sku":"` + grey + `","quantity":1,"x":"` + strings.Repeat("a", api.BodyLimit) + `"}`
	tests := []struct {
		name, method, target, body string
		who                        caller
		header                     []string
		status                     int
		field                      string
	}{
		{"malformed JSON", "POST", "/v1/cart/items", `{"sku":`, ada, nil, 400, ""},
		{"not an object", "POST", "/v1/cart/items", `["` + grey + `"]`, ada, nil, 400, ""},
		{"two objects", "POST", "/v1/cart/items", `{"sku":"` + grey + `"}{}`, ada, nil, 400, ""},
		{"unknown field", "POST", "/v1/cart/items", `{"sku":"` + grey + `","qty":1}`, ada, nil, 400, "qty"},
		{"quantity a string", "POST", "/v1/cart/items", `{"sku":"` + grey + `","quantity":"1"}`, ada, nil, 400, "quantity"},
		{"quantity 1.5", "POST", "/v1/cart/items", `{"sku":"` + grey + `","quantity":1.5}`, ada, nil, 400, "quantity"},
		{"quantity 0", "POST", "/v1/cart/items", `{"sku":"` + grey + `","quantity":0}`, ada, nil, 400, "quantity"},
		{"quantity -1", "POST", "/v1/cart/items", `{"sku":"` + grey + `","quantity":-1}`, ada, nil, 400, "quantity"},
		{"quantity 100", "POST", "/v1/cart/items", `{"sku":"` + grey + `","quantity":100}`, ada, nil, 400, "quantity"},
		{"quantity 11", "POST", "/v1/cart/items", `{"sku":"` + grey + `","quantity":11}`, ada, nil, 400, "quantity"},
		{"quantity huge", "POST", "/v1/cart/items", `{"sku":"` + grey + `","quantity":1e30}`, ada, nil, 400, "quantity"},
		{"sku missing", "POST", "/v1/cart/items", `{"quantity":1}`, ada, nil, 400, "sku"},
		{"sku malformed", "POST", "/v1/cart/items", `{"sku":"<script>"}`, ada, nil, 400, "sku"},
		{"sku a number", "POST", "/v1/cart/items", `{"sku":7}`, ada, nil, 400, "sku"},
		{"unknown sku", "POST", "/v1/cart/items", `{"sku":"NOPE-01"}`, ada, nil, 404, ""},
		{"out of stock", "POST", "/v1/cart/items", `{"sku":"` + checkouttest.SKUMatte + `"}`, ada, nil, 409, ""},
		{"over the stock", "POST", "/v1/cart/items", `{"sku":"` + checkouttest.SKURed + `","quantity":2}`, ada, nil, 409, ""},
		{"form body", "POST", "/v1/cart/items", `sku=` + grey, ada, []string{"Content-Type", "application/x-www-form-urlencoded"}, 415, ""},
		{"body over the limit", "POST", "/v1/cart/items", big, ada, nil, 413, ""},
		{"set quantity 0", "PUT", "/v1/cart/items/" + grey, `{"quantity":0}`, ada, nil, 400, "quantity"},
		{"set quantity -1", "PUT", "/v1/cart/items/" + grey, `{"quantity":-1}`, ada, nil, 400, "quantity"},
		{"set quantity 100", "PUT", "/v1/cart/items/" + grey, `{"quantity":100}`, ada, nil, 400, "quantity"},
		{"set quantity 1.5", "PUT", "/v1/cart/items/" + grey, `{"quantity":1.5}`, ada, nil, 400, "quantity"},
		{"set without quantity", "PUT", "/v1/cart/items/" + grey, `{}`, ada, nil, 400, "quantity"},
		{"set unknown sku", "PUT", "/v1/cart/items/NOPE-01", `{"quantity":1}`, ada, nil, 404, ""},
		{"set malformed sku", "PUT", "/v1/cart/items/a.b", `{"quantity":1}`, ada, nil, 400, "sku"},
		{"no context", "POST", "/v1/cart/items", `{"sku":"` + grey + `"}`, caller{none: true}, nil, 401, ""},
		{"context of an unknown key", "POST", "/v1/cart/items", `{"sku":"` + grey + `"}`, caller{customer: "c-ada", signer: e.shell}, nil, 401, ""},
		{"expired context", "POST", "/v1/cart/items", `{"sku":"` + grey + `"}`, caller{customer: "c-ada", expired: true}, nil, 403, ""},
		{"nobody in the context", "POST", "/v1/cart/items", `{"sku":"` + grey + `"}`, caller{}, nil, 401, ""},
		{"a guest naming a customer's cart", "POST", "/v1/cart/items", `{"sku":"` + grey + `"}`, caller{cart: checkout.CustomerCartID("c-ada")}, nil, 401, ""},
		{"forged header", "POST", "/v1/cart/items", `{"sku":"` + grey + `"}`, caller{none: true}, []string{fragments.ContextHeader, "eyJzdWIiOiJjLWFkYSIsImV4cCI6OTk5OTk5OTk5OX0.AAAA"}, 401, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := e.do(tt.who, tt.method, tt.target, tt.body, tt.header...)
			want(t, tt.name, r, tt.status)
			if tt.field != "" {
				var p server.Problem
				r.json(t, &p)
				if p.Fields[tt.field] == "" || p.Code != "invalid" {
					t.Errorf("problem %+v names no field %q", p, tt.field)
				}
			}
		})
	}
	r := e.do(ada, "POST", "/v1/cart/items", `{"sku":"`+grey+`","quantity":0}`)
	example(t, "problem.json", r)
	if c := e.cart(ada); len(c.Lines) != 0 {
		t.Fatalf("refused requests stored %+v", c)
	}
}

func (e *env) countOrders() int {
	e.t.Helper()
	var n int
	if err := e.pool.QueryRow(context.Background(), `SELECT count(*) FROM orders`).Scan(&n); err != nil {
		e.t.Fatal(err)
	}
	return n
}

// shown is an order request with the total the app showed the customer.
func shown(body string, total int64) string {
	return strings.Replace(body, `"card"`, `"expectedTotal":`+strconv.FormatInt(total, 10)+`,"card"`, 1)
}

func TestPlaceOrder(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ada := caller{customer: "c-ada"}
	want(t, "add", e.do(ada, "POST", "/v1/cart/items", `{"sku":"`+checkouttest.SKUGrey+`","quantity":2}`), 200)

	// Refused orders store nothing.
	for _, tt := range []struct {
		name, key, body string
		status          int
		field           string
	}{
		{"no key", "", order1, 400, api.IdempotencyKeyHeader},
		{"bad key", "a b", order1, 400, api.IdempotencyKeyHeader},
		{"long key", strings.Repeat("k", 65), order1, 400, api.IdempotencyKeyHeader},
		{"bad card", "k0", strings.Replace(order1, "4242 4242 4242 4242", "4242 4242 4242 4241", 1), 400, "card"},
		{"no store", "k0", `{"card":"4242424242424242","firstName":"Ada","lastName":"L","email":"a@example.com"}`, 400, "storeId"},
		{"unknown store", "k0", strings.Replace(order1, "store-a", "store-z", 1), 400, "storeId"},
		{"bad e-mail", "k0", strings.Replace(order1, "ada@example.com", "ada", 1), 400, "email"},
		{"unknown field", "k0", strings.Replace(order1, `"card"`, `"cvv":"123","card"`, 1), 400, "cvv"},
		{"total a number", "k0", strings.Replace(order1, `"card"`, `"total":1,"card"`, 1), 400, "total"},
		{"a negative expected total", "k0", shown(order1, -1), 400, "expectedTotal"},
		{"an expected total not a whole number", "k0", strings.Replace(order1, `"card"`, `"expectedTotal":114.5,"card"`, 1), 400, "expectedTotal"},
	} {
		r := e.do(ada, "POST", "/v1/orders", tt.body, api.IdempotencyKeyHeader, tt.key)
		want(t, tt.name, r, tt.status)
		var p server.Problem
		r.json(t, &p)
		if p.Fields[tt.field] == "" {
			t.Errorf("%s: problem %+v names no field %q", tt.name, p, tt.field)
		}
	}
	// The app showed another total than the cart's at the current prices: refused, nothing stored,
	// the cart kept.
	r := e.do(ada, "POST", "/v1/orders", shown(order1, 2*5500), api.IdempotencyKeyHeader, "k-stale")
	want(t, "a price changed since the app showed the total", r, 409)
	var p server.Problem
	r.json(t, &p)
	if p.Detail != checkout.PriceChangedMessage {
		t.Errorf("price changed: %+v", p)
	}
	if n := e.countOrders(); n != 0 {
		t.Fatalf("refused orders stored %d orders", n)
	}
	if c := e.cart(ada); len(c.Lines) != 1 {
		t.Fatalf("a refused order changed the cart: %+v", c)
	}

	// The total the app showed is the cart's: placed (the key's request is the same without it).
	r = e.do(ada, "POST", "/v1/orders", shown(order1, 2*5700), api.IdempotencyKeyHeader, "key-1")
	want(t, "place", r, 201)
	example(t, "order.json", r)
	var o api.Order
	r.json(t, &o)
	if o.Status != "pending" || o.Final || o.Total != 2*5700 || o.StoreID != "store-a" || o.CardLast4 != "4242" ||
		o.Customer.FirstName != "Ada" || len(o.Lines) != 1 || o.Lines[0].Quantity != 2 || o.Lines[0].UnitPrice != 5700 {
		t.Errorf("order = %+v", o)
	}
	if loc := r.header.Get("Location"); loc != "/v1/orders/"+o.ID {
		t.Errorf("Location %q", loc)
	}
	if c := e.cart(ada); len(c.Lines) != 0 {
		t.Errorf("the cart still holds %+v", c)
	}
	// The same key again: the same order, 200, even with the cart emptied.
	r = e.do(ada, "POST", "/v1/orders", order1, api.IdempotencyKeyHeader, "key-1")
	want(t, "replay", r, 200)
	var again api.Order
	r.json(t, &again)
	if again.ID != o.ID || r.header.Get(api.ReplayedHeader) != "true" {
		t.Errorf("replay = %+v (%v)", again, r.header)
	}
	// The same key with another request is refused.
	r = e.do(ada, "POST", "/v1/orders", strings.Replace(order1, "store-a", "store-b", 1), api.IdempotencyKeyHeader, "key-1")
	want(t, "same key, other request", r, 422)
	// A new key with the empty cart: nothing to order.
	want(t, "empty cart", e.do(ada, "POST", "/v1/orders", order1, api.IdempotencyKeyHeader, "key-2"), 409)

	r = e.do(ada, "GET", "/v1/orders", "")
	want(t, "orders", r, 200)
	example(t, "orders.json", r)
	var list api.Orders
	r.json(t, &list)
	if len(list.Orders) != 1 || list.Orders[0].ID != o.ID || list.Orders[0].Total != 2*5700 {
		t.Errorf("orders = %+v", list)
	}
	if n := e.countOrders(); n != 1 || len(checkouttest.Outbox(t, e.pool)) != 1 {
		t.Errorf("%d orders, %d events", n, len(checkouttest.Outbox(t, e.pool)))
	}
	r = e.do(ada, "GET", "/v1/orders/"+o.ID, "")
	want(t, "order", r, 200)
	example(t, "order.json", r)
	want(t, "bad limit", e.do(ada, "GET", "/v1/orders?limit=0", ""), 400)
	want(t, "bad limit", e.do(ada, "GET", "/v1/orders?limit=1.5", ""), 400)
	want(t, "bad limit", e.do(ada, "GET", "/v1/orders?limit=51", ""), 400)
}

// TestOwnOrdersOnly: an order is its customer's (from any cart) and nobody else's: 404, as for an
// order that does not exist.
func TestOwnOrdersOnly(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ada, bob := caller{customer: "c-ada"}, caller{customer: "c-bob"}
	want(t, "add", e.do(ada, "POST", "/v1/cart/items", `{"sku":"`+checkouttest.SKUGrey+`"}`), 200)
	r := e.do(ada, "POST", "/v1/orders", order1, api.IdempotencyKeyHeader, "shared-key")
	want(t, "place", r, 201)
	var o api.Order
	r.json(t, &o)

	want(t, "ada, another device", e.do(caller{customer: "c-ada", cart: "phone-cart"}, "GET", "/v1/orders/"+o.ID, ""), 200)
	for name, who := range map[string]caller{"bob": bob, "a guest": {cart: "guest-9"},
		"bob naming ada's cart id": {customer: "c-bob", cart: checkout.CustomerCartID("c-ada")}} {
		r := e.do(who, "GET", "/v1/orders/"+o.ID, "")
		want(t, name, r, 404)
		var p server.Problem
		r.json(t, &p)
		if !strings.Contains(p.Detail, "not found") {
			t.Errorf("%s: %+v", name, p)
		}
		r = e.do(who, "GET", "/v1/orders", "")
		var list api.Orders
		r.json(t, &list)
		if len(list.Orders) != 0 {
			t.Errorf("%s lists %+v", name, list)
		}
	}
	want(t, "no such order", e.do(ada, "GET", "/v1/orders/0199a000-0000-7000-8000-000000000000", ""), 404)
	want(t, "not an id", e.do(ada, "GET", "/v1/orders/nope", ""), 404)

	// Keys are the caller's own: bob's "shared-key" is bob's order, not ada's.
	want(t, "bob adds", e.do(bob, "POST", "/v1/cart/items", `{"sku":"`+checkouttest.SKURed+`"}`), 200)
	r = e.do(bob, "POST", "/v1/orders", strings.Replace(order1, "Ada", "Bob", 1), api.IdempotencyKeyHeader, "shared-key")
	want(t, "bob places", r, 201)
	var b api.Order
	r.json(t, &b)
	if b.ID == o.ID || b.Lines[0].SKU != checkouttest.SKURed {
		t.Errorf("bob's order = %+v", b)
	}
}

// TestGuestOrders: a guest's cart places and lists its orders.
func TestGuestOrders(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	guest := caller{cart: "guest-cart-7"}
	want(t, "add", e.do(guest, "POST", "/v1/cart/items", `{"sku":"`+checkouttest.SKUGrey+`"}`), 200)
	r := e.do(guest, "POST", "/v1/orders", order1, api.IdempotencyKeyHeader, "g-1")
	want(t, "place", r, 201)
	var o api.Order
	r.json(t, &o)
	var list api.Orders
	e.do(guest, "GET", "/v1/orders", "").json(t, &list)
	if len(list.Orders) != 1 || list.Orders[0].ID != o.ID {
		t.Errorf("guest orders = %+v", list)
	}
	want(t, "the guest's order", e.do(guest, "GET", "/v1/orders/"+o.ID, ""), 200)
}

// TestConcurrentPlaceOrder: requests with one key at the same time make one order; every answer
// names it.
func TestConcurrentPlaceOrder(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ada := caller{customer: "c-ada"}
	want(t, "add", e.do(ada, "POST", "/v1/cart/items", `{"sku":"`+checkouttest.SKUGrey+`","quantity":2}`), 200)
	const n = 8
	var wg sync.WaitGroup
	results := make([]response, n)
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			results[i] = e.do(ada, "POST", "/v1/orders", order1, api.IdempotencyKeyHeader, "same-key")
		}()
	}
	wg.Wait()
	created := 0
	ids := map[string]bool{}
	for i, r := range results {
		if r.status != 201 && r.status != 200 {
			t.Fatalf("request %d: %d %s", i, r.status, r.body)
		}
		if r.status == 201 {
			created++
		}
		var o api.Order
		r.json(t, &o)
		ids[o.ID] = true
	}
	if created != 1 || len(ids) != 1 {
		t.Fatalf("%d created, ids %v", created, ids)
	}
	var list api.Orders
	e.do(ada, "GET", "/v1/orders", "").json(t, &list)
	if n := e.countOrders(); n != 1 || len(list.Orders) != 1 {
		t.Fatalf("%d orders stored, %d listed", n, len(list.Orders))
	}
	var keys int
	if err := e.pool.QueryRow(context.Background(), `SELECT count(*) FROM orders WHERE idempotency_key = 'same-key' AND cart_id = $1`,
		checkout.CustomerCartID("c-ada")).Scan(&keys); err != nil || keys != 1 {
		t.Fatalf("%d rows with the key: %v", keys, err)
	}
}

// One basket makes one order, also when requests with different keys place it at once (two tabs,
// or a client that invents a key per attempt): the others are refused (409, the order in progress)
// or find the basket empty (409), and nothing is ordered twice.
func TestConcurrentPlaceOrderWithDifferentKeys(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ada := caller{customer: "c-ada"}
	want(t, "add", e.do(ada, "POST", "/v1/cart/items", `{"sku":"`+checkouttest.SKUGrey+`","quantity":1}`), 200)
	const n = 8
	var wg sync.WaitGroup
	results := make([]response, n)
	for i := range n {
		wg.Go(func() {
			results[i] = e.do(ada, "POST", "/v1/orders", order1, api.IdempotencyKeyHeader, "key-"+strconv.Itoa(i))
		})
	}
	wg.Wait()
	created := 0
	for i, r := range results {
		switch r.status {
		case 201:
			created++
		case 409:
		default:
			t.Fatalf("request %d: %d %s", i, r.status, r.body)
		}
	}
	if n := e.countOrders(); created != 1 || n != 1 {
		t.Fatalf("%d created, %d orders stored from a basket of one tractor", created, n)
	}
	// The claim ended with the order: the next basket orders as usual.
	want(t, "add again", e.do(ada, "POST", "/v1/cart/items", `{"sku":"`+checkouttest.SKUGrey+`"}`), 200)
	want(t, "order again", e.do(ada, "POST", "/v1/orders", order1, api.IdempotencyKeyHeader, "key-next"), 201)
}

func TestCustomerCopyFillsTheOrder(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	checkouttest.Tx(t, e.pool, func(ctx context.Context, tx pgx.Tx) error {
		return postgres.NewStore(e.pool).ApplyCustomer(ctx, tx, checkout.CustomerCopy{ID: "c-ada", Email: "ada@example.com", Name: "Ada Lovelace"}, false, 1)
	})
	ada := caller{customer: "c-ada"}
	want(t, "add", e.do(ada, "POST", "/v1/cart/items", `{"sku":"`+checkouttest.SKUGrey+`"}`), 200)
	r := e.do(ada, "POST", "/v1/orders", `{"storeId":"store-b","card":"4242424242424242"}`, api.IdempotencyKeyHeader, "k-1")
	want(t, "place with the account's names", r, 201)
	var o api.Order
	r.json(t, &o)
	if o.Customer != (api.Customer{FirstName: "Ada", LastName: "Lovelace", Email: "ada@example.com"}) {
		t.Errorf("customer = %+v", o.Customer)
	}
}

// TestExamplesDecode: every example decodes strictly into the API's types (no field they lack).
func TestExamplesDecode(t *testing.T) {
	t.Parallel()
	apitest.Decode(t, filepath.Join("testdata", "cart.json"), &api.Cart{})
	apitest.Decode(t, filepath.Join("testdata", "order.json"), &api.Order{})
	apitest.Decode(t, filepath.Join("testdata", "orders.json"), &api.Orders{})
	apitest.Decode(t, filepath.Join("testdata", "problem.json"), &server.Problem{})
}

package mobile_test

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/inlay-dev/inlay/bff/mobile"
	"github.com/inlay-dev/inlay/bff/mobile/mobiletest"
	"github.com/inlay-dev/inlay/fragments"
	"github.com/inlay-dev/inlay/services/kit/clientip"
	"github.com/inlay-dev/inlay/services/kit/kittest"
	"github.com/inlay-dev/inlay/services/kit/server"
)

// root is the repository's root, where the teams' api/testdata examples are.
const root = "../.."

// example reads a team's example answer.
func example(t testing.TB, team, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(root, "services", team, "api", "testdata", name+".json"))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// team is a stand-in for one team's /v1 API: it answers each path with a body (by default the team's
// own example), can hang or fail, and records what it was asked.
type team struct {
	t       testing.TB
	srv     *httptest.Server
	mu      sync.Mutex
	routes  map[string]route // "METHOD /path" → answer
	hang    atomic.Bool
	fail    atomic.Bool
	calls   atomic.Int64
	release chan struct{}
	// seen holds the verified Inlay-Context and the Authorization of the last request.
	seenCtx  fragments.Context
	seenAuth string
	seenKey  string
	seenBody []byte
	verifier *fragments.Verifier
}

type route struct {
	status int
	body   []byte
}

func newTeam(t testing.TB, verifier *fragments.Verifier) *team {
	tm := &team{t: t, routes: map[string]route{}, release: make(chan struct{}), verifier: verifier}
	tm.srv = httptest.NewServer(http.HandlerFunc(tm.serve))
	t.Cleanup(func() { close(tm.release); tm.srv.Close() })
	return tm
}

func (tm *team) on(methodPath string, status int, body []byte) *team {
	tm.mu.Lock()
	tm.routes[methodPath] = route{status, body}
	tm.mu.Unlock()
	return tm
}

func (tm *team) serve(w http.ResponseWriter, r *http.Request) {
	tm.calls.Add(1)
	if tm.hang.Load() {
		select {
		case <-r.Context().Done():
		case <-tm.release:
		}
		return
	}
	if tm.fail.Load() {
		http.Error(w, "down", http.StatusInternalServerError)
		return
	}
	body, _ := io.ReadAll(r.Body)
	var fc fragments.Context
	if h := r.Header.Get(fragments.ContextHeader); h != "" {
		c, err := tm.verifier.Verify(h, time.Now())
		if err != nil {
			tm.t.Errorf("team got an Inlay-Context it cannot verify: %v", err)
		}
		fc = c
	}
	tm.mu.Lock()
	tm.seenCtx, tm.seenAuth, tm.seenKey, tm.seenBody = fc, r.Header.Get("Authorization"), r.Header.Get("Idempotency-Key"), body
	rt, ok := tm.routes[r.Method+" "+r.URL.Path]
	tm.mu.Unlock()
	if !ok {
		w.Header().Set("Content-Type", "application/problem+json")
		w.WriteHeader(http.StatusNotFound)
		_, _ = w.Write([]byte(`{"type":"about:blank","title":"Not Found","status":404,"detail":"no such thing","code":"not_found"}`))
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(rt.status)
	_, _ = w.Write(rt.body)
}

func (tm *team) seen() (fragments.Context, string, string, []byte) {
	tm.mu.Lock()
	defer tm.mu.Unlock()
	return tm.seenCtx, tm.seenAuth, tm.seenKey, tm.seenBody
}

// decide's, inventory's and accounts' answers (their /v1 keeps its shapes; see services/*/api).
const (
	decideProduct = `{"id":"AU-01","name":"Autonomous Pro","category":"autonomous","highlights":["GPS"],"version":3,"url":"/product/AU-01",
"variants":[{"sku":"AU-01-SI","name":"Silver","color":"#c0c0c0","price":5000,"image":"/i/l.svg","thumbnail":"/i/s.svg","url":"/product/AU-01?sku=AU-01-SI"},
{"sku":"AU-01-GR","name":"Green","color":"#00ff00","price":5100,"image":"/i/g.svg","thumbnail":"/i/gs.svg","url":"/product/AU-01?sku=AU-01-GR"}]}`
	inventoryStock = `{"sku":"AU-01-SI","quantity":7,"version":2}`
	signInAnswer   = `{"token":"tok-good","expires":"2026-12-29T10:00:00Z","customer":{"customerId":"cu-1","name":"Ada Lovelace","email":"ada@example.com"}}`
	whoamiAnswer   = `{"customerId":"cu-1","name":"Ada Lovelace","expires":"2026-12-29T10:00:00Z"}`
)

type fixture struct {
	base                                     string
	client                                   *http.Client
	v                                        *mobiletest.Validator
	decide, inventory, inspire, explore, chk *team
	accounts                                 *team
	pub                                      ed25519.PublicKey
}

type fixtureOpts struct {
	rate      int
	deadlines mobile.Deadlines
	proxies   string // INLAY_TRUSTED_PROXIES
}

// start runs the BFF, on the kit's server, against stand-in teams that answer with the teams'
// examples; every answer the returned client receives is validated against the BFF's OpenAPI document.
func start(t *testing.T, fo fixtureOpts) *fixture {
	t.Helper()
	pub, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	verifier := fragments.NewKeySetVerifier(fragments.KeySet{fragments.KeyMobile: pub}, false)
	f := &fixture{pub: pub}
	f.decide = newTeam(t, verifier).on("GET /v1/products/AU-01", 200, []byte(decideProduct))
	f.inventory = newTeam(t, verifier).on("GET /v1/stock/AU-01-SI", 200, []byte(inventoryStock))
	f.inspire = newTeam(t, verifier).on("GET /v1/recommendations", 200, example(t, "inspire", "recommendations"))
	f.explore = newTeam(t, verifier).
		on("GET /v1/categories", 200, example(t, "explore", "categories")).
		on("GET /v1/categories/autonomous", 200, example(t, "explore", "category")).
		on("GET /v1/search", 200, example(t, "explore", "search")).
		on("GET /v1/stores", 200, example(t, "explore", "stores"))
	f.chk = newTeam(t, verifier).
		on("GET /v1/cart", 200, example(t, "checkout", "cart")).
		on("POST /v1/cart/items", 200, example(t, "checkout", "cart")).
		on("DELETE /v1/cart/items/AU-02-OG", 200, example(t, "checkout", "cart")).
		on("POST /v1/orders", 201, example(t, "checkout", "order")).
		on("GET /v1/orders", 200, example(t, "checkout", "orders")).
		on("GET /v1/orders/019ad0c4-6f1e-7a52-9c1d-2b8f4e6a7c10", 200, example(t, "checkout", "order"))
	f.accounts = newTeam(t, verifier).on("POST /v1/sessions", 201, []byte(signInAnswer))
	f.accounts.srv.Config.Handler = accountsHandler(f.accounts)

	rdb, keys := kittest.Redis(t)
	log := slog.New(slog.DiscardHandler)
	proxies, err := clientip.Parse(fo.proxies)
	if err != nil {
		t.Fatal(err)
	}
	b, err := mobile.New(mobile.Options{Proxies: proxies,
		Teams: fragments.Teams{"decide": {f.decide.srv.URL}, "inventory": {f.inventory.srv.URL}, "inspire": {f.inspire.srv.URL},
			"explore": {f.explore.srv.URL}, "checkout": {f.chk.srv.URL}, "accounts": {f.accounts.srv.URL}},
		Signer: fragments.NewKeySigner(fragments.KeyMobile, priv), Redis: rdb, Keys: keys,
		Deadlines: fo.deadlines, RatePerMinute: fo.rate, BreakerFailures: 1000, Log: log,
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(b.Close)
	srv := server.New(server.Options{Name: "mobile", Log: log})
	b.Mount(srv.App)
	ctx, cancel := context.WithCancel(context.Background())
	addr := make(chan net.Addr, 1)
	done := make(chan error, 1)
	go func() { done <- srv.Serve(ctx, "127.0.0.1:0", 5*time.Second, func(a net.Addr) { addr <- a }) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("serve: %v", err)
		}
	})
	select {
	case a := <-addr:
		f.base = "http://" + a.String()
	case err := <-done:
		t.Fatal(err)
	}
	f.v = mobiletest.Load(t, f.base)
	f.client = f.v.Client()
	return f
}

// accountsHandler answers sign-in with the example and whoami for the token "tok-good" only.
func accountsHandler(tm *team) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/v1/whoami" || (r.Method == http.MethodDelete && r.URL.Path == "/v1/sessions") {
			tm.calls.Add(1)
			if tm.hang.Load() {
				<-r.Context().Done()
				return
			}
			if r.Header.Get("Authorization") != "Bearer tok-good" {
				w.Header().Set("Content-Type", "application/json")
				w.WriteHeader(http.StatusUnauthorized)
				_, _ = w.Write([]byte(`{"error":{"code":"unauthorized","message":"Please sign in."}}`))
				return
			}
			if r.Method == http.MethodDelete {
				w.WriteHeader(http.StatusNoContent)
				return
			}
			w.Header().Set("Content-Type", "application/json")
			_, _ = w.Write([]byte(whoamiAnswer))
			return
		}
		if r.Method == http.MethodPost && r.URL.Path == "/v1/sessions" {
			var in struct{ Email, Password string }
			_ = json.NewDecoder(r.Body).Decode(&in)
			if len(in.Password) < 4 { // accounts' rule on a password's length, answered as its validation error
				w.Header().Set("Content-Type", "application/problem+json")
				w.WriteHeader(http.StatusBadRequest)
				_, _ = w.Write([]byte(`{"type":"about:blank","title":"Bad Request","status":400,"detail":"check the fields","code":"invalid","fields":{"password":"too short"}}`))
				return
			}
			if in.Password != "right" {
				w.Header().Set("Content-Type", "application/json")
				w.WriteHeader(http.StatusUnauthorized)
				_, _ = w.Write([]byte(`{"error":{"code":"unauthorized","message":"wrong"}}`))
				return
			}
		}
		tm.serve(w, r)
	})
}

type answer struct {
	status int
	header http.Header
	body   []byte
}

func (a answer) json(t testing.TB, v any) {
	t.Helper()
	if err := json.Unmarshal(a.body, v); err != nil {
		t.Fatalf("decode %s: %v", a.body, err)
	}
}

func (f *fixture) do(t testing.TB, method, path, token string, body string, header ...string) answer {
	t.Helper()
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req, err := http.NewRequest(method, f.base+path, rd)
	if err != nil {
		t.Fatal(err)
	}
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	res, err := f.client.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	if err != nil {
		t.Fatal(err)
	}
	return answer{res.StatusCode, res.Header, b}
}

// problem checks that a is an RFC 9457 problem with status.
func problem(t testing.TB, a answer, status int) {
	t.Helper()
	if a.status != status {
		t.Fatalf("status %d, want %d: %s", a.status, status, a.body)
	}
	if ct := a.header.Get("Content-Type"); !strings.HasPrefix(ct, "application/problem+json") {
		t.Fatalf("Content-Type %q, want application/problem+json: %s", ct, a.body)
	}
	var p struct {
		Title  string `json:"title"`
		Status int    `json:"status"`
		Detail string `json:"detail"`
	}
	a.json(t, &p)
	if p.Status != status || p.Title == "" {
		t.Fatalf("problem body %s: want status %d and a title", a.body, status)
	}
}

func TestProductScreen(t *testing.T) {
	f := start(t, fixtureOpts{})
	a := f.do(t, "GET", "/v1/products/AU-01?sku=AU-01-SI", "", "")
	if a.status != 200 {
		t.Fatalf("status %d: %s", a.status, a.body)
	}
	var p mobile.ProductScreen
	a.json(t, &p)
	if p.Product.Name != "Autonomous Pro" || p.Variant.SKU != "AU-01-SI" || len(p.Variants) != 2 {
		t.Errorf("product screen %s", a.body)
	}
	if p.Stock == nil || p.Stock.Quantity != 7 || !p.Stock.Available {
		t.Errorf("stock %+v", p.Stock)
	}
	if len(p.Recommendations) != 1 || p.Recommendations[0].SKU != "CL-03-GY" || len(p.Degraded) != 0 {
		t.Errorf("recommendations %+v, degraded %v", p.Recommendations, p.Degraded)
	}
	if cc := a.header.Get("Cache-Control"); cc != "private" {
		t.Errorf("Cache-Control %q", cc)
	}
	etag := a.header.Get("ETag")
	if etag == "" {
		t.Fatal("no ETag")
	}
	again := f.do(t, "GET", "/v1/products/AU-01?sku=AU-01-SI", "", "", "If-None-Match", etag)
	if again.status != http.StatusNotModified || len(again.body) != 0 || again.header.Get("ETag") != etag {
		t.Errorf("revalidation: %d %q etag %q", again.status, again.body, again.header.Get("ETag"))
	}
	// The teams saw a context signed with the BFF's key, for a guest.
	if c, _, _, _ := f.inventory.seen(); c.CustomerID != "" || c.Client == "" {
		t.Errorf("inventory's context %+v", c)
	}
	// Without sku: the first variant.
	a = f.do(t, "GET", "/v1/products/AU-01", "", "")
	a.json(t, &p)
	if a.status != 200 || p.Variant.SKU != "AU-01-SI" {
		t.Errorf("no sku: %d %s", a.status, a.body)
	}
	// An unknown variant of a known product, an unknown product.
	problem(t, f.do(t, "GET", "/v1/products/AU-01?sku=XX-99", "", ""), 404)
	problem(t, f.do(t, "GET", "/v1/products/NOPE", "", ""), 404)
	problem(t, f.do(t, "GET", "/v1/products/AU-01?sku=a%20b", "", ""), 422)
	problem(t, f.do(t, "GET", "/v1/nowhere", "", ""), 404)
}

func TestProductScreenDegraded(t *testing.T) {
	f := start(t, fixtureOpts{deadlines: mobile.Deadlines{Inspire: 300 * time.Millisecond, Inventory: 300 * time.Millisecond}})
	f.inspire.hang.Store(true)
	f.inventory.fail.Store(true)
	startAt := time.Now()
	a := f.do(t, "GET", "/v1/products/AU-01?sku=AU-01-SI", "", "")
	elapsed := time.Since(startAt)
	if a.status != 200 {
		t.Fatalf("status %d: %s", a.status, a.body)
	}
	var p mobile.ProductScreen
	a.json(t, &p)
	if strings.Join(p.Degraded, ",") != "stock,recommendations" && strings.Join(p.Degraded, ",") != "recommendations,stock" {
		t.Errorf("degraded %v", p.Degraded)
	}
	if p.Stock != nil || p.Recommendations != nil || p.Product.ID != "AU-01" {
		t.Errorf("degraded screen %s", a.body)
	}
	if elapsed < 300*time.Millisecond || elapsed > 5*time.Second {
		t.Errorf("answered after %s: the hung part's deadline is 300ms", elapsed)
	}
}

func TestPrimaryFailure(t *testing.T) {
	f := start(t, fixtureOpts{deadlines: mobile.Deadlines{Decide: 300 * time.Millisecond}})
	f.decide.hang.Store(true)
	a := f.do(t, "GET", "/v1/products/AU-01?sku=AU-01-SI", "", "")
	problem(t, a, 503)
	if a.header.Get("Retry-After") == "" {
		t.Error("503 without Retry-After")
	}
	f.decide.hang.Store(false)
	f.explore.fail.Store(true)
	problem(t, f.do(t, "GET", "/v1/home", "", ""), 503)
	problem(t, f.do(t, "GET", "/v1/search?q=titan", "", ""), 503)
}

// TestCartChangeWithItsAnswerLost: checkout took an add and did not answer in time: the app is told
// the units may have been added (504, in the OpenAPI document), not to try again, and the add was
// sent once.
func TestCartChangeWithItsAnswerLost(t *testing.T) {
	f := start(t, fixtureOpts{deadlines: mobile.Deadlines{Checkout: 300 * time.Millisecond}})
	f.chk.hang.Store(true)
	before := f.chk.calls.Load()
	a := f.do(t, "POST", "/v1/cart/items", "tok-good", `{"sku":"AU-02-OG","quantity":1}`)
	problem(t, a, 504)
	if !strings.Contains(string(a.body), "may have been applied") {
		t.Errorf("504 body %s", a.body)
	}
	if n := f.chk.calls.Load() - before; n != 1 {
		t.Errorf("the add reached checkout %d times, want once", n)
	}
	// Reading the cart while checkout hangs is a plain 503: nothing was changed.
	problem(t, f.do(t, "GET", "/v1/cart", "tok-good", ""), 503)
}

func TestCatalogScreens(t *testing.T) {
	f := start(t, fixtureOpts{})
	var home mobile.HomeScreen
	a := f.do(t, "GET", "/v1/home", "", "")
	a.json(t, &home)
	if a.status != 200 || len(home.Categories) != 1 || home.Categories[0].ID != "classic" || len(home.Stores) != 1 || len(home.Degraded) != 0 {
		t.Errorf("home %d %s", a.status, a.body)
	}
	var cat mobile.CategoryScreen
	a = f.do(t, "GET", "/v1/categories/autonomous?limit=24", "", "")
	a.json(t, &cat)
	if a.status != 200 || cat.Category.ID != "autonomous" || cat.Category.Products[0].StartPrice != 4000 {
		t.Errorf("category %d %s", a.status, a.body)
	}
	problem(t, f.do(t, "GET", "/v1/categories/nope", "", ""), 404)
	problem(t, f.do(t, "GET", "/v1/categories/autonomous?limit=1000", "", ""), 422)
	var s mobile.SearchScreen
	a = f.do(t, "GET", "/v1/search?q=titan", "", "")
	a.json(t, &s)
	if a.status != 200 || s.Query != "titan" || len(s.Products) != 1 {
		t.Errorf("search %d %s", a.status, a.body)
	}
	problem(t, f.do(t, "GET", "/v1/search", "", ""), 422)
	// The stores part degrades the home screen only.
	f.explore.on("GET /v1/stores", 500, []byte(`{}`))
	a = f.do(t, "GET", "/v1/home", "", "")
	home = mobile.HomeScreen{}
	a.json(t, &home)
	if a.status != 200 || strings.Join(home.Degraded, ",") != "stores" || home.Stores != nil {
		t.Errorf("home without stores %d %s", a.status, a.body)
	}
}

func TestSessionCartOrders(t *testing.T) {
	f := start(t, fixtureOpts{})
	problem(t, f.do(t, "POST", "/v1/session", "", `{"email":"ada@example.com","password":"wrong"}`), 401)
	a := f.do(t, "POST", "/v1/session", "", `{"email":"ada@example.com","password":"right"}`)
	if a.status != 201 {
		t.Fatalf("sign in %d %s", a.status, a.body)
	}
	var s mobile.Session
	a.json(t, &s)
	if s.Token != "tok-good" || s.Customer.ID != "cu-1" {
		t.Fatalf("session %s", a.body)
	}
	var cart mobile.Cart
	a = f.do(t, "GET", "/v1/cart", s.Token, "")
	a.json(t, &cart)
	if a.status != 200 || cart.Quantity != 2 || cart.Lines[0].SKU != "AU-02-OG" || a.header.Get("ETag") == "" {
		t.Errorf("cart %d %s", a.status, a.body)
	}
	// checkout saw the customer in a context the BFF signed, never the token.
	c, auth, _, _ := f.chk.seen()
	if c.CustomerID != "cu-1" || auth != "" {
		t.Errorf("checkout saw customer %q and Authorization %q", c.CustomerID, auth)
	}
	a = f.do(t, "POST", "/v1/cart/items", s.Token, `{"sku":"AU-02-OG","quantity":2}`)
	if a.status != 200 {
		t.Errorf("add %d %s", a.status, a.body)
	}
	if _, _, _, body := f.chk.seen(); string(body) != `{"quantity":2,"sku":"AU-02-OG"}` {
		t.Errorf("checkout got %s", body)
	}
	if a := f.do(t, "DELETE", "/v1/cart/items/AU-02-OG", s.Token, ""); a.status != 200 {
		t.Errorf("remove %d %s", a.status, a.body)
	}
	a = f.do(t, "POST", "/v1/orders", s.Token, `{"storeId":"store-a","card":"4242424242424242"}`, "Idempotency-Key", "key-1")
	var o mobile.Order
	a.json(t, &o)
	if a.status != 201 || o.ID == "" || a.header.Get("Location") != "/v1/orders/"+o.ID {
		t.Errorf("place order %d %s (Location %q)", a.status, a.body, a.header.Get("Location"))
	}
	if _, _, key, body := f.chk.seen(); key != "key-1" || strings.Contains(string(body), "expectedTotal") {
		t.Errorf("checkout got Idempotency-Key %q, body %s (no expectedTotal when the app sent none)", key, body)
	}
	// The total the app showed goes to checkout, which refuses an order that would cost another.
	f.do(t, "POST", "/v1/orders", s.Token, `{"storeId":"store-a","card":"4242424242424242","expectedTotal":11400}`, "Idempotency-Key", "key-t")
	if _, _, _, body := f.chk.seen(); !strings.Contains(string(body), `"expectedTotal":11400`) {
		t.Errorf("checkout got %s, want the app's expectedTotal", body)
	}
	problem(t, f.do(t, "POST", "/v1/orders", s.Token, `{"storeId":"store-a","card":"4242424242424242","expectedTotal":-1}`, "Idempotency-Key", "key-z"), 422)
	// A replay: checkout answers 200, and so does the BFF.
	f.chk.on("POST /v1/orders", 200, example(t, "checkout", "order"))
	if a := f.do(t, "POST", "/v1/orders", s.Token, `{"storeId":"store-a","card":"4242424242424242"}`, "Idempotency-Key", "key-1"); a.status != 200 {
		t.Errorf("replay %d %s", a.status, a.body)
	}
	problem(t, f.do(t, "POST", "/v1/orders", s.Token, `{"storeId":"store-a","card":"4242424242424242"}`), 422)
	var os mobile.Orders
	a = f.do(t, "GET", "/v1/orders", s.Token, "")
	a.json(t, &os)
	if a.status != 200 || len(os.Orders) != 1 || os.Orders[0].Status != "cancelled" {
		t.Errorf("orders %d %s", a.status, a.body)
	}
	a = f.do(t, "GET", "/v1/orders/"+o.ID, s.Token, "")
	if a.status != 200 {
		t.Errorf("order %d %s", a.status, a.body)
	}
	problem(t, f.do(t, "GET", "/v1/orders/other", s.Token, ""), 404)
	if a := f.do(t, "DELETE", "/v1/session", s.Token, ""); a.status != 204 {
		t.Errorf("sign out %d %s", a.status, a.body)
	}
	// Every answer above was checked against the document: each operation with its statuses.
	if got := len(f.v.Validated()); got < 12 {
		t.Errorf("only %d operation/status pairs validated: %v", got, f.v.Validated())
	}
}

func TestBadInput(t *testing.T) {
	f := start(t, fixtureOpts{})
	before := f.chk.calls.Load()
	for _, tc := range []struct {
		name, body string
		status     int
	}{
		{"malformed JSON", `{"sku":"AU-02-OG","quantity":`, 400},
		{"not an object", `[1]`, 422},
		{"unknown field", `{"sku":"AU-02-OG","quantity":1,"price":1}`, 422},
		// Names match exactly, once: encoding/json alone would take these as sku and quantity.
		{"names in another case", `{"SKU":"AU-02-OG","QUANTITY":1}`, 422},
		{"a Unicode fold", `{"sku":"AU-02-OG","quantity":1,"ſku":"CL-11-SK"}`, 422},
		{"a name twice", `{"sku":"AU-02-OG","quantity":1,"sku":"CL-11-SK"}`, 422},
		{"quantity 0", `{"sku":"AU-02-OG","quantity":0}`, 422},
		{"quantity -1", `{"sku":"AU-02-OG","quantity":-1}`, 422},
		{"quantity 100", `{"sku":"AU-02-OG","quantity":100}`, 422},
		{"quantity 1.5", `{"sku":"AU-02-OG","quantity":1.5}`, 422},
		{"quantity a string", `{"sku":"AU-02-OG","quantity":"1"}`, 422},
		{"no quantity", `{"sku":"AU-02-OG"}`, 422},
		{"bad sku", `{"sku":"../x","quantity":1}`, 422},
		{"over the limit", `{"sku":"AU-02-OG","quantity":1,"x":"` + strings.Repeat("a", 20<<10) + `"}`, 413},
	} {
		t.Run(tc.name, func(t *testing.T) {
			problem(t, f.do(t, "POST", "/v1/cart/items", "tok-good", tc.body), tc.status)
		})
	}
	if n := f.chk.calls.Load(); n != before {
		t.Errorf("checkout was called %d times for bad input", n-before)
	}
	// A body the schema takes and Go's decoder does not is explained in the API's words.
	if a := f.do(t, "POST", "/v1/cart/items", "tok-good", `{"sku":"AU-02-OG","quantity":1e1}`); a.status < 400 || a.status > 499 ||
		strings.Contains(string(a.body), "Go struct") || !strings.Contains(string(a.body), "quantity must be a whole number") {
		t.Errorf("quantity 1e1: %d %s", a.status, a.body)
	}
	// No token, a forged or expired one: 401 before checkout hears of it.
	problem(t, f.do(t, "POST", "/v1/cart/items", "", `{"sku":"AU-02-OG","quantity":1}`), 401)
	a := f.do(t, "POST", "/v1/cart/items", "tok-forged", `{"sku":"AU-02-OG","quantity":1}`)
	problem(t, a, 401)
	if !strings.HasPrefix(a.header.Get("WWW-Authenticate"), "Bearer") {
		t.Errorf("WWW-Authenticate %q", a.header.Get("WWW-Authenticate"))
	}
	problem(t, f.do(t, "GET", "/v1/orders", "tok-forged", ""), 401)
	if n := f.chk.calls.Load(); n != before {
		t.Errorf("checkout was called %d times without a valid token", n-before)
	}
	// An unknown sku is checkout's 404, passed on.
	f.chk.on("POST /v1/cart/items", 404, []byte(`{"type":"about:blank","title":"Not Found","status":404,"detail":"no variant XX-1","code":"not_found"}`))
	a = f.do(t, "POST", "/v1/cart/items", "tok-good", `{"sku":"XX-1","quantity":1}`)
	problem(t, a, 404)
	if !bytes.Contains(a.body, []byte("no variant XX-1")) {
		t.Errorf("404 without checkout's detail: %s", a.body)
	}
	// A wrong password is 401 whichever rule it broke (accounts' 400 for a too short one included).
	problem(t, f.do(t, "POST", "/v1/session", "", `{"email":"ada@example.com","password":"x"}`), 401)
	// huma's validation errors name the field and the rule, never echo the value: no password, no card
	// number in an answer an app or a proxy may log.
	a = f.do(t, "POST", "/v1/session", "", `{"email":"ada@example.com","password":"S3cret-pass","remember":true}`)
	problem(t, a, 422)
	if bytes.Contains(a.body, []byte("S3cret-pass")) || bytes.Contains(a.body, []byte(`"value"`)) {
		t.Errorf("the 422 echoes the request: %s", a.body)
	}
	a = f.do(t, "POST", "/v1/orders", "tok-good", `{"storeId":"store-a","card":"4242424242424242","x":1}`)
	problem(t, a, 422)
	if bytes.Contains(a.body, []byte("4242424242424242")) {
		t.Errorf("the 422 echoes the card number: %s", a.body)
	}
	// checkout's own validation (400 naming fields) is a 422 with a detail for each field.
	f.chk.on("POST /v1/orders", 400, []byte(`{"type":"about:blank","title":"Bad Request","status":400,"detail":"check the fields","code":"invalid","fields":{"card":"the card number is not valid"}}`))
	a = f.do(t, "POST", "/v1/orders", "tok-good", `{"storeId":"store-a","card":"4242424242424241"}`, "Idempotency-Key", "key-bad-card")
	problem(t, a, 422)
	var p struct {
		Errors []struct{ Location, Message string } `json:"errors"`
	}
	a.json(t, &p)
	if len(p.Errors) != 1 || p.Errors[0].Location != "body.card" || p.Errors[0].Message != "the card number is not valid" ||
		bytes.Contains(a.body, []byte("4242424242424241")) {
		t.Errorf("checkout's field errors not passed on: %s", a.body)
	}
	// A parameter named twice is refused, as the teams refuse it: nothing reads one of the two.
	a = f.do(t, "GET", "/v1/search?q=tractor&limit=1&limit=50", "tok-good", "")
	problem(t, a, 400)
	if !bytes.Contains(a.body, []byte(`\"limit\" is given more than once`)) {
		t.Errorf("a repeated parameter: %s", a.body)
	}
	// A known path with a method it does not take is 405 with Allow; an unknown path 404.
	for _, tc := range []struct{ method, path, allow string }{
		{"PUT", "/v1/orders", "GET, POST"},
		{"HEAD", "/v1/orders", "GET, POST"}, // huma routes GET alone: Allow names only what is served
		{"GET", "/v1/cart/items", "POST"},
		{"POST", "/v1/products/AU-02", "GET"},
		{"PATCH", "/v1/session", "POST, DELETE"},
		{"PUT", "/V1/Orders", "GET, POST"},
	} {
		a = f.do(t, tc.method, tc.path, "tok-good", "")
		if tc.method == "HEAD" { // no body to read a problem from
			if a.status != 405 {
				t.Errorf("HEAD %s: %d, want 405", tc.path, a.status)
			}
		} else {
			problem(t, a, 405)
		}
		if got := a.header.Get("Allow"); got != tc.allow {
			t.Errorf("%s %s: Allow %q, want %q", tc.method, tc.path, got, tc.allow)
		}
	}
	problem(t, f.do(t, "GET", "/v1/nothing/here", "tok-good", ""), 404)
	problem(t, f.do(t, "GET", "/v1/products/AU-02/extra", "tok-good", ""), 404)
	// Accounts down: 503, not a guest.
	f.accounts.hang.Store(true)
	problem(t, f.do(t, "GET", "/v1/cart", "tok-other", ""), 503)
}

// TestRateLimit: a client address may make RatePerMinute requests a minute; an X-Forwarded-For of
// its own invention changes nothing (no trusted proxies).
func TestRateLimit(t *testing.T) {
	f := start(t, fixtureOpts{rate: 3})
	for i := range 3 {
		if a := f.do(t, "GET", "/v1/search?q=titan", "", "", "X-Forwarded-For", fmt.Sprintf("198.51.100.%d", i)); a.status != 200 {
			t.Fatalf("request %d: %d %s", i+1, a.status, a.body)
		}
	}
	a := f.do(t, "GET", "/v1/search?q=titan", "", "", "X-Forwarded-For", "203.0.113.77")
	problem(t, a, 429)
	if a.header.Get("Retry-After") == "" {
		t.Error("429 without Retry-After")
	}
	if c, _, _, _ := f.explore.seen(); c.Client != "127.0.0.1" {
		t.Errorf("explore saw client %q, want the connection's peer", c.Client)
	}
}

// TestRateLimitBehindProxy: behind a trusted proxy (INLAY_TRUSTED_PROXIES) each client is limited on
// its own, by the address the proxy appended, and that is the address signed for the teams (accounts'
// sign-in limits); an IPv6 client by its /64, whatever address of it it comes from.
func TestRateLimitBehindProxy(t *testing.T) {
	f := start(t, fixtureOpts{rate: 3, proxies: "127.0.0.1"})
	for _, client := range []string{"198.51.100.7", "2001:db8:1:2::1"} {
		for i := range 3 {
			if a := f.do(t, "GET", "/v1/search?q=titan", "", "", "X-Forwarded-For", "10.9.9.9, "+client); a.status != 200 {
				t.Fatalf("%s, request %d: %d %s", client, i+1, a.status, a.body)
			}
		}
		if c, _, _, _ := f.explore.seen(); c.Client != client {
			t.Errorf("explore saw client %q, want %s", c.Client, client)
		}
	}
	problem(t, f.do(t, "GET", "/v1/search?q=titan", "", "", "X-Forwarded-For", "198.51.100.7"), 429)
	problem(t, f.do(t, "GET", "/v1/search?q=titan", "", "", "X-Forwarded-For", "2001:db8:1:2:ffff::9"), 429)
	if a := f.do(t, "GET", "/v1/search?q=titan", "", "", "X-Forwarded-For", "198.51.100.8"); a.status != 200 {
		t.Errorf("another client behind the proxy: %d %s, want its own limit", a.status, a.body)
	}
}

func TestOpenAPIDocument(t *testing.T) {
	f := start(t, fixtureOpts{})
	a := f.do(t, "GET", "/v1/openapi.json", "", "")
	var doc struct {
		OpenAPI string                               `json:"openapi"`
		Paths   map[string]map[string]map[string]any `json:"paths"`
	}
	a.json(t, &doc)
	if a.status != 200 || !strings.HasPrefix(doc.OpenAPI, "3.1") {
		t.Fatalf("document %d %.200s", a.status, a.body)
	}
	want := map[string][]string{
		"/v1/home": {"get"}, "/v1/categories/{id}": {"get"}, "/v1/products/{id}": {"get"}, "/v1/search": {"get"},
		"/v1/cart": {"get"}, "/v1/cart/items": {"post"}, "/v1/cart/items/{sku}": {"delete"},
		"/v1/orders": {"get", "post"}, "/v1/orders/{id}": {"get"}, "/v1/session": {"post", "delete"},
	}
	for path, methods := range want {
		for _, m := range methods {
			if doc.Paths[path][m] == nil {
				t.Errorf("the document has no %s %s", m, path)
			}
		}
	}
}

// TestValidatorCatchesDrift shows the OpenAPI check fails an answer that does not match the document.
func TestValidatorCatchesDrift(t *testing.T) {
	f := start(t, fixtureOpts{})
	req, err := http.NewRequest(http.MethodGet, f.base+"/v1/search?q=titan", nil)
	if err != nil {
		t.Fatal(err)
	}
	h := http.Header{"Content-Type": {"application/json"}}
	if err := f.v.Check(req, 200, h, []byte(`{"query":"titan","limit":"20","offset":0,"more":false,"products":[]}`)); err == nil {
		t.Error("a limit of the wrong type passed")
	}
	if err := f.v.Check(req, 200, h, []byte(`{"query":"titan","limit":20,"offset":0,"more":false}`)); err == nil {
		t.Error("an answer without products passed")
	}
	if err := f.v.Check(req, 201, h, []byte(`{}`)); err == nil {
		t.Error("an undocumented status passed")
	}
	if err := f.v.Check(req, 200, h, []byte(`{"query":"titan","limit":20,"offset":0,"more":false,"products":[]}`)); err != nil {
		t.Errorf("a good answer failed: %v", err)
	}
}

//go:build e2e

package e2e

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/inlay-dev/inlay/bff/mobile"
	"github.com/inlay-dev/inlay/bff/mobile/mobiletest"
	"github.com/inlay-dev/inlay/fragments"
	"github.com/inlay-dev/inlay/services/kit/kittest"
	"github.com/inlay-dev/inlay/services/kit/redisdb"
	"github.com/inlay-dev/inlay/services/kit/server"
)

// mobileAnswer is one answer of the BFF.
type mobileAnswer struct {
	status int
	header http.Header
	body   []byte
}

func (a mobileAnswer) decode(t testing.TB, v any) {
	t.Helper()
	if err := json.Unmarshal(a.body, v); err != nil {
		t.Fatalf("decode %s: %v", a.body, err)
	}
}

func (a mobileAnswer) problem(t testing.TB, status int) {
	t.Helper()
	if a.status != status || !strings.HasPrefix(a.header.Get("Content-Type"), "application/problem+json") {
		t.Fatalf("status %d (%s), want %d with a problem body: %s", a.status, a.header.Get("Content-Type"), status, a.body)
	}
	var p struct {
		Status int    `json:"status"`
		Title  string `json:"title"`
	}
	a.decode(t, &p)
	if p.Status != status || p.Title == "" {
		t.Fatalf("problem body %s", a.body)
	}
}

// mobileCall makes one request of the BFF at base with client (whose answers are validated against
// the BFF's OpenAPI document).
func mobileCall(t testing.TB, client *http.Client, base, method, path, token, body string, header ...string) mobileAnswer {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req, err := http.NewRequestWithContext(ctx, method, base+path, rd)
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
	res, err := client.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	if err != nil {
		t.Fatal(err)
	}
	return mobileAnswer{res.StatusCode, res.Header, b}
}

// mobileRegister makes a customer account through the storefront's form (the BFF signs in; it does
// not register).
func mobileRegister(t testing.TB, p *Platform, name, email, password string) {
	t.Helper()
	jar, err := cookiejar.New(nil)
	if err != nil {
		t.Fatal(err)
	}
	client := &http.Client{Jar: jar, Timeout: 10 * time.Second,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	_, doc := sfGet(t, client, p.Shell+"/account/register")
	csrf := doc.Find(`input[name="csrf"]`).AttrOr("value", "")
	form := url.Values{"csrf": {csrf}, "name": {name}, "email": {email}, "password": {password}}
	res, err := client.PostForm(p.Shell+"/accounts/register", form)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != http.StatusSeeOther {
		t.Fatalf("register %s: %d", email, res.StatusCode)
	}
}

// TestMobile drives the mobile BFF over HTTP alone on a running platform (issue 14): the catalog
// screens, sign in → add to cart → place order → confirmed (the same Idempotency-Key again is the
// same order, listed once), bad input refused with problem bodies and nothing stored, an expired and
// a forged token refused. Every answer is validated against the BFF's OpenAPI document.
func TestMobile(t *testing.T) {
	t.Parallel()
	p := Start(t, WithEnv("MOBILE_TOKEN_TTL=1s", "MOBILE_RATE_LIMIT=100000"))
	base := p.URL(t, "mobile")
	v := mobiletest.Load(t, base)
	client := v.Client()
	call := func(method, path, token, body string, header ...string) mobileAnswer {
		t.Helper()
		return mobileCall(t, client, base, method, path, token, body, header...)
	}

	// Catalog: home → a category's product → its product screen, every part there.
	var home mobile.HomeScreen
	var a mobileAnswer
	sfEventually(t, 30*time.Second, "the home screen with products and stores", func() (bool, string) {
		home = mobile.HomeScreen{}
		a = call("GET", "/v1/home", "", "")
		a.decode(t, &home)
		return a.status == 200 && len(home.Categories) > 0 && len(home.Categories[0].Products) > 0 && len(home.Stores) > 0,
			fmt.Sprintf("%d %.300s", a.status, a.body)
	})
	var product mobile.ProductScreen
	var sku string
	sfEventually(t, 30*time.Second, "a product screen with stock and recommendations", func() (bool, string) {
		for _, cat := range home.Categories {
			for _, pr := range cat.Products {
				a = call("GET", "/v1/products/"+pr.ID, "", "")
				product = mobile.ProductScreen{}
				a.decode(t, &product)
				if a.status == 200 && len(product.Degraded) == 0 && product.Stock != nil && product.Stock.Quantity >= 3 &&
					len(product.Recommendations) > 0 {
					sku = product.Variant.SKU
					return true, ""
				}
			}
		}
		return false, fmt.Sprintf("%d %.300s", a.status, a.body)
	})
	if a.header.Get("Cache-Control") != "private" || a.header.Get("ETag") == "" {
		t.Errorf("product screen headers %v", a.header)
	}
	if again := call("GET", "/v1/products/"+product.Product.ID, "", "", "If-None-Match", a.header.Get("ETag")); again.status != 304 {
		t.Errorf("revalidation: %d", again.status)
	}
	var cat mobile.CategoryScreen
	if a := call("GET", "/v1/categories/"+home.Categories[0].ID, "", ""); a.status != 200 {
		t.Errorf("category: %d %.300s", a.status, a.body)
	} else if a.decode(t, &cat); len(cat.Category.Products) == 0 {
		t.Errorf("category without products: %.300s", a.body)
	}
	var found mobile.SearchScreen
	if a := call("GET", "/v1/search?q="+url.QueryEscape(strings.Fields(product.Product.Name)[0]), "", ""); a.status != 200 {
		t.Errorf("search: %d %.300s", a.status, a.body)
	} else if a.decode(t, &found); len(found.Products) == 0 {
		t.Errorf("search found nothing: %.300s", a.body)
	}

	// Sign in (the account is made on the storefront).
	mobileRegister(t, p, "Ada Lovelace", "ada@example.com", "analytical engine 1843")
	call("POST", "/v1/session", "", `{"email":"ada@example.com","password":"wrong password"}`).problem(t, 401)
	var session mobile.Session
	a = call("POST", "/v1/session", "", `{"email":"ada@example.com","password":"analytical engine 1843"}`)
	if a.status != 201 {
		t.Fatalf("sign in: %d %s", a.status, a.body)
	}
	a.decode(t, &session)
	tok := session.Token

	// Bad input: the right 4xx with a problem body, and nothing stored.
	for _, bad := range []struct {
		name, body string
		status     int
	}{
		{"malformed JSON", `{"sku":"` + sku + `","quantity":`, 400},
		{"unknown field", `{"sku":"` + sku + `","quantity":1,"price":1}`, 422},
		{"quantity 0", `{"sku":"` + sku + `","quantity":0}`, 422},
		{"quantity -1", `{"sku":"` + sku + `","quantity":-1}`, 422},
		{"quantity 100", `{"sku":"` + sku + `","quantity":100}`, 422},
		{"quantity 1.5", `{"sku":"` + sku + `","quantity":1.5}`, 422},
		{"unknown sku", `{"sku":"NO-SUCH-SKU","quantity":1}`, 404},
		{"over the body limit", `{"sku":"` + sku + `","quantity":1,"note":"` + strings.Repeat("x", 32<<10) + `"}`, 413},
	} {
		t.Run("bad "+bad.name, func(t *testing.T) {
			mobileCall(t, client, base, "POST", "/v1/cart/items", tok, bad.body).problem(t, bad.status)
		})
	}
	call("POST", "/v1/cart/items", "forged-token", `{"sku":"`+sku+`","quantity":1}`).problem(t, 401)
	call("POST", "/v1/cart/items", "", `{"sku":"`+sku+`","quantity":1}`).problem(t, 401)
	var cart mobile.Cart
	a = call("GET", "/v1/cart", tok, "")
	a.decode(t, &cart)
	if a.status != 200 || len(cart.Lines) != 0 {
		t.Fatalf("after bad input the cart holds %d %.300s", a.status, a.body)
	}

	// Add → cart → place order → confirmed.
	a = call("POST", "/v1/cart/items", tok, `{"sku":"`+sku+`","quantity":2}`)
	a.decode(t, &cart)
	if a.status != 200 || cart.Quantity != 2 || cart.Lines[0].SKU != sku {
		t.Fatalf("add: %d %.300s", a.status, a.body)
	}
	const key = "e2e-mobile-order-1"
	order := `{"storeId":"` + home.Stores[0].ID + `","card":"` + sfCardOK + `"}`
	var placed mobile.Order
	a = call("POST", "/v1/orders", tok, order, "Idempotency-Key", key)
	if a.status != 201 {
		t.Fatalf("place order: %d %s", a.status, a.body)
	}
	a.decode(t, &placed)
	var again mobile.Order
	a = call("POST", "/v1/orders", tok, order, "Idempotency-Key", key)
	a.decode(t, &again)
	if a.status != 200 || again.ID != placed.ID {
		t.Errorf("the same key again: %d %s, want 200 with order %s", a.status, a.body, placed.ID)
	}
	sfEventually(t, 30*time.Second, "the order confirmed", func() (bool, string) {
		var o mobile.Order
		a := call("GET", "/v1/orders/"+placed.ID, tok, "")
		a.decode(t, &o)
		return a.status == 200 && o.Status == "confirmed", string(a.body)
	})
	var orders mobile.Orders
	a = call("GET", "/v1/orders", tok, "")
	a.decode(t, &orders)
	if a.status != 200 || len(orders.Orders) != 1 || orders.Orders[0].ID != placed.ID {
		t.Errorf("orders: %d %s, want order %s once", a.status, a.body, placed.ID)
	}
	a = call("GET", "/v1/cart", tok, "")
	cart = mobile.Cart{}
	a.decode(t, &cart)
	if len(cart.Lines) != 0 {
		t.Errorf("the cart after the order: %s", a.body)
	}

	// An expired session's token is refused (accounts' session key expires in Redis; the BFF
	// remembers a token for MOBILE_TOKEN_TTL=1s).
	rdb, err := redisdb.Open(context.Background(), kittest.RedisURL())
	if err != nil {
		t.Fatal(err)
	}
	defer rdb.Close()
	sum := sha256.Sum256([]byte(tok))
	skey := p.RedisPrefix + "accounts:session:" + hex.EncodeToString(sum[:])
	if n, err := rdb.PExpire(context.Background(), skey, time.Millisecond).Result(); err != nil || !n {
		t.Fatalf("expire the session %s: %v %v", skey, n, err)
	}
	sfEventually(t, 10*time.Second, "the expired token refused", func() (bool, string) {
		a := call("GET", "/v1/cart", tok, "")
		return a.status == 401, fmt.Sprint(a.status)
	})
	call("POST", "/v1/cart/items", tok, `{"sku":"`+sku+`","quantity":1}`).problem(t, 401)

	// Sign out ends a fresh token at once.
	a = call("POST", "/v1/session", "", `{"email":"ada@example.com","password":"analytical engine 1843"}`)
	a.decode(t, &session)
	if a := call("DELETE", "/v1/session", session.Token, ""); a.status != 204 {
		t.Errorf("sign out: %d %s", a.status, a.body)
	}
	call("GET", "/v1/cart", session.Token, "").problem(t, 401)
	if len(v.Validated()) < 15 {
		t.Errorf("only %d operation/status pairs validated", len(v.Validated()))
	}
}

// hungListener accepts connections and never answers: a team that hangs.
func hungListener(t testing.TB) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() {
		var conns []net.Conn
		defer func() {
			for _, c := range conns {
				c.Close()
			}
		}()
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			conns = append(conns, c)
		}
	}()
	t.Cleanup(func() { ln.Close(); close(done) })
	return "http://" + ln.Addr().String()
}

// startMobile runs a BFF in the test against the platform's teams, with replace's teams swapped
// (a hung one), and default deadlines.
func startMobile(t testing.TB, p *Platform, rdb *redis.Client, replace map[string]string) string {
	t.Helper()
	teams := fragments.Teams{}
	for _, name := range []string{"decide", "explore", "checkout", "inspire", "inventory", "accounts"} {
		teams[name] = []string{p.URL(t, name)}
	}
	for k, v := range replace {
		teams[k] = []string{v}
	}
	_, priv, err := fragments.GenerateKey()
	if err != nil {
		t.Fatal(err)
	}
	log := slog.New(slog.DiscardHandler)
	b, err := mobile.New(mobile.Options{Teams: teams, Signer: fragments.NewKeySigner(fragments.KeyMobile, priv), Redis: rdb,
		Keys: redisdb.Keys(p.RedisPrefix + "mobiletest:"), RatePerMinute: 100000, Log: log})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(b.Close)
	srv := server.New(server.Options{Name: "mobile", Log: log})
	b.Mount(srv.App)
	ctx, cancel := context.WithCancel(context.Background())
	addrc := make(chan net.Addr, 1)
	done := make(chan error, 1)
	go func() { done <- srv.Serve(ctx, "127.0.0.1:0", 5*time.Second, func(a net.Addr) { addrc <- a }) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("serve: %v", err)
		}
	})
	select {
	case a := <-addrc:
		return "http://" + a.String()
	case err := <-done:
		t.Fatal(err)
	}
	return ""
}

// TestMobileDegraded: with inspire hung the product screen answers 200 within the recommendations'
// deadline (500 ms) + 50 ms, naming them in "degraded"; with decide hung it answers 503 within
// decide's deadline (1 s) + 100 ms (issue 14's bounds).
func TestMobileDegraded(t *testing.T) {
	p := Start(t, Only("decide", "inventory", "inspire", "explore"))
	rdb, err := redisdb.Open(context.Background(), kittest.RedisURL())
	if err != nil {
		t.Fatal(err)
	}
	defer rdb.Close()
	// A product and a sku the running teams know (inspire's read model filled from decide's events).
	healthy := startMobile(t, p, rdb, nil)
	client := mobiletest.Load(t, healthy).Client()
	path := mobileProductPath(t, p, healthy)
	id := strings.TrimPrefix(path[:strings.Index(path, "?")], "/v1/products/")

	t.Run("inspire hung", func(t *testing.T) {
		base := startMobile(t, p, rdb, map[string]string{"inspire": hungListener(t)})
		mobileCall(t, client, base, "GET", path, "", "") // connections to the other teams
		for range 3 {
			start := time.Now()
			a := mobileCall(t, client, base, "GET", path, "", "")
			elapsed := time.Since(start)
			var ps mobile.ProductScreen
			a.decode(t, &ps)
			if a.status != 200 || strings.Join(ps.Degraded, ",") != "recommendations" || ps.Stock == nil || ps.Product.ID != id {
				t.Fatalf("status %d: %s", a.status, a.body)
			}
			if elapsed > 550*time.Millisecond {
				t.Errorf("answered after %s, want within 500ms + 50ms", elapsed)
			}
		}
	})
	t.Run("decide hung", func(t *testing.T) {
		base := startMobile(t, p, rdb, map[string]string{"decide": hungListener(t)})
		for range 2 {
			start := time.Now()
			a := mobileCall(t, client, base, "GET", path, "", "")
			elapsed := time.Since(start)
			a.problem(t, 503)
			if elapsed > 1100*time.Millisecond {
				t.Errorf("503 after %s, want within 1s + 100ms", elapsed)
			}
		}
	})
}

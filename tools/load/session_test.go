package load

import (
	"context"
	"crypto/rand"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"
)

// shop is a small storefront with the real one's routes, links, forms and rules that matter to a
// session: a CSRF cookie set on the first page, whose value every form carries and every post must
// send back from the same origin; a cart per cookie; orders whose status is pending on the first poll
// and final after it (confirmed, or cancelled for the declined card).
type shop struct {
	t      *testing.T
	origin string

	mu     sync.Mutex
	carts  map[string][]string // by csrf cookie
	orders map[string]*shopOrder
	polls  int
}

type shopOrder struct {
	polls  int
	status string
}

func newShop(t *testing.T) (*shop, *httptest.Server) {
	s := &shop{t: t, carts: map[string][]string{}, orders: map[string]*shopOrder{}}
	srv := httptest.NewServer(s)
	t.Cleanup(srv.Close)
	s.origin = srv.URL
	return s, srv
}

const shopLayout = `<html><body><header><a href="/">Home</a><a href="/products">Machines</a>
<form action="/search" method="get"><input type="search" name="q"></form></header>%s</body></html>`

func (s *shop) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	token := ""
	if c, err := r.Cookie("inlay_csrf"); err == nil {
		token = c.Value
	} else {
		token = rand.Text()
		http.SetCookie(w, &http.Cookie{Name: "inlay_csrf", Value: token, Path: "/", HttpOnly: true})
	}
	page := func(body string) { fmt.Fprintf(w, shopLayout, body) }
	addForm := func(sku string) string {
		return fmt.Sprintf(`<form method="post" action="/checkout/cart/add" data-checkout-add-to-cart><input type="hidden" name="csrf" value="%s"><input type="hidden" name="sku" value="%s"><button type="submit" data-testid="add-to-cart-button">add to basket</button></form>`, token, sku)
	}
	if r.Method == http.MethodPost {
		if r.Header.Get("Sec-Fetch-Site") != "same-origin" || r.Header.Get("Origin") != s.origin {
			http.Error(w, "cross-origin request refused", http.StatusForbidden)
			return
		}
		if err := r.ParseForm(); err != nil || r.PostForm.Get("csrf") != token {
			http.Error(w, "missing or invalid CSRF token", http.StatusForbidden)
			return
		}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	switch p := r.URL.Path; {
	case p == "/" && r.Method == http.MethodGet:
		page(`<a href="/products/classic">Classics</a><a href="/products/autonomous">Autonomous</a>`)
	case p == "/products" || p == "/products/classic" || p == "/products/autonomous":
		page(`<a href="/product/CL-01">one</a><a href="/product/CL-02">two</a>`)
	case strings.HasPrefix(p, "/product/"):
		id := strings.TrimPrefix(p, "/product/")
		sku := r.URL.Query().Get("sku")
		if sku == "" {
			http.Redirect(w, r, "/product/"+id+"?sku="+id+"-RD", http.StatusFound)
			return
		}
		page(fmt.Sprintf(`<a href="/product/%s?sku=%s-RD">red</a><a href="/product/%s?sku=%s-GR">green</a>%s`, id, id, id, id, addForm(sku)))
	case p == "/search":
		if r.URL.Query().Get("q") == "" {
			http.Error(w, "no query", http.StatusBadRequest)
			return
		}
		page(`<a href="/product/CL-02?sku=CL-02-GR">found</a>`)
	case p == "/checkout/cart/add" && r.Method == http.MethodPost:
		s.carts[token] = append(s.carts[token], r.PostForm.Get("sku"))
		http.Redirect(w, r, "/checkout/cart", http.StatusSeeOther)
	case p == "/checkout/cart":
		var lines strings.Builder
		for _, sku := range s.carts[token] {
			fmt.Fprintf(&lines, `<li data-testid="cart-line" data-sku="%s"></li>`, sku)
		}
		page(lines.String())
	case p == "/checkout/checkout":
		page(fmt.Sprintf(`<form method="post" action="/checkout/place-order" data-checkout-form><input type="hidden" name="csrf" value="%s"><input type="hidden" name="idempotency_key" value="%s"><input type="hidden" name="basket" value="v1"><li data-store-id="store-a"></li><li data-store-id="store-b"></li></form>`, token, rand.Text()))
	case p == "/checkout/place-order" && r.Method == http.MethodPost:
		f := r.PostForm
		if len(s.carts[token]) == 0 || f.Get("first_name") == "" || f.Get("store") == "" || f.Get("idempotency_key") == "" || f.Get("basket") != "v1" {
			http.Redirect(w, r, "/checkout/checkout", http.StatusSeeOther)
			return
		}
		status := "confirmed"
		if f.Get("card") == CardDeclined {
			status = "cancelled"
		}
		id := rand.Text()
		s.orders[id] = &shopOrder{status: status}
		delete(s.carts, token)
		http.Redirect(w, r, "/checkout/thanks?order="+id, http.StatusSeeOther)
	case p == "/checkout/thanks":
		if s.orders[r.URL.Query().Get("order")] == nil {
			http.NotFound(w, r)
			return
		}
		page(`<h1>Thanks for your order!</h1>`)
	case strings.HasPrefix(p, "/checkout/orders/") && strings.HasSuffix(p, "/status"):
		o := s.orders[strings.TrimSuffix(strings.TrimPrefix(p, "/checkout/orders/"), "/status")]
		if o == nil {
			http.NotFound(w, r)
			return
		}
		s.polls++
		o.polls++
		status, final := "pending", false
		if o.polls > 1 {
			status, final = o.status, true
		}
		w.Header().Set("Content-Type", "application/json")
		fmt.Fprintf(w, `{"orderId":%q,"status":%q,"reason":"","final":%t}`, "x", status, final)
	default:
		http.NotFound(w, r)
	}
}

func newShopping(t *testing.T, srv *httptest.Server, declined float64) *Shopping {
	base, err := url.Parse(srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	return &Shopping{Base: base, Transport: srv.Client().Transport, Recorder: NewRecorder(time.Now()), Declined: declined,
		Poll: time.Millisecond, OrderTimeout: time.Minute, RequestTimeout: time.Minute}
}

func rowsByName(s Summary) map[string]Row {
	m := map[string]Row{}
	for _, r := range s.Rows {
		m[r.Name] = r
	}
	return m
}

// TestSessions runs every kind of session against the shop: each gets through without an error,
// sending the CSRF token from its own cookie and Sec-Fetch-Site as a browser does.
func TestSessions(t *testing.T) {
	want := map[Kind][]string{
		Browse:    {PageHome, PageCategory, StepRedirect, PageProduct, PageVariant},
		Search:    {PageHome, PageSearch, PageProduct},
		AddToCart: {PageHome, PageCategory, StepRedirect, PageProduct, StepAddToCart, PageCart},
		Buy: {PageHome, PageCategory, StepRedirect, PageProduct, StepAddToCart, PageCart, PageCheckout, StepPlaceOrder,
			PageThanks, StepStatus, WaitConfirmed},
	}
	for kind, names := range want {
		t.Run(kind.String(), func(t *testing.T) {
			_, srv := newShop(t)
			sh := newShopping(t, srv, 0)
			for seed := range uint64(10) {
				if err := Run(context.Background(), sh, kind, seed); err != nil {
					t.Fatalf("session %d: %v", seed, err)
				}
			}
			sum := sh.Recorder.Summary(time.Second)
			if sum.Total.Errors != 0 {
				t.Fatalf("%d errors: %v", sum.Total.Errors, sum.ErrorSamples)
			}
			rows := rowsByName(sum)
			for _, name := range names {
				if rows[name].Count == 0 {
					t.Errorf("%s session recorded no %q; rows %v", kind, name, rows)
				}
			}
		})
	}
}

// TestBuyDeclined pays every order with the declined card: the session expects the order cancelled,
// and one that is confirmed instead is an error.
func TestBuyDeclined(t *testing.T) {
	shop, srv := newShop(t)
	sh := newShopping(t, srv, 1)
	if err := Run(context.Background(), sh, Buy, 1); err != nil {
		t.Fatal(err)
	}
	for _, o := range shop.orders {
		if o.status != "cancelled" {
			t.Errorf("order %+v, want paid with the declined card", o)
		}
	}
	// The shop confirms every order now: a session that paid with the declined card reports it.
	shop.mu.Lock()
	shop.orders = map[string]*shopOrder{}
	shop.mu.Unlock()
	srvConfirm := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if strings.HasSuffix(r.URL.Path, "/status") {
			fmt.Fprint(w, `{"status":"confirmed","final":true}`)
			return
		}
		shop.ServeHTTP(w, r)
	}))
	defer srvConfirm.Close()
	shop.origin = srvConfirm.URL
	sh = newShopping(t, srvConfirm, 1)
	if err := Run(context.Background(), sh, Buy, 2); err == nil || !strings.Contains(err.Error(), "became confirmed") {
		t.Fatalf("buy with a declined card that got confirmed: %v, want an error", err)
	}
	if r := rowsByName(sh.Recorder.Summary(time.Second))[WaitCancelled]; r.Errors != 1 {
		t.Errorf("%s row %+v, want 1 error", WaitCancelled, r)
	}
}

// TestSessionRefused: a storefront that refuses the post is seen as an error of that step.
func TestSessionRefused(t *testing.T) {
	shop, srv := newShop(t)
	shop.origin = "http://elsewhere.example" // every post now looks cross-origin to the shop
	sh := newShopping(t, srv, 0)
	if err := Run(context.Background(), sh, AddToCart, 1); err == nil || !strings.Contains(err.Error(), "status 403") {
		t.Fatalf("add to cart on a shop that refuses it: %v, want status 403", err)
	}
	if r := rowsByName(sh.Recorder.Summary(time.Second))[StepAddToCart]; r.Count != 1 || r.Errors != 1 {
		t.Errorf("%s row %+v, want 1 request, 1 error", StepAddToCart, r)
	}
}

// TestGenerator starts Rate×Duration sessions of the mix, each recorded.
func TestGenerator(t *testing.T) {
	_, srv := newShop(t)
	g := &Generator{Shopping: newShopping(t, srv, 0.5), Mix: DefaultMix, Rate: 50, Duration: time.Second,
		MaxActive: 1000, Drain: time.Minute, Seed: 7}
	sum, err := g.Run(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if sum.Sessions != 50 || sum.Total.Errors != 0 || sum.Total.Count < 150 {
		t.Errorf("%d sessions, %d requests, %d errors (%v); want 50 sessions, at least 3 requests each, no error",
			sum.Sessions, sum.Total.Count, sum.Total.Errors, sum.ErrorSamples)
	}
	if _, err := (&Generator{Shopping: g.Shopping, Mix: Mix{Browse: 50}, Rate: 1, Duration: time.Second}).Run(context.Background()); err == nil {
		t.Error("a mix that does not add up to 100 ran")
	}
}

package server

import (
	"fmt"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/inlay-dev/inlay/fragments"
	"github.com/inlay-dev/inlay/shell"
)

// fakeAccounts answers /v1/whoami for the session "good-session" with customer c-1, 401 for any
// other, and counts the calls.
func fakeAccounts(t *testing.T, calls *atomic.Int32) *team {
	t.Helper()
	tm := newTeam(t)
	tm.handle("/v1/whoami", func(w http.ResponseWriter, r *http.Request) {
		calls.Add(1)
		if r.Header.Get("Authorization") != "Bearer good-session" {
			w.WriteHeader(http.StatusUnauthorized)
			return
		}
		fmt.Fprint(w, `{"customerId":"c-1","name":"Ada"}`)
	})
	return tm
}

func contextOf(t *testing.T, s started, tm *team, path string) fragments.Context {
	t.Helper()
	r, _ := tm.last(path)
	if r == nil {
		t.Fatalf("%s not asked", path)
	}
	if r.Header.Get("Cookie") != "" {
		t.Errorf("%s received cookies %q", path, r.Header.Get("Cookie"))
	}
	fc, err := s.verifier.Verify(r.Header.Get(fragments.ContextHeader), time.Now())
	if err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	return fc
}

// TestSessionSignedIntoContext: the shell resolves inlay_session with accounts, remembers the answer,
// signs the customer id into Inlay-Context and never passes the cookie to a fragment.
func TestSessionSignedIntoContext(t *testing.T) {
	var calls atomic.Int32
	accounts, explore := fakeAccounts(t, &calls), newTeam(t)
	explore.fragment("page", "<main>P</main>")
	doc := `<!doctype html><html><head></head><body><inlay-fragment src="explore/page" primary></inlay-fragment></body></html>`
	s := startShell(t, map[string]*team{"accounts": accounts, "explore": explore}, []shell.Page{rawPage("/p", doc)}, nil)

	for i := range 3 {
		resp, body := get(t, s.url+"/p", map[string]string{"Cookie": "inlay_session=good-session"})
		if resp.StatusCode != 200 || !strings.Contains(body, "<main>P</main>") {
			t.Fatalf("page %d: %d %s", i, resp.StatusCode, body)
		}
		if fc := contextOf(t, s, explore, "/fragments/page"); fc.CustomerID != "c-1" {
			t.Errorf("page %d: customer %q, want c-1", i, fc.CustomerID)
		}
	}
	if n := calls.Load(); n != 1 {
		t.Errorf("accounts asked %d times for one session, want once (cached)", n)
	}
	for _, cookie := range []string{"inlay_session=forged", "inlay_session=", "inlay_session=a%0Ab", ""} {
		get(t, s.url+"/p", map[string]string{"Cookie": cookie})
		if fc := contextOf(t, s, explore, "/fragments/page"); fc.CustomerID != "" {
			t.Errorf("cookie %q: customer %q, want a guest", cookie, fc.CustomerID)
		}
	}
}

// TestAccountsDownMeansGuest: when accounts does not answer in time, the visitor is a guest and the
// page renders.
func TestAccountsDownMeansGuest(t *testing.T) {
	accounts, explore := newTeam(t), newTeam(t)
	release := make(chan struct{})
	t.Cleanup(func() { close(release) })
	accounts.handle("/v1/whoami", func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-release:
		case <-r.Context().Done():
		}
	})
	explore.fragment("page", "<main>P</main>")
	doc := `<!doctype html><html><head></head><body><inlay-fragment src="explore/page" primary></inlay-fragment></body></html>`
	s := startShell(t, map[string]*team{"accounts": accounts, "explore": explore}, []shell.Page{rawPage("/p", doc)}, nil)
	resp, body := get(t, s.url+"/p", map[string]string{"Cookie": "inlay_session=good-session"})
	if resp.StatusCode != 200 || !strings.Contains(body, "<main>P</main>") {
		t.Fatalf("page with accounts hanging: %d %s", resp.StatusCode, body)
	}
	if fc := contextOf(t, s, explore, "/fragments/page"); fc.CustomerID != "" {
		t.Errorf("customer %q with accounts down, want a guest", fc.CustomerID)
	}
}

// TestSessionCookieOnlyToAccounts: the proxy forwards inlay_session to accounts' /ui and to no other
// team, and a sign-out (accounts deleting the cookie) deletes it in the browser too and makes the
// shell forget the session at once.
func TestSessionCookieOnlyToAccounts(t *testing.T) {
	var calls atomic.Int32
	accounts, checkout := fakeAccounts(t, &calls), newTeam(t)
	accounts.handle("/ui/logout", func(w http.ResponseWriter, r *http.Request) {
		http.SetCookie(w, &http.Cookie{Name: SessionCookie, Value: "", Path: "/", MaxAge: -1})
		http.Redirect(w, r, "/", http.StatusSeeOther)
	})
	checkout.handle("/ui/cart/add", func(w http.ResponseWriter, r *http.Request) { fmt.Fprint(w, "ok") })
	s := startShell(t, map[string]*team{"accounts": accounts, "checkout": checkout}, nil, nil)
	client := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	post := func(path string) *http.Response {
		req, _ := http.NewRequest(http.MethodPost, s.url+path, strings.NewReader("csrf=x"))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.Header.Set("Cookie", "inlay_session=good-session; inlay_cart=cart-1; other=x")
		resp, err := client.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp
	}
	post("/checkout/cart/add")
	r, _ := checkout.last("/ui/cart/add")
	if r.Header.Get("Cookie") != "" {
		t.Errorf("checkout received %q", r.Header.Get("Cookie"))
	}
	if fc := contextOf(t, s, checkout, "/ui/cart/add"); fc.CustomerID != "c-1" || fc.CartID != "cart-1" {
		t.Errorf("checkout's context %+v", fc)
	}
	resp := post("/accounts/logout")
	if resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("logout: %d", resp.StatusCode)
	}
	r, _ = accounts.last("/ui/logout")
	if got := r.Header.Get("Cookie"); got != "inlay_session=good-session" {
		t.Errorf("accounts received Cookie %q, want only the session", got)
	}
	// Deleted, not left empty: Max-Age=0 (net/http reads it as MaxAge -1) reaches the browser.
	var cleared bool
	for _, c := range resp.Cookies() {
		cleared = cleared || c.Name == SessionCookie && c.Value == "" && c.MaxAge < 0
	}
	if !cleared {
		t.Errorf("the session cookie's deletion did not reach the browser: %q", resp.Header.Values("Set-Cookie"))
	}
	before := calls.Load()
	post("/checkout/cart/add")
	if calls.Load() != before+1 {
		t.Error("the shell kept its cached session after sign-out instead of asking accounts again")
	}
}

// TestClientAddress: the client's address is the connection's unless the peer is a trusted proxy;
// a client cannot choose its address with X-Forwarded-For.
func TestClientAddress(t *testing.T) {
	explore := newTeam(t)
	explore.fragment("page", "<main>P</main>")
	doc := `<!doctype html><html><head></head><body><inlay-fragment src="explore/page" primary></inlay-fragment></body></html>`
	spoof := map[string]string{"X-Forwarded-For": "198.51.100.7"}

	s := startShell(t, map[string]*team{"explore": explore}, []shell.Page{rawPage("/p", doc)}, nil)
	get(t, s.url+"/p", spoof)
	if fc := contextOf(t, s, explore, "/fragments/page"); fc.Client != "127.0.0.1" {
		t.Errorf("untrusted peer with a spoofed X-Forwarded-For: client %q, want 127.0.0.1", fc.Client)
	}

	s = startShell(t, map[string]*team{"explore": explore}, []shell.Page{rawPage("/p", doc)},
		func(c *Config) { c.TrustedProxies = "127.0.0.0/8, ::1" })
	get(t, s.url+"/p", map[string]string{"X-Forwarded-For": "203.0.113.1, 198.51.100.7"})
	if fc := contextOf(t, s, explore, "/fragments/page"); fc.Client != "198.51.100.7" {
		t.Errorf("trusted proxy: client %q, want the address it appended", fc.Client)
	}
}

// TestCSRFTokenOnlyWhereAsked: a guest's CSRF token goes only to the fragments whose manifest asks
// for it (they render forms); every other fragment gets the bare context, which all guests of one
// address and language share, so it is signed once, not once per new visitor. A customer's context
// always carries the token (the account menu's sign-out form).
func TestCSRFTokenOnlyWhereAsked(t *testing.T) {
	var calls atomic.Int32
	accounts, checkout := fakeAccounts(t, &calls), newTeam(t)
	checkout.handle(fragments.ManifestPath, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		fmt.Fprint(w, `{"name":"checkout","version":"1","fragments":{`+
			`"add-to-cart":{"cache":"private","csrf":true},"mini-cart":{"cache":"private"}}}`)
	})
	checkout.fragment("add-to-cart", "<form>A</form>")
	checkout.fragment("mini-cart", "<a>M</a>")
	doc := `<!doctype html><html><head></head><body><inlay-fragment src="checkout/mini-cart"></inlay-fragment>` +
		`<inlay-fragment src="checkout/add-to-cart" primary></inlay-fragment></body></html>`
	s := startShell(t, map[string]*team{"accounts": accounts, "checkout": checkout}, []shell.Page{rawPage("/p", doc)},
		func(c *Config) { c.Locales = []string{"en", "de-ch"} })

	header := func(path string) string {
		r, _ := checkout.last(path)
		if r == nil {
			t.Fatalf("%s not asked", path)
		}
		return r.Header.Get(fragments.ContextHeader)
	}
	var bare, tokens []string
	for i := range 2 { // two new visitors: no cookie
		resp, body := get(t, s.url+"/p", map[string]string{"Accept-Language": "de-CH"})
		if resp.StatusCode != 200 || !strings.Contains(body, "<form>A</form>") || !strings.Contains(body, "<a>M</a>") {
			t.Fatalf("guest %d: %d %s", i, resp.StatusCode, body)
		}
		var set string
		for _, c := range resp.Cookies() {
			if c.Name == CSRFCookie {
				set = c.Value
			}
		}
		form := contextOf(t, s, checkout, "/fragments/add-to-cart")
		if set == "" || form.CSRF != set {
			t.Errorf("guest %d: the form's context has token %q, the cookie %q", i, form.CSRF, set)
		}
		if mini := contextOf(t, s, checkout, "/fragments/mini-cart"); mini.CSRF != "" || mini.Locale != "de-ch" || mini.Client == "" {
			t.Errorf("guest %d: the mini cart's context %+v, want no token", i, mini)
		}
		bare = append(bare, header("/fragments/mini-cart"))
		tokens = append(tokens, form.CSRF)
	}
	if bare[0] != bare[1] {
		t.Error("two new guests' bare contexts differ: signed once per visitor")
	}
	if tokens[0] == tokens[1] {
		t.Error("two new guests got the same CSRF token")
	}

	// A customer: every fragment gets the token, in one context.
	get(t, s.url+"/p", map[string]string{"Cookie": "inlay_session=good-session"})
	form, mini := contextOf(t, s, checkout, "/fragments/add-to-cart"), contextOf(t, s, checkout, "/fragments/mini-cart")
	if form.CustomerID != "c-1" || form.CSRF == "" || mini != form {
		t.Errorf("customer: form's context %+v, mini cart's %+v: want the same, with the token", form, mini)
	}
}

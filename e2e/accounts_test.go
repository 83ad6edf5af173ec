//go:build e2e

package e2e

import (
	"context"
	"fmt"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/emulation"
	"github.com/chromedp/chromedp"

	accountsredis "github.com/inlay-dev/inlay/services/accounts/redis"
	decideseed "github.com/inlay-dev/inlay/services/decide/seed"
	exploreseed "github.com/inlay-dev/inlay/services/explore/seed"
	"github.com/inlay-dev/inlay/services/kit/kittest"
	"github.com/inlay-dev/inlay/services/kit/redisdb"
)

// TestAccounts is the account journey (issue 13) in Chromium, with JavaScript and without it (script
// execution disabled in the page): register → signed in (the Account Menu shows the name) → address →
// add to cart → checkout prefilled from the account → order confirmed → in the Order History on
// /account; sign out → "Sign in" and an empty guest cart; a guest line, then sign in → the guest line
// and the line saved with the account are both in the cart.
func TestAccounts(t *testing.T) {
	t.Parallel()
	p := sfStart(t)
	items := sfBuyItems(t)
	seed, err := exploreseed.Load()
	if err != nil {
		t.Fatal(err)
	}
	store := seed.Stores[0]
	products, err := decideseed.Products()
	if err != nil {
		t.Fatal(err)
	}
	sfWaitCatalog(t, p, products)

	for _, js := range []bool{true, false} {
		name := "WithJavaScript"
		if !js {
			name = "WithoutJavaScript"
		}
		t.Run(name, func(t *testing.T) {
			tab := Browser(t)
			if !js {
				if _, err := chromedp.Call(tab, emulation.SetScriptExecutionDisabled, emulation.SetScriptExecutionDisabledParams{Value: true}); err != nil {
					t.Fatal(err)
				}
			}
			j := journey{t: t, p: p, tab: tab, js: js, name: "Ada Lovelace",
				email:    fmt.Sprintf("ada.%s.%d@example.com", strings.ToLower(name), time.Now().UnixNano()),
				password: "analytical engine 1843"}
			j.run(items[0], items[1], items[2], store.ID)
		})
	}
}

type journey struct {
	t                     *testing.T
	p                     *Platform
	tab                   context.Context
	js                    bool
	name, email, password string
}

func (j journey) type_(fields map[string]string) {
	j.t.Helper()
	for testid, v := range fields {
		if err := chromedp.Do(j.tab, chromedp.SendKeys(chromedp.CSS(`[data-testid="`+testid+`"]`), v)); err != nil {
			j.t.Fatalf("type into %s: %v", testid, err)
		}
	}
}

// submit clicks sel and fails unless the page it leads to answers 200 at a path starting with want.
func (j journey) submit(sel, want string) {
	j.t.Helper()
	resp, err := sfClickNav(j.tab, sel)
	if err != nil {
		j.t.Fatal(err)
	}
	if resp.Status != http.StatusOK || !strings.HasPrefix(strings.TrimPrefix(resp.URL, j.p.Shell), want) {
		j.t.Fatalf("%s led to %s (%d), want %s", sel, resp.URL, resp.Status, want)
	}
}

func (j journey) miniCart() string {
	j.t.Helper()
	return sfAttr(j.t, j.tab, `[data-testid="mini-cart"]`, "data-quantity")
}

// add puts one unit of it into the cart: with JavaScript in the background (the Mini Cart follows),
// without it as a form post that lands on the cart page.
func (j journey) add(it sfBuyItem, want string) {
	j.t.Helper()
	sfWaitAddToCart(j.t, j.tab, j.p.Shell+it.URL(), it)
	if j.js {
		if err := chromedp.Do(j.tab, chromedp.Click(chromedp.CSS(`[data-testid="add-to-cart-button"]`))); err != nil {
			j.t.Fatalf("add %s: %v", it.Variant.SKU, err)
		}
		sfWaitJS(j.t, j.tab, "mini cart shows "+want, fmt.Sprintf(
			`document.querySelector('[data-testid="mini-cart"]')?.dataset.quantity === %q`, want))
		return
	}
	j.submit(`[data-testid="add-to-cart-button"]`, "/checkout/cart")
	if got := j.miniCart(); got != want {
		j.t.Fatalf("mini cart after adding %s: %q, want %s", it.Variant.SKU, got, want)
	}
}

func (j journey) run(first, saved, guest sfBuyItem, storeID string) {
	t := j.t
	// Register: signed in, on /account, the Account Menu shows the name.
	sfOpen(t, j.tab, j.p.Shell+"/account/register")
	j.type_(map[string]string{"register-name": j.name, "register-email": j.email, "register-password": j.password})
	j.submit(`[data-testid="register-submit"]`, "/account")
	if got := sfText(t, j.tab, `[data-testid="account-menu-name"]`); got != j.name {
		t.Fatalf("account menu %q, want %q", got, j.name)
	}
	if got := sfText(t, j.tab, `[data-testid="profile-email"]`); got != j.email {
		t.Errorf("profile e-mail %q, want %q", got, j.email)
	}
	if n := sfCount(t, j.tab, `[data-testid="account-menu-sign-in"]`); n != 0 {
		t.Error("signed in, the menu still offers to sign in")
	}

	// The address.
	j.type_(map[string]string{"address-street": "Analytical Street 1", "address-city": "London",
		"address-postcode": "NW1 6XE", "address-country": "United Kingdom"})
	j.submit(`[data-testid="address-submit"]`, "/account")
	if n := sfCount(t, j.tab, `[data-testid="address-saved"]`); n != 1 {
		t.Fatalf("address not saved: %s", sfText(t, j.tab, `[data-testid="profile"]`))
	}

	// Add to cart, checkout prefilled from checkout's copy of the account (kept by accounts' events).
	j.add(first, "1")
	checkout := j.p.Shell + "/checkout/checkout?store=" + storeID
	sfEventually(t, sfSettle, "checkout prefilled from the account", func() (bool, string) {
		sfOpen(t, j.tab, checkout)
		email := sfAttr(t, j.tab, `[data-testid="checkout-email"]`, "value")
		return email == j.email && strings.Contains(sfText(t, j.tab, `[data-testid="checkout-address"]`), "London"),
			"e-mail " + email + ", address " + sfText(t, j.tab, `[data-testid="checkout-address"]`)
	})
	if f, l := sfAttr(t, j.tab, `[data-testid="checkout-first_name"]`, "value"), sfAttr(t, j.tab, `[data-testid="checkout-last_name"]`, "value"); f != "Ada" || l != "Lovelace" {
		t.Errorf("name prefilled %q %q", f, l)
	}
	if !j.js {
		// Without scripts nothing disables the button: the page is really running without JavaScript.
		if d := sfAttr(t, j.tab, `[data-testid="checkout-place-order"]`, "disabled"); d != "" {
			t.Fatalf("place order is disabled (%q): scripts ran", d)
		}
	}
	j.type_(map[string]string{"checkout-card": sfCardOK})
	if j.js {
		sfWaitJS(t, j.tab, "place order enabled", `document.querySelector('[data-testid="checkout-place-order"]')?.disabled === false`)
	}
	j.submit(`[data-testid="checkout-place-order"]`, "/checkout/thanks?order=")
	order := sfText(t, j.tab, `[data-testid="thanks-order-id"]`)
	if j.js {
		sfWaitStatus(t, j.tab, "confirmed")
	} else {
		thanks := j.p.Shell + "/checkout/thanks?order=" + order
		sfEventually(t, sfOrderFinal, "order confirmed", func() (bool, string) {
			sfOpen(t, j.tab, thanks)
			s := sfAttr(t, j.tab, `[data-testid="thanks-status"]`, "data-status")
			return s == "confirmed", s
		})
	}

	// The order is in the Order History on /account.
	sfOpen(t, j.tab, j.p.Shell+"/account")
	if n := sfCount(t, j.tab, fmt.Sprintf(`[data-testid="order-history-order"][data-order-id=%q]`, order)); n != 1 {
		t.Errorf("order %s not in the Order History: %s", order, sfText(t, j.tab, `[data-testid="checkout-order-history"]`))
	}

	// A line saved with the account, then sign out: "Sign in", an empty guest cart.
	j.add(saved, "1")
	sfOpen(t, j.tab, j.p.Shell+"/account")
	j.submit(`[data-testid="account-menu-sign-out"]`, "/")
	if got := sfText(t, j.tab, `[data-testid="account-menu-sign-in"]`); got != "Sign in" {
		t.Fatalf("after sign-out the menu says %q", got)
	}
	if got := j.miniCart(); got != "0" {
		t.Errorf("guest cart after sign-out: %q, want 0", got)
	}
	if resp, err := chromedp.RunResponse(j.tab, chromedp.Navigate(j.p.Shell+"/account")); err != nil || !strings.Contains(resp.URL, "/account/login?next=%2Faccount") {
		t.Errorf("/account signed out led to %v (%v), want the sign-in page", resp, err)
	}

	// A guest line, then sign in (a wrong password first): both lines in the cart.
	j.add(guest, "1")
	sfOpen(t, j.tab, j.p.Shell+"/account/login?next=/checkout/cart")
	j.type_(map[string]string{"sign-in-email": j.email, "sign-in-password": "not the password"})
	j.submit(`[data-testid="sign-in-submit"]`, "/account/login")
	if got := sfText(t, j.tab, `[data-testid="sign-in-error"]`); !strings.Contains(got, "not right") {
		t.Errorf("wrong password: error %q", got)
	}
	if got := sfAttr(t, j.tab, `[data-testid="sign-in-email"]`, "value"); got != j.email {
		t.Errorf("e-mail kept %q, want %q", got, j.email)
	}
	j.type_(map[string]string{"sign-in-password": j.password})
	j.submit(`[data-testid="sign-in-submit"]`, "/checkout/cart")
	if got := sfText(t, j.tab, `[data-testid="account-menu-name"]`); got != j.name {
		t.Errorf("after sign-in the menu says %q", got)
	}
	if got := j.miniCart(); got != "2" {
		t.Errorf("mini cart after sign-in: %q, want 2 (the saved line and the guest line)", got)
	}
	for _, it := range []sfBuyItem{saved, guest} {
		if n := sfCount(t, j.tab, fmt.Sprintf(`[data-testid="cart-line"][data-sku=%q]`, it.Variant.SKU)); n != 1 {
			t.Errorf("cart after sign-in lacks %s", it.Variant.SKU)
		}
	}
}

// TestSignInThrottleThroughShell: through the shell, failed sign-ins from one client (each with another
// e-mail and another spoofed X-Forwarded-For, which the shell does not trust) count against that
// client's budget: ten of them, then the rest of the budget counted straight into the throttle (a
// sign-in each would make the test as slow as a hundred password hashes), and the next attempt is
// refused even with the right password, and no session is set.
func TestSignInThrottleThroughShell(t *testing.T) {
	t.Parallel()
	p := Start(t, Only("shell", "accounts"), WithEnv("SHELL_READY_WAIT=1s"))
	jar, err := cookiejar.New(nil)
	if err != nil {
		t.Fatal(err)
	}
	client := &http.Client{Jar: jar, Timeout: 10 * time.Second,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	csrf := func(page string) string {
		t.Helper()
		res, doc := sfGet(t, client, p.Shell+page)
		tok := doc.Find(`input[name="csrf"]`).AttrOr("value", "")
		if res.StatusCode != http.StatusOK || tok == "" {
			t.Fatalf("%s: %d, csrf %q", page, res.StatusCode, tok)
		}
		return tok
	}
	// post answers the status, the Location and the cookies set (the body is closed).
	type answer struct {
		StatusCode int
		Location   string
		Cookies    []*http.Cookie
	}
	post := func(path string, form url.Values, xff string) answer {
		t.Helper()
		req, err := http.NewRequest(http.MethodPost, p.Shell+path, strings.NewReader(form.Encode()))
		if err != nil {
			t.Fatal(err)
		}
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		if xff != "" {
			req.Header.Set("X-Forwarded-For", xff)
		}
		res, err := client.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		return answer{StatusCode: res.StatusCode, Location: res.Header.Get("Location"), Cookies: res.Cookies()}
	}
	// Register, then sign out: a known account with a known password.
	res := post("/accounts/register", url.Values{"csrf": {csrf("/account/register")}, "name": {"Bob"},
		"email": {"bob@example.com"}, "password": {"the right password"}}, "")
	if res.StatusCode != http.StatusSeeOther || res.Location != "/account" {
		t.Fatalf("register: %d → %q", res.StatusCode, res.Location)
	}
	if res := post("/accounts/logout", url.Values{"csrf": {csrf("/account")}}, ""); res.StatusCode != http.StatusSeeOther {
		t.Fatalf("sign out: %d", res.StatusCode)
	}
	tok := csrf("/account/login")
	for i := 1; i <= 10; i++ {
		res := post("/accounts/login", url.Values{"csrf": {tok}, "email": {fmt.Sprintf("nobody%d@example.com", i)},
			"password": {"wrong password"}}, fmt.Sprintf("198.51.100.%d", i))
		if res.StatusCode != http.StatusSeeOther {
			t.Fatalf("failure %d: %d", i, res.StatusCode)
		}
		_, doc := sfGet(t, client, p.Shell+"/account/login")
		if got := strings.TrimSpace(doc.Find(`[data-testid="sign-in-error"]`).Text()); !strings.Contains(got, "not right") {
			t.Fatalf("failure %d shows %q", i, got)
		}
	}
	// The shell signs the connection's address (127.0.0.1), whatever X-Forwarded-For says.
	rdb, err := redisdb.Open(context.Background(), kittest.RedisURL())
	if err != nil {
		t.Fatal(err)
	}
	defer rdb.Close()
	th := accountsredis.NewThrottle(rdb, redisdb.Keys(p.RedisPrefix+"accounts:"), accountsredis.SignInLimit).
		WithLimit(accountsredis.ClientKeyPrefix, accountsredis.ClientSignInLimit)
	// Counted until the throttle refuses the address: the budget refills as the test runs (one
	// failure every 6 s), so the number is not fixed.
	addr := accountsredis.ClientKeyPrefix + "127.0.0.1"
	for i := 0; th.Allowed(context.Background(), addr) == nil; i++ {
		if i > 2*accountsredis.ClientSignInLimit.Burst {
			t.Fatal("the address's budget does not run out")
		}
		if err := th.Failed(context.Background(), addr); err != nil {
			t.Fatal(err)
		}
	}
	res = post("/accounts/login", url.Values{"csrf": {tok}, "email": {"bob@example.com"}, "password": {"the right password"}}, "203.0.113.99")
	for _, c := range res.Cookies {
		if c.Name == "inlay_session" && c.Value != "" {
			t.Fatal("the 11th attempt signed in")
		}
	}
	_, doc := sfGet(t, client, p.Shell+"/account/login")
	if got := strings.TrimSpace(doc.Find(`[data-testid="sign-in-error"]`).Text()); !strings.Contains(got, "Too many failed sign-ins") {
		t.Errorf("11th attempt shows %q, want the throttle's message", got)
	}
}

package main

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	amqp "github.com/rabbitmq/amqp091-go"

	"github.com/inlay-dev/inlay/fragments"
	"github.com/inlay-dev/inlay/fragments/fragmenttest"
	"github.com/inlay-dev/inlay/services/accounts"
	accountsredis "github.com/inlay-dev/inlay/services/accounts/redis"
	"github.com/inlay-dev/inlay/services/kit/config"
	"github.com/inlay-dev/inlay/services/kit/events"
	"github.com/inlay-dev/inlay/services/kit/kittest"
	"github.com/inlay-dev/inlay/services/kit/kittest/maintest"
	"github.com/inlay-dev/inlay/services/kit/logging"
	"github.com/inlay-dev/inlay/services/kit/postgres"
	"github.com/inlay-dev/inlay/services/kit/redisdb"
)

// process is a running accountsd and a client that talks to it as the shell does.
type process struct {
	t      *testing.T
	ctx    context.Context
	base   string
	signer *fragments.Signer
	client *http.Client
	cfg    Config
}

func start(t *testing.T) *process {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	t.Cleanup(cancel)
	var cfg Config
	if err := config.Load(&cfg); err != nil {
		t.Fatal(err)
	}
	cfg.Env = "prod" // signed contexts only; the database is created below
	cfg.PostgresURL = kittest.PostgresURL()
	cfg.RedisURL = kittest.RedisURL()
	cfg.AMQPURL = kittest.AMQPURL()
	cfg.DBPrefix = kittest.UniqueName("t") + "_"
	cfg.RedisPrefix = kittest.UniqueName("t") + ":"
	cfg.Addr = kittest.FreeAddr(t)
	cfg.Exchange = kittest.Exchange(t)
	pub, key, err := fragments.GenerateKey()
	if err != nil {
		t.Fatal(err)
	}
	cfg.ShellPublicKey = fragments.EncodePublicKey(pub)
	dbURL, err := cfg.DatabaseURL("accounts")
	if err != nil {
		t.Fatal(err)
	}
	if err := postgres.CreateDatabase(ctx, dbURL); err != nil {
		t.Fatal(err)
	}
	runCtx, stop := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- run(runCtx, cfg, logging.New(io.Discard, "accounts", slog.LevelError)) }()
	t.Cleanup(func() {
		stop()
		if err := <-done; err != nil {
			t.Errorf("accountsd: %v", err)
		}
		cctx, ccancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer ccancel()
		if err := events.DeleteExchange(cctx, cfg.AMQPURL, cfg.Exchange); err != nil {
			t.Logf("delete exchange: %v", err)
		}
		if err := postgres.DropDatabase(cctx, dbURL); err != nil {
			t.Logf("drop database: %v", err)
		}
	})
	p := &process{t: t, ctx: ctx, base: "http://" + cfg.Addr, signer: fragments.NewSigner(key), cfg: cfg,
		client: &http.Client{Timeout: 10 * time.Second, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}}
	maintest.WaitFor(t, ctx, "accountsd to be ready", func() bool {
		res, err := p.client.Get(p.base + "/readyz?full=1") // full: RabbitMQ too (the plain /readyz degrades)
		if err != nil {
			return false
		}
		res.Body.Close()
		return res.StatusCode == http.StatusOK
	})
	return p
}

func (p *process) sign(fc fragments.Context) string {
	p.t.Helper()
	fc.Expires = time.Now().Add(time.Minute)
	h, err := p.signer.Sign(fc)
	if err != nil {
		p.t.Fatal(err)
	}
	return h
}

// do sends a request as the shell would: signed context, the session cookie only for /ui.
// answer is a response read whole (its body closed).
type answer struct {
	StatusCode int
	Header     http.Header
	cookies    []*http.Cookie
}

// Cookies returns the cookies the answer sets.
func (a answer) Cookies() []*http.Cookie { return a.cookies }

func (p *process) do(method, path string, fc fragments.Context, form url.Values, session string) (answer, string) {
	p.t.Helper()
	var body io.Reader
	if form != nil {
		body = strings.NewReader(form.Encode())
	}
	req, err := http.NewRequestWithContext(p.ctx, method, p.base+path, body)
	if err != nil {
		p.t.Fatal(err)
	}
	req.Header.Set(fragments.ContextHeader, p.sign(fc))
	if form != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	if session != "" {
		req.AddCookie(&http.Cookie{Name: accounts.SessionCookie, Value: session})
	}
	res, err := p.client.Do(req)
	if err != nil {
		p.t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return answer{StatusCode: res.StatusCode, Header: res.Header, cookies: res.Cookies()}, string(b)
}

func sessionCookie(res interface{ Cookies() []*http.Cookie }) *http.Cookie {
	for _, c := range res.Cookies() {
		if c.Name == accounts.SessionCookie {
			return c
		}
	}
	return nil
}

func (p *process) whoami(token string) (int, string) {
	p.t.Helper()
	req, _ := http.NewRequestWithContext(p.ctx, http.MethodGet, p.base+"/v1/whoami", nil)
	req.Header.Set("Authorization", "Bearer "+token)
	res, err := p.client.Do(req)
	if err != nil {
		p.t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return res.StatusCode, string(b)
}

// TestAccountsd runs the real process: registration and sign-in through the form endpoints (as the
// shell proxies them), the cookie, the JSON API, the published events, and the fragment contract.
func TestAccountsd(t *testing.T) {
	t.Parallel()
	p := start(t)
	events := p.listen(t)
	guest := fragments.Context{CSRF: "csrf-token-1", Client: "203.0.113.7"}

	// A missing or wrong CSRF token is refused and changes nothing.
	reg := url.Values{"name": {"Ada Lovelace"}, "email": {"Ada@Example.com"}, "password": {"analytical engine"}}
	if res, _ := p.do("POST", "/ui/register", guest, reg, ""); res.StatusCode != http.StatusForbidden {
		t.Fatalf("register without CSRF: %d", res.StatusCode)
	}
	bad := url.Values{"csrf": {"wrong"}}
	for k, v := range reg {
		bad[k] = v
	}
	if res, _ := p.do("POST", "/ui/register", guest, bad, ""); res.StatusCode != http.StatusForbidden {
		t.Fatalf("register with a wrong CSRF token: %d", res.StatusCode)
	}

	reg.Set("csrf", guest.CSRF)
	res, _ := p.do("POST", "/ui/register", guest, reg, "")
	ck := sessionCookie(res)
	if res.StatusCode != http.StatusSeeOther || res.Header.Get("Location") != "/account" || ck == nil {
		t.Fatalf("register: %d → %q, cookie %v", res.StatusCode, res.Header.Get("Location"), ck)
	}
	if !ck.HttpOnly || ck.SameSite != http.SameSiteLaxMode || !ck.Secure || ck.Path != "/" || !accounts.ValidSessionID(ck.Value) {
		t.Errorf("session cookie %+v", ck)
	}
	status, body := p.whoami(ck.Value)
	var who struct{ CustomerID, Name string }
	if err := json.Unmarshal([]byte(body), &who); status != 200 || err != nil || who.Name != "Ada Lovelace" {
		t.Fatalf("whoami: %d %s", status, body)
	}
	got := p.next(events)
	if got.Type != "accounts.customer.registered.v1" || got.Subject != who.CustomerID || strings.Contains(string(got.Data), "argon2") {
		t.Errorf("event %s %s %s", got.Type, got.Subject, got.Data)
	}

	// The same e-mail in another case: back to the form, the name and e-mail kept, no session.
	res, _ = p.do("POST", "/ui/register", guest, url.Values{"csrf": {guest.CSRF}, "name": {"Other"}, "email": {"ADA@example.com"}, "password": {"12345678"}}, "")
	if res.StatusCode != http.StatusSeeOther || res.Header.Get("Location") != "/account/register" || sessionCookie(res) != nil {
		t.Fatalf("duplicate: %d → %q", res.StatusCode, res.Header.Get("Location"))
	}
	_, page := p.do("GET", "/fragments/register", guest, nil, "")
	if !strings.Contains(page, "There is already an account with this e-mail address.") || !strings.Contains(page, `value="Other"`) ||
		!strings.Contains(page, `value="ada@example.com"`) || strings.Contains(page, "12345678") {
		t.Errorf("register form after a duplicate:\n%s", page)
	}

	// Sign in: a wrong password comes back with the e-mail kept, never the password.
	login := url.Values{"csrf": {guest.CSRF}, "email": {"ada@example.com"}, "password": {"wrong password"}, "next": {"//evil.example"}}
	res, _ = p.do("POST", "/ui/login", guest, login, "")
	if res.StatusCode != http.StatusSeeOther || res.Header.Get("Location") != "/account/login" || sessionCookie(res) != nil {
		t.Fatalf("wrong password: %d → %q", res.StatusCode, res.Header.Get("Location"))
	}
	_, page = p.do("GET", "/fragments/sign-in", guest, nil, "")
	if !strings.Contains(page, accounts.ErrBadCredentials.Message) || !strings.Contains(page, `value="ada@example.com"`) || strings.Contains(page, "wrong password") {
		t.Errorf("sign-in form after a wrong password:\n%s", page)
	}
	// Right password, a local next, the old session on the request: a new session, the old one ended.
	login.Set("password", "analytical engine")
	login.Set("next", "/checkout/cart")
	res, _ = p.do("POST", "/ui/login", guest, login, ck.Value)
	ck2 := sessionCookie(res)
	if res.StatusCode != http.StatusSeeOther || res.Header.Get("Location") != "/checkout/cart" || ck2 == nil || ck2.Value == ck.Value {
		t.Fatalf("sign in: %d → %q, cookie %v", res.StatusCode, res.Header.Get("Location"), ck2)
	}
	if s, _ := p.whoami(ck.Value); s != http.StatusUnauthorized {
		t.Errorf("the session before sign-in still resolves: %d", s)
	}

	customer := fragments.Context{CustomerID: who.CustomerID, CSRF: guest.CSRF, Client: guest.Client}
	if _, menu := p.do("GET", "/fragments/account-menu", customer, nil, ""); !strings.Contains(menu, "Ada Lovelace") || !strings.Contains(menu, "Sign out") {
		t.Errorf("account menu for the customer:\n%s", menu)
	}
	if _, menu := p.do("GET", "/fragments/account-menu", guest, nil, ""); !strings.Contains(menu, "Sign in") || strings.Contains(menu, "Sign out") {
		t.Errorf("account menu for a guest:\n%s", menu)
	}
	if res, _ := p.do("GET", "/fragments/profile", guest, nil, ""); res.StatusCode != http.StatusSeeOther || res.Header.Get("Location") != "/account/login?next=%2Faccount" {
		t.Errorf("profile for a guest: %d → %q", res.StatusCode, res.Header.Get("Location"))
	}

	// The address: a refused one keeps its values; a good one is saved and published.
	res, _ = p.do("POST", "/ui/address", customer, url.Values{"csrf": {guest.CSRF}, "street": {"Main Street 1"}, "city": {""}, "postcode": {"12345"}, "country": {"US"}}, "")
	if res.StatusCode != http.StatusSeeOther {
		t.Fatalf("refused address: %d", res.StatusCode)
	}
	if _, page := p.do("GET", "/fragments/profile", customer, nil, ""); !strings.Contains(page, "Please enter your city.") || !strings.Contains(page, `value="Main Street 1"`) {
		t.Errorf("profile after a refused address:\n%s", page)
	}
	res, _ = p.do("POST", "/ui/address", customer, url.Values{"csrf": {guest.CSRF}, "street": {"Main Street 1"}, "city": {"Springfield"}, "postcode": {"12345"}, "country": {"US"}}, "")
	if res.StatusCode != http.StatusSeeOther || res.Header.Get("Location") != "/account?saved=1" {
		t.Fatalf("address: %d → %q", res.StatusCode, res.Header.Get("Location"))
	}
	if got := p.next(events); got.Type != "accounts.address.changed.v1" || !strings.Contains(string(got.Data), "Springfield") {
		t.Errorf("event %s %s", got.Type, got.Data)
	}

	// JSON sign-in for the BFFs: a bearer token.
	req, _ := http.NewRequestWithContext(p.ctx, http.MethodPost, p.base+"/v1/sessions", strings.NewReader(`{"email":"ADA@example.com","password":"analytical engine"}`))
	req.Header.Set("Content-Type", "application/json")
	hres, err := p.client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	var sess struct{ Token string }
	if err := json.NewDecoder(hres.Body).Decode(&sess); err != nil || hres.StatusCode != http.StatusCreated {
		t.Fatalf("POST /v1/sessions: %d %v", hres.StatusCode, err)
	}
	hres.Body.Close()
	req, _ = http.NewRequestWithContext(p.ctx, http.MethodGet, p.base+"/v1/profile", nil)
	req.Header.Set("Authorization", "Bearer "+sess.Token)
	hres, err = p.client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(hres.Body)
	hres.Body.Close()
	if hres.StatusCode != 200 || !strings.Contains(string(b), `"city":"Springfield"`) || strings.Contains(string(b), "argon2") {
		t.Errorf("profile: %d %s", hres.StatusCode, b)
	}

	// Sign out ends the session server-side and expires the cookie.
	res, _ = p.do("POST", "/ui/logout", customer, url.Values{"csrf": {guest.CSRF}}, ck2.Value)
	if c := sessionCookie(res); res.StatusCode != http.StatusSeeOther || res.Header.Get("Location") != "/" || c == nil || c.Value != "" || !(c.MaxAge < 0 || c.Expires.Before(time.Now())) {
		t.Fatalf("sign out: %d → %q, cookie %v", res.StatusCode, res.Header.Get("Location"), c)
	}
	if s, _ := p.whoami(ck2.Value); s != http.StatusUnauthorized {
		t.Errorf("signed-out session resolves: %d", s)
	}
	for _, forged := range []string{"", "forged", accounts.NewSessionID()} {
		if s, _ := p.whoami(forged); s != http.StatusUnauthorized {
			t.Errorf("whoami(%q): %d", forged, s)
		}
	}

	// Signed in, the forms send the customer on: where signing in would lead, or the account.
	for path, want := range map[string]string{"/fragments/sign-in?next=%2Fcheckout%2Fcheckout": "/checkout/checkout",
		"/fragments/sign-in": "/account", "/fragments/register": "/account"} {
		if res, body := p.do("GET", path, customer, nil, ""); res.StatusCode != http.StatusSeeOther || res.Header.Get("Location") != want {
			t.Errorf("%s for a customer: %d → %q, want 303 → %s (%s)", path, res.StatusCode, res.Header.Get("Location"), want, body)
		}
	}
	// The forms are a guest's (a customer is sent on to the account); the rest a customer's.
	fragmenttest.Run(t, p.base, fragmenttest.Signer(p.signer), fragmenttest.Context(customer),
		fragmenttest.FragmentContext("sign-in", guest), fragmenttest.FragmentContext("register", guest))
}

// TestJSONSignInThrottled: through the API too, the attempt after the e-mail's failures is refused
// (429) even with the right password.
func TestJSONSignInThrottled(t *testing.T) {
	t.Parallel()
	p := start(t)
	guest := fragments.Context{CSRF: "c", Client: "198.51.100.1"}
	p.do("POST", "/ui/register", guest, url.Values{"csrf": {"c"}, "name": {"Bob"}, "email": {"bob@example.com"}, "password": {"the right one"}}, "")
	post := func(pw string) int {
		req, _ := http.NewRequestWithContext(p.ctx, http.MethodPost, p.base+"/v1/sessions", strings.NewReader(`{"email":"bob@example.com","password":"`+pw+`"}`))
		req.Header.Set("Content-Type", "application/json")
		res, err := p.client.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		return res.StatusCode
	}
	if s := post("wrong password"); s != http.StatusUnauthorized {
		t.Fatalf("a wrong password: %d", s)
	}
	// The rest of the e-mail's failures (from anywhere), counted straight into the throttle with
	// accountsd's limits (a sign-in each would make the test as slow as fifty password hashes) until
	// it refuses the e-mail: then the right password is refused too.
	rdb, err := redisdb.Open(p.ctx, p.cfg.RedisURL)
	if err != nil {
		t.Fatal(err)
	}
	defer rdb.Close()
	th := accountsredis.NewThrottle(rdb, redisdb.Keys(p.cfg.KeyPrefix("accounts")), accountsredis.SignInLimit).
		WithLimit(accountsredis.EmailKeyPrefix, accountsredis.EmailSignInLimit)
	key := accountsredis.EmailKeyPrefix + "bob@example.com"
	for i := 0; th.Allowed(p.ctx, key) == nil; i++ {
		if i > 2*accountsredis.EmailSignInLimit.Burst {
			t.Fatal("the e-mail's budget does not run out")
		}
		if err := th.Failed(p.ctx, key); err != nil {
			t.Fatal(err)
		}
	}
	if s := post("the right one"); s != http.StatusTooManyRequests {
		t.Errorf("the attempt after the e-mail's failures: %d, want 429", s)
	}
	if s := post("x"); s != http.StatusBadRequest {
		t.Errorf("short password: %d, want 400", s)
	}
}

// next returns the next event, failing the test when none comes before its deadline.
func (p *process) next(ch <-chan events.Event) events.Event {
	p.t.Helper()
	select {
	case e := <-ch:
		return e
	case <-p.ctx.Done():
		p.t.Fatal("no event before the deadline")
		return events.Event{}
	}
}

// listen binds a queue to accounts' events on the test's exchange.
func (p *process) listen(t *testing.T) <-chan events.Event {
	t.Helper()
	conn, err := amqp.Dial(p.cfg.AMQPURL)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	ch, err := conn.Channel()
	if err != nil {
		t.Fatal(err)
	}
	if err := ch.ExchangeDeclare(p.cfg.Exchange, "topic", true, false, false, false, nil); err != nil {
		t.Fatal(err)
	}
	q, err := ch.QueueDeclare("", false, true, true, false, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := ch.QueueBind(q.Name, "accounts.#", p.cfg.Exchange, false, nil); err != nil {
		t.Fatal(err)
	}
	msgs, err := ch.Consume(q.Name, "", true, true, false, false, nil)
	if err != nil {
		t.Fatal(err)
	}
	out := make(chan events.Event, 16)
	go func() {
		for m := range msgs {
			if e, err := events.Decode(m.Body); err == nil {
				out <- e
			}
		}
	}()
	return out
}

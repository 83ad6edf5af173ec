package server

import (
	"bufio"
	"context"
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
	"testing"
	"time"

	"github.com/a-h/templ"
	"go.opentelemetry.io/otel/trace"

	"github.com/inlay-dev/inlay/fragments"
	"github.com/inlay-dev/inlay/services/kit/config"
	kitserver "github.com/inlay-dev/inlay/services/kit/server"
	"github.com/inlay-dev/inlay/shell"
)

// team is a fake team server: fragments by name, /ui/ and /static/ handlers, and the requests it got.
type team struct {
	srv      *httptest.Server
	mu       sync.Mutex
	handlers map[string]http.HandlerFunc // by path
	requests []*http.Request
	bodies   []string
}

func newTeam(t *testing.T) *team {
	t.Helper()
	tm := &team{handlers: map[string]http.HandlerFunc{}}
	tm.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		tm.mu.Lock()
		tm.requests = append(tm.requests, r.Clone(context.Background()))
		tm.bodies = append(tm.bodies, string(b))
		h := tm.handlers[r.URL.Path]
		tm.mu.Unlock()
		if h == nil {
			http.NotFound(w, r)
			return
		}
		h(w, r)
	}))
	t.Cleanup(tm.srv.Close)
	return tm
}

func (tm *team) handle(path string, h http.HandlerFunc) {
	tm.mu.Lock()
	tm.handlers[path] = h
	tm.mu.Unlock()
}

func (tm *team) fragment(name, body string) {
	tm.handle("/fragments/"+name, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		fmt.Fprint(w, body)
	})
}

func (tm *team) last(path string) (*http.Request, string) {
	tm.mu.Lock()
	defer tm.mu.Unlock()
	for i := len(tm.requests) - 1; i >= 0; i-- {
		if tm.requests[i].URL.Path == path {
			return tm.requests[i], tm.bodies[i]
		}
	}
	return nil, ""
}

// rawPage is a test page whose layout is a fixed document.
func rawPage(route, doc string) shell.Page {
	return shell.Page{Name: strings.Trim(route, "/"), Route: route, Layout: func(r shell.PageRequest) templ.Component {
		return templ.ComponentFunc(func(ctx context.Context, w io.Writer) error {
			_, err := io.WriteString(w, strings.ReplaceAll(doc, "NONCE", r.Nonce))
			return err
		})
	}}
}

type started struct {
	url      string
	admin    string
	shell    *Shell
	verifier *fragments.Verifier
}

func startShell(t *testing.T, teams map[string]*team, pages []shell.Page, mod func(*Config)) started {
	t.Helper()
	return startShellWith(t, teams, pages, shell.Page{}, mod)
}

func startShellWith(t *testing.T, teams map[string]*team, pages []shell.Page, notFound shell.Page, mod func(*Config)) started {
	t.Helper()
	urls := map[string]string{}
	for name, tm := range teams {
		urls[name] = tm.srv.URL
	}
	return startShellURLs(t, urls, pages, notFound, mod)
}

// startShellURLs starts a shell whose registry is teams: context → base URL.
func startShellURLs(t *testing.T, teams map[string]string, pages []shell.Page, notFound shell.Page, mod func(*Config)) started {
	t.Helper()
	return startShellTraced(t, teams, pages, notFound, mod, nil)
}

// startShellTraced is startShellURLs with a tracer provider for the shell and its server.
func startShellTraced(t *testing.T, teams map[string]string, pages []shell.Page, notFound shell.Page, mod func(*Config), tp trace.TracerProvider) started {
	t.Helper()
	var reg []string
	for name, u := range teams {
		reg = append(reg, name+"="+u)
	}
	pub, priv, err := fragments.GenerateKey()
	if err != nil {
		t.Fatal(err)
	}
	cfg := Config{
		Common:          config.Common{Env: "dev", BodyLimit: 1 << 20, ShutdownTimeout: time.Second},
		Teams:           strings.Join(reg, ","),
		PrivateKey:      fragments.EncodePrivateKey(priv),
		ManifestRefresh: time.Hour,
		FragmentTimeout: 2 * time.Second,
		Cache:           true,
	}
	if mod != nil {
		mod(&cfg)
	}
	log := slog.New(slog.NewTextHandler(testWriter{t}, &slog.HandlerOptions{Level: slog.LevelWarn}))
	ctx, cancel := context.WithCancel(context.Background())
	sh, err := New(ctx, Options{Config: cfg, Log: log, Pages: pages, NotFound: notFound, Tracer: tp})
	if err != nil {
		t.Fatal(err)
	}
	adminAddr := make(chan net.Addr, 1)
	// As shelld starts it: the shell's error page for what the kit refuses, a browser's read buffer.
	srv := kitserver.New(kitserver.Options{Name: "shell", Log: log, BodyLimit: cfg.BodyLimit, Tracer: tp,
		ErrorPage: ErrorPage, ReadBufferSize: kitserver.PublicReadBuffer,
		AdminAddr: "127.0.0.1:0", AdminReady: func(a net.Addr) { adminAddr <- a }})
	sh.Mount(srv.App)
	sh.MountAdmin(srv.Admin)
	srv.App.Use(sh.NotFound)
	addr := make(chan net.Addr, 1)
	done := make(chan error, 1)
	// The shutdown bound is above fasthttp's 5 s: a connection a client opened but never sent a request
	// on counts as idle, and is closed by the shutdown, only 5 s after it was accepted (the rolling
	// tests' clients leave such connections; with 1 s the cleanup failed now and then).
	go func() { done <- srv.Serve(ctx, "127.0.0.1:0", 10*time.Second, func(a net.Addr) { addr <- a }) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("serve: %v", err)
		}
		sh.Close()
	})
	return started{url: "http://" + (<-addr).String(), admin: "http://" + (<-adminAddr).String(), shell: sh,
		verifier: fragments.NewVerifier(pub, false)}
}

// testWriter sends logs to the test's log.
type testWriter struct{ t *testing.T }

func (w testWriter) Write(p []byte) (int, error) {
	w.t.Log(strings.TrimSpace(string(p)))
	return len(p), nil
}

func get(t *testing.T, url string, hdr map[string]string) (*http.Response, string) {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	client := &http.Client{Timeout: 10 * time.Second, CheckRedirect: func(*http.Request, []*http.Request) error {
		return http.ErrUseLastResponse
	}}
	resp, err := client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp, string(b)
}

const testDoc = `<!doctype html><html><head><title>t</title></head><body data-boundary-page="explore">` +
	`<inlay-fragment src="explore/header"></inlay-fragment>` +
	`<inlay-fragment src="decide/product?id=7" primary></inlay-fragment>` +
	`<inlay-fragment src="inspire/recs" async></inlay-fragment></body></html>`

func TestPageComposedWithSignedContextAndCSP(t *testing.T) {
	explore, decide, inspire := newTeam(t), newTeam(t), newTeam(t)
	explore.fragment("header", "<header>H</header>")
	decide.fragment("product", "<article>P</article>")
	inspire.fragment("recs", "<aside>R</aside>")
	s := startShell(t, map[string]*team{"explore": explore, "decide": decide, "inspire": inspire},
		[]shell.Page{rawPage("/product/:id", testDoc)}, func(c *Config) { c.Locales = []string{"en", "de-ch"} })
	resp, body := get(t, s.url+"/product/7", map[string]string{
		"Cookie":          "inlay_cart=cart123; inlay_session=secret; other=x",
		"Accept-Language": "de-CH,de;q=0.9",
		"Authorization":   "Bearer browser-token",
		"X-Custom":        "nope",
	})
	if resp.StatusCode != 200 {
		t.Fatalf("status %d: %s", resp.StatusCode, body)
	}
	for _, want := range []string{"<header>H</header>", "<article>P</article>", "<aside>R</aside>", `data-boundary-page="explore"`} {
		if !strings.Contains(body, want) {
			t.Errorf("%q missing: %s", want, body)
		}
	}
	csp := resp.Header.Get("Content-Security-Policy")
	i := strings.Index(csp, "'nonce-")
	if i < 0 {
		t.Fatalf("CSP without nonce: %q", csp)
	}
	nonce := csp[i+7 : i+7+strings.Index(csp[i+7:], "'")]
	if strings.Contains(body, "<script>") || (strings.Contains(body, "<template") && !strings.Contains(body, `<script nonce="`+nonce+`">`)) {
		t.Errorf("inline script without the response's nonce %q: %s", nonce, body)
	}
	if st := resp.Header.Get("Server-Timing"); !strings.Contains(st, "decide/product fetch") {
		t.Errorf("Server-Timing %q", st)
	}
	for name, tm := range map[string]*team{"explore": explore, "decide": decide, "inspire": inspire} {
		path := map[string]string{"explore": "/fragments/header", "decide": "/fragments/product", "inspire": "/fragments/recs"}[name]
		r, _ := tm.last(path)
		if r == nil {
			t.Fatalf("%s not asked", name)
		}
		for _, h := range []string{"Cookie", "Authorization", "X-Custom"} {
			if r.Header.Get(h) != "" {
				t.Errorf("%s received %s: %q", name, h, r.Header.Get(h))
			}
		}
		fc, err := s.verifier.Verify(r.Header.Get(fragments.ContextHeader), time.Now())
		if err != nil {
			t.Fatalf("%s: context does not verify: %v", name, err)
		}
		// No team here has a manifest, so none asked for the CSRF token: a guest's context
		// carries none (TestCSRFTokenOnlyWhereAsked).
		if fc.CartID != "cart123" || fc.Locale != "de-ch" || fc.CSRF != "" {
			t.Errorf("%s: context %+v", name, fc)
		}
	}
	var csrf bool
	for _, c := range resp.Cookies() {
		csrf = csrf || (c.Name == CSRFCookie && c.HttpOnly)
	}
	if !csrf {
		t.Error("no CSRF cookie set")
	}
}

// TestAcceptLanguageMakesNoNewCacheKeys: the locale a cached fragment is keyed by is one of the
// store's, whatever a visitor's Accept-Language invents, so such headers neither bypass the cache
// nor fill it.
func TestAcceptLanguageMakesNoNewCacheKeys(t *testing.T) {
	explore := newTeam(t)
	explore.handle("/fragments/header", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		w.Header().Set("Cache-Control", "public, max-age=600")
		fmt.Fprint(w, "<header>H</header>")
	})
	doc := `<html><head></head><body><inlay-fragment src="explore/header" primary></inlay-fragment></body></html>`
	s := startShell(t, map[string]*team{"explore": explore}, []shell.Page{rawPage("/p", doc)},
		func(c *Config) { c.Locales = []string{"en", "de"} })
	for _, al := range []string{"en", "zzqq-abc", "zzqq-abd", "en-GB,en;q=0.9", "*", "de-CH", "de", "xx;q=0.9,de;q=0.1"} {
		if resp, body := get(t, s.url+"/p", map[string]string{"Accept-Language": al}); resp.StatusCode != 200 || !strings.Contains(body, "<header>H</header>") {
			t.Fatalf("Accept-Language %q: %d %s", al, resp.StatusCode, body)
		}
	}
	explore.mu.Lock()
	locales := map[string]int{}
	for _, r := range explore.requests {
		if r.URL.Path == "/fragments/header" {
			fc, err := s.verifier.Verify(r.Header.Get(fragments.ContextHeader), time.Now())
			if err != nil {
				t.Errorf("context: %v", err)
				continue
			}
			locales[fc.Locale]++
		}
	}
	explore.mu.Unlock()
	if len(locales) != 2 || locales["en"] != 1 || locales["de"] != 1 {
		t.Errorf("the team was asked for the header with locales %v, want en and de once each", locales)
	}
}

func TestHeadStreamsBeforeSlowFragment(t *testing.T) {
	explore, decide := newTeam(t), newTeam(t)
	release := make(chan struct{})
	var once sync.Once
	unblock := func() { once.Do(func() { close(release) }) }
	t.Cleanup(unblock)
	decide.fragment("product", "<article>P</article>")
	explore.handle("/fragments/header", func(w http.ResponseWriter, r *http.Request) {
		<-release
		w.Header().Set("Content-Type", "text/html")
		fmt.Fprint(w, "<header>slow</header>")
	})
	s := startShell(t, map[string]*team{"explore": explore, "decide": decide}, []shell.Page{rawPage("/p", `<!doctype html><html><head><title>t</title></head><body><inlay-fragment src="decide/product" primary></inlay-fragment><inlay-fragment src="explore/header"></inlay-fragment></body></html>`)}, nil)
	resp, err := http.Get(s.url + "/p")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Fatalf("status %d", resp.StatusCode)
	}
	// The head and the primary arrive while the header is still blocked.
	r := bufio.NewReader(resp.Body)
	var got strings.Builder
	for !strings.Contains(got.String(), "<article>P</article>") {
		b, err := r.ReadByte()
		if err != nil {
			t.Fatalf("stream ended before the primary: %q (%v)", got.String(), err)
		}
		got.WriteByte(b)
	}
	if !strings.Contains(got.String(), "</head>") {
		t.Errorf("no head: %q", got.String())
	}
	unblock()
	rest, err := io.ReadAll(r)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(rest), "<header>slow</header>") {
		t.Errorf("slow fragment missing: %s", rest)
	}
}

func TestPrimaryStatusBecomesPageStatus(t *testing.T) {
	tests := []struct {
		name     string
		handler  http.HandlerFunc
		status   int
		location string
		contains string
	}{
		{"404 with content", func(w http.ResponseWriter, r *http.Request) {
			w.WriteHeader(404)
			fmt.Fprint(w, "<p>no such tractor</p>")
		}, 404, "", "no such tractor"},
		{"bare 404", func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(404) }, 404, "", `data-testid="error-page"`},
		{"302", func(w http.ResponseWriter, r *http.Request) {
			http.Redirect(w, r, "/product/1?sku=A", http.StatusFound)
		}, http.StatusFound, "/product/1?sku=A", ""},
		{"500", func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(500) }, 503, "", `data-testid="error-page"`},
		// The team refuses the request (a bad parameter): the visitor's error, not an outage.
		{"400", func(w http.ResponseWriter, r *http.Request) { http.Error(w, "bad id", http.StatusBadRequest) }, 400, "", `data-testid="error-page"`},
		{"429", func(w http.ResponseWriter, r *http.Request) { http.Error(w, "slow down", http.StatusTooManyRequests) }, 429, "", "Too many requests"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			decide := newTeam(t)
			decide.handle("/fragments/product", tt.handler)
			s := startShell(t, map[string]*team{"decide": decide}, []shell.Page{rawPage("/p", `<html><head></head><body><inlay-fragment src="decide/product" primary></inlay-fragment></body></html>`)}, nil)
			resp, body := get(t, s.url+"/p", nil)
			if resp.StatusCode != tt.status || resp.Header.Get("Location") != tt.location || !strings.Contains(body, tt.contains) {
				t.Errorf("status %d location %q body %s; want %d %q containing %q", resp.StatusCode, resp.Header.Get("Location"), body, tt.status, tt.location, tt.contains)
			}
			if strings.Contains(tt.contains, "error-page") &&
				(resp.Header.Get("X-Content-Type-Options") != "nosniff" || resp.Header.Get("Referrer-Policy") == "") {
				t.Errorf("the error page without nosniff or Referrer-Policy: %v", resp.Header)
			}
		})
	}
}

func TestPageTemplateFile(t *testing.T) {
	stub := newTeam(t)
	stub.fragment("header", "<header>from file</header>")
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "bench.html"), []byte(`<html><head></head><body><inlay-fragment src="stub/header?size=10"></inlay-fragment></body></html>`), 0o644); err != nil {
		t.Fatal(err)
	}
	s := startShell(t, map[string]*team{"stub": stub}, nil, func(c *Config) { c.PagesDir = dir })
	resp, body := get(t, s.url+"/bench", nil)
	if resp.StatusCode != 200 || !strings.Contains(body, "<header>from file</header>") {
		t.Errorf("status %d body %s", resp.StatusCode, body)
	}
	if r, _ := stub.last("/fragments/header"); r == nil || r.URL.RawQuery != "size=10" {
		t.Errorf("fragment request %v", r)
	}
	if resp, _ := get(t, s.url+"/nothing-here", nil); resp.StatusCode != 404 {
		t.Errorf("unknown route: %d", resp.StatusCode)
	}
}

func TestProxyCookieRule(t *testing.T) {
	checkout, explore := newTeam(t), newTeam(t)
	checkout.handle("/ui/cart/add", func(w http.ResponseWriter, r *http.Request) {
		http.SetCookie(w, &http.Cookie{Name: CartCookie, Value: "c1", Path: "/", HttpOnly: true})
		http.SetCookie(w, &http.Cookie{Name: SessionCookie, Value: "stolen", Path: "/"})
		w.Header().Set("HX-Trigger", "checkout:cart-updated")
		http.Redirect(w, r, "/checkout/cart", http.StatusSeeOther)
	})
	explore.handle("/ui/evil", func(w http.ResponseWriter, r *http.Request) {
		http.SetCookie(w, &http.Cookie{Name: CartCookie, Value: "evil", Path: "/"})
		fmt.Fprint(w, "ok")
	})
	explore.handle("/static/logo.svg", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "image/svg+xml")
		w.Header().Set("Cache-Control", "public, max-age=31536000, immutable")
		fmt.Fprint(w, "<svg/>")
	})
	s := startShell(t, map[string]*team{"checkout": checkout, "explore": explore}, nil, nil)

	req, _ := http.NewRequest(http.MethodPost, s.url+"/checkout/cart/add?x=1", strings.NewReader("sku=CL-01-GY"))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Cookie", "inlay_session=secret; inlay_cart=old")
	req.Header.Set("HX-Request", "true")
	client := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/checkout/cart" || resp.Header.Get("HX-Trigger") != "checkout:cart-updated" {
		t.Errorf("response %d %v", resp.StatusCode, resp.Header)
	}
	cookies := map[string]string{}
	for _, c := range resp.Cookies() {
		cookies[c.Name] = c.Value
	}
	if cookies[CartCookie] != "c1" || cookies[SessionCookie] != "" {
		t.Errorf("cookies passed: %v (want only inlay_cart from checkout)", cookies)
	}
	r, body := checkout.last("/ui/cart/add")
	if r == nil || body != "sku=CL-01-GY" || r.URL.RawQuery != "x=1" || r.Method != http.MethodPost || r.Header.Get("HX-Request") != "true" {
		t.Fatalf("team got %v %q", r, body)
	}
	if r.Header.Get("Cookie") != "" {
		t.Errorf("browser cookies reached the team: %q", r.Header.Get("Cookie"))
	}
	if fc, err := s.verifier.Verify(r.Header.Get(fragments.ContextHeader), time.Now()); err != nil || fc.CartID != "old" {
		t.Errorf("context %+v %v", fc, err)
	}

	resp, _ = get(t, s.url+"/explore/evil", nil)
	for _, c := range resp.Cookies() {
		if c.Name == CartCookie {
			t.Errorf("explore set %s", CartCookie)
		}
	}
	resp, body = get(t, s.url+"/static/explore/logo.svg", map[string]string{"Cookie": "inlay_session=secret"})
	if resp.StatusCode != 200 || body != "<svg/>" || !strings.Contains(resp.Header.Get("Cache-Control"), "immutable") {
		t.Errorf("static: %d %q %v", resp.StatusCode, body, resp.Header)
	}
	if r, _ := explore.last("/static/logo.svg"); r.Header.Get("Cookie") != "" || r.Header.Get(fragments.ContextHeader) != "" {
		t.Errorf("static request carried cookie or context: %v", r.Header)
	}
}

func TestPurgeAPI(t *testing.T) {
	stub := newTeam(t)
	n := 0
	var mu sync.Mutex
	stub.handle("/fragments/a", func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		n++
		v := n
		mu.Unlock()
		w.Header().Set("Cache-Control", "public, max-age=600")
		w.Header().Set(fragments.TagsHeader, "product:CL-01")
		fmt.Fprintf(w, "<p>v%d</p>", v)
	})
	s := startShell(t, map[string]*team{"stub": stub}, []shell.Page{rawPage("/p", `<html><head></head><body><inlay-fragment src="stub/a?id=1"></inlay-fragment></body></html>`)},
		func(c *Config) { c.PurgeToken = "s3cret" })
	if _, body := get(t, s.url+"/p", nil); !strings.Contains(body, "v1") {
		t.Fatal(body)
	}
	if _, body := get(t, s.url+"/p", nil); !strings.Contains(body, "v1") {
		t.Fatalf("not cached: %s", body)
	}
	purge := func(token, body string) int {
		req, _ := http.NewRequest(http.MethodPost, s.admin+"/_inlay/purge", strings.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		if token != "" {
			req.Header.Set("Authorization", "Bearer "+token)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	if st := purge("wrong", `{"targets":["stub"]}`); st != 403 {
		t.Errorf("purge with a wrong token: %d", st)
	}
	if st := purge("s3cret", `{"targets":["nope/a"]}`); st != 400 {
		t.Errorf("purge of an unknown context: %d", st)
	}
	if st := purge("s3cret", `{"targets":["stub/a?id=1"]}`); st != 200 {
		t.Errorf("purge: %d", st)
	}
	if _, body := get(t, s.url+"/p", nil); !strings.Contains(body, "v2") {
		t.Errorf("after purge: %s", body)
	}
	// By tag: the fragment named product:CL-01 in Inlay-Tags.
	if st := purge("s3cret", `{"tags":["bad tag"]}`); st != 400 {
		t.Errorf("purge of a malformed tag: %d", st)
	}
	if st := purge("s3cret", `{"tags":["product:AU-02"]}`); st != 200 {
		t.Errorf("purge by tag: %d", st)
	}
	if _, body := get(t, s.url+"/p", nil); !strings.Contains(body, "v2") {
		t.Errorf("a purge of another tag removed the copy: %s", body)
	}
	if st := purge("s3cret", `{"tags":["product:CL-01"]}`); st != 200 {
		t.Errorf("purge by tag: %d", st)
	}
	if _, body := get(t, s.url+"/p", nil); !strings.Contains(body, "v3") {
		t.Errorf("after the purge by tag: %s", body)
	}
}

func TestNotFoundPage(t *testing.T) {
	explore, decide := newTeam(t), newTeam(t)
	explore.fragment("header", "<header>H</header>")
	decide.handle("/fragments/product", func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(404) })
	pages := []shell.Page{rawPage("/p", `<html><head></head><body><inlay-fragment src="decide/product" primary></inlay-fragment></body></html>`)}
	s := startShellWith(t, map[string]*team{"explore": explore, "decide": decide}, pages,
		rawPage("/*", `<html><head></head><body data-testid="not-found"><inlay-fragment src="explore/header"></inlay-fragment>nothing here</body></html>`), nil)
	for _, path := range []string{"/no/such/page", "/p"} {
		resp, body := get(t, s.url+path, nil)
		if resp.StatusCode != 404 || !strings.Contains(body, `data-testid="not-found"`) || !strings.Contains(body, "<header>H</header>") {
			t.Errorf("%s: status %d body %s", path, resp.StatusCode, body)
		}
	}
	req, _ := http.NewRequest(http.MethodPost, s.url+"/no/such/page", nil)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 404 {
		t.Errorf("POST to nowhere: %d", resp.StatusCode)
	}
	// Another method on a page's address: 405, saying which methods it takes, as the shell's page.
	for _, m := range []string{http.MethodPost, http.MethodDelete, http.MethodOptions} {
		req, _ := http.NewRequest(m, s.url+"/p", nil)
		req.Header.Set("Accept", "text/html")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 405 || resp.Header.Get("Allow") != "GET, HEAD" || !strings.Contains(string(body), "does not take that kind of request") ||
			resp.Header.Get("Content-Security-Policy") == "" {
			t.Errorf("%s /p: %d, Allow %q, body %.200s", m, resp.StatusCode, resp.Header.Get("Allow"), body)
		}
	}
}

func TestShellAssets(t *testing.T) {
	s := startShell(t, map[string]*team{"explore": newTeam(t)}, nil, nil)
	for path, ctype := range map[string]string{"/static/shell/base.css": "text/css", "/static/shell/boundary.js": "javascript",
		"/static/shell/favicon.svg": "image/svg+xml", "/favicon.ico": "image/svg+xml"} {
		resp, body := get(t, s.url+path, nil)
		if resp.StatusCode != 200 || !strings.Contains(resp.Header.Get("Content-Type"), ctype) || body == "" ||
			resp.Header.Get("X-Content-Type-Options") != "nosniff" {
			t.Errorf("%s: %d %q, nosniff %q", path, resp.StatusCode, resp.Header.Get("Content-Type"), resp.Header.Get("X-Content-Type-Options"))
		}
	}
	if resp, _ := get(t, s.url+"/static/shell/nope.js", nil); resp.StatusCode != 404 {
		t.Errorf("missing asset: %d", resp.StatusCode)
	}
}

// TestCookiesOutsideDev: outside dev the browser holds the teams' cookies under the __Host- prefix,
// which no sibling subdomain or plain-HTTP answer can plant: the shell renames a team's Set-Cookie
// (Secure, Path=/, no Domain, as the prefix requires), reads only the prefixed names, and the team
// gets its own name back.
func TestCookiesOutsideDev(t *testing.T) {
	checkout, accounts := newTeam(t), newTeam(t)
	checkout.handle("/ui/cart/add", func(w http.ResponseWriter, r *http.Request) {
		http.SetCookie(w, &http.Cookie{Name: CartCookie, Value: "c1", Path: "/", HttpOnly: true, Domain: "example.com"})
		fmt.Fprint(w, "ok")
	})
	accounts.handle("/ui/logout", func(w http.ResponseWriter, r *http.Request) {
		if ck, err := r.Cookie(SessionCookie); err != nil || ck.Value != "s1" {
			t.Errorf("accounts got session cookie %v (%v), want its own name", ck, err)
		}
		http.SetCookie(w, &http.Cookie{Name: SessionCookie, Value: "", Path: "/", MaxAge: -1})
		fmt.Fprint(w, "bye")
	})
	s := startShell(t, map[string]*team{"checkout": checkout, "accounts": accounts}, nil, func(c *Config) { c.Env = "prod" })
	post := func(path, cookie string) *http.Response {
		t.Helper()
		req, _ := http.NewRequest(http.MethodPost, s.url+path, strings.NewReader("x=1"))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.Header.Set("Cookie", cookie)
		req.Header.Set("Sec-Fetch-Site", "same-origin")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp
	}
	resp := post("/checkout/cart/add", "inlay_cart=planted")
	var got *http.Cookie
	for _, c := range resp.Cookies() {
		if c.Name == CartCookie {
			t.Errorf("the cart cookie under its plain name: %v", c)
		}
		if c.Name == "__Host-"+CartCookie {
			got = c
		}
	}
	if got == nil || got.Value != "c1" || !got.Secure || got.Path != "/" || got.Domain != "" {
		t.Fatalf("cart cookie %v, want __Host-inlay_cart=c1, Secure, Path=/, no Domain", got)
	}
	if fc := contextOf(t, s, checkout, "/ui/cart/add"); fc.CartID != "" {
		t.Errorf("a planted plain inlay_cart was read: cart %q", fc.CartID)
	}
	post("/checkout/cart/add", "__Host-inlay_cart=c1")
	if fc := contextOf(t, s, checkout, "/ui/cart/add"); fc.CartID != "c1" {
		t.Errorf("cart %q, want the prefixed cookie's", fc.CartID)
	}
	resp = post("/accounts/logout", "__Host-inlay_session=s1")
	deleted := false
	for _, c := range resp.Cookies() {
		deleted = deleted || c.Name == "__Host-"+SessionCookie && c.MaxAge < 0
	}
	if !deleted {
		t.Errorf("sign-out did not delete the prefixed session cookie: %v", resp.Header.Values("Set-Cookie"))
	}
}

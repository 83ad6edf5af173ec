package fragmenttest_test

import (
	"context"
	"crypto/ed25519"
	"fmt"
	"io"
	"maps"
	"net"
	"net/url"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/a-h/templ"
	"github.com/gofiber/fiber/v2"

	"github.com/inlay-dev/inlay/fragments"
	"github.com/inlay-dev/inlay/fragments/fragmenttest"
)

func newApp() *fiber.App { return fiber.New(fiber.Config{DisableStartupMessage: true}) }

// serve starts app on a free loopback port and returns its base URL; the server stops with the test.
func serve(t *testing.T, app *fiber.App) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- app.Listener(ln) }()
	t.Cleanup(func() {
		if err := app.ShutdownWithTimeout(5 * time.Second); err != nil {
			t.Errorf("shutdown: %v", err)
		}
		if err := <-done; err != nil {
			t.Errorf("serve: %v", err)
		}
	})
	return "http://" + ln.Addr().String()
}

func html(format string, args ...any) templ.Component {
	return templ.ComponentFunc(func(_ context.Context, w io.Writer) error {
		_, err := fmt.Fprintf(w, format, args...)
		return err
	})
}

var manifest = fragments.Manifest{
	Name:    "explore",
	Version: "test-1",
	Fragments: map[string]fragments.Fragment{
		"header": {
			Cache: fragments.Public, Timeout: fragments.Duration(300 * time.Millisecond),
			Fallback: `<header data-boundary="explore" data-testid="header">Inlay</header>`,
			CSS:      []string{"header.1a2b.css"}, JS: []string{"header.3c4d.js"},
		},
		"teaser": {Cache: fragments.Public, Params: []string{"id"}},
		"cart":   {Cache: fragments.Private, CSRF: true},
		"buy":    {Cache: fragments.Public, CSRF: true},
	},
}

// goodServer is a team's server built with the fragments helpers, as the contract wants it.
func goodServer(pub ed25519.PublicKey, allowUnsigned bool) *fiber.App {
	app := newApp()
	fragments.ServeManifest(app, manifest)
	g := app.Group("/fragments", fragments.Middleware(fragments.NewVerifier(pub, allowUnsigned)))
	g.Get("/header", func(c *fiber.Ctx) error {
		return fragments.Render(c, html(`<header data-boundary="explore" data-testid="header"><a href="/" id="explore-logo">Inlay</a>`+
			`<inlay-fragment src="checkout/mini-cart" async timeout="200ms"></inlay-fragment></header>`),
			fragments.Public, fragments.Assets(manifest, "header"), fragments.Vary("Accept-Language"))
	})
	g.Get("/teaser", func(c *fiber.Ctx) error {
		id := c.Query("id")
		if id == "" {
			return fiber.NewError(fiber.StatusNotFound, "no teaser")
		}
		return fragments.Render(c, html(`<!-- teaser -->
<section data-boundary="explore" data-testid="teaser-%s">teaser</section>`, templ.EscapeString(id)), fragments.Public)
	})
	g.Get("/cart", func(c *fiber.Ctx) error {
		fc := fragments.ContextFrom(c.UserContext())
		return fragments.Render(c, html(`<div data-boundary="explore" data-testid="cart">%s<form method="post">`+
			`<input type="hidden" name="csrf" value="%s"></form></div>`,
			templ.EscapeString(fc.CartID), templ.EscapeString(fc.CSRF)), fragments.Private)
	})
	g.Get("/buy", func(c *fiber.Ctx) error {
		return fragments.Render(c, html(`<form data-boundary="explore" data-testid="buy" method="post">`+
			`<input type="hidden" name="csrf" value="%s"></form>`, fragments.CSRFPlaceholder), fragments.Public)
	})
	return app
}

func mustSigner(t *testing.T) (*fragments.Signer, ed25519.PublicKey) {
	t.Helper()
	pub, priv, err := fragments.GenerateKey()
	if err != nil {
		t.Fatal(err)
	}
	return fragments.NewSigner(priv), pub
}

func TestGoodServerPasses(t *testing.T) {
	t.Parallel()
	signer, pub := mustSigner(t)
	teasers := []fragmenttest.Option{
		fragmenttest.Params("teaser", url.Values{"id": {"a"}}),
		fragmenttest.Params("teaser", url.Values{"id": {"b"}}),
	}
	t.Run("prod", func(t *testing.T) {
		t.Parallel()
		base := serve(t, goodServer(pub, false))
		fragmenttest.Run(t, base, append(teasers, fragmenttest.Signer(signer))...)
	})
	t.Run("dev with a key", func(t *testing.T) {
		t.Parallel()
		base := serve(t, goodServer(pub, true))
		fragmenttest.Run(t, base, append(teasers, fragmenttest.Signer(signer), fragmenttest.AllowUnsigned())...)
	})
	t.Run("dev without a key", func(t *testing.T) {
		t.Parallel()
		base := serve(t, goodServer(nil, true))
		findings := fragmenttest.Check(t.Context(), base, teasers...)
		for _, f := range findings {
			if f.Failed() {
				t.Errorf("%s", f)
			}
		}
		if !slices.ContainsFunc(findings, func(f fragmenttest.Finding) bool { return f.Skipped && f.Check == "context" }) {
			t.Error("without a Signer the context checks should be reported as skipped")
		}
	})
}

// badServer breaks the contract in every way the suite is meant to catch.
func badServer() *fiber.App {
	app := newApp()
	bad := manifest
	bad.Fragments = maps.Clone(manifest.Fragments)
	cart := bad.Fragments["cart"]
	cart.Fallback = `<div data-testid="cart">cart unavailable</div>` // no data-boundary
	bad.Fragments["cart"] = cart
	fragments.ServeManifest(app, bad)
	app.Get("/fragments/header", func(c *fiber.Ctx) error {
		c.Set("Cache-Control", "private")
		c.Cookie(&fiber.Cookie{Name: "inlay_cart", Value: "x"})
		c.Set("Content-Type", "text/html")
		return c.SendString(`<html><body><header data-testid="header"><label for="q">Search</label><input id="q"><p id="explore-x"></p><p id="explore-x"></p>` +
			`<form method="post"><input type="hidden" name="csrf"></form>` + // a form, without asking for the token
			`<inlay-fragment src="http://169.254.169.254/latest"></inlay-fragment>` +
			`<inlay-fragment src="//evil.example/x"></inlay-fragment></header></body></html>`)
	})
	app.Get("/fragments/teaser", func(c *fiber.Ctx) error {
		c.Set("ETag", `"fixed"`) // an ETag that is never honoured
		c.Set("Cache-Control", "public, max-age=60")
		c.Set("Content-Type", "text/html")
		return c.SendString(`loose text <section data-boundary="decide">teaser</section>`)
	})
	app.Get("/fragments/cart", func(c *fiber.Ctx) error {
		c.Set("Cache-Control", "public, max-age=60")
		return c.SendString(`{"cart":1}`)
	})
	// Public and asking for the token, but rendering the context's (a customer's) instead of the
	// placeholder: the shared copy would hold it.
	bg := app.Group("/fragments", fragments.Middleware(fragments.NewVerifier(nil, true)))
	bg.Get("/buy", func(c *fiber.Ctx) error {
		return fragments.Render(c, html(`<form data-boundary="explore" data-testid="buy" method="post">`+
			`<input type="hidden" name="csrf" value="%s"></form>`, templ.EscapeString(fragments.ContextFrom(c.UserContext()).CSRF)), fragments.Public)
	})
	return app
}

// recorder is a testing.TB that records instead of failing, to test the suite's own verdicts.
type recorder struct {
	testing.TB
	mu     sync.Mutex
	errors []string
	logs   []string
}

func (r *recorder) Helper() {}
func (r *recorder) Errorf(format string, args ...any) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.errors = append(r.errors, fmt.Sprintf(format, args...))
}
func (r *recorder) Logf(format string, args ...any) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.logs = append(r.logs, fmt.Sprintf(format, args...))
}

func TestBadServerFails(t *testing.T) {
	t.Parallel()
	signer, _ := mustSigner(t)
	base := serve(t, badServer())
	rec := &recorder{}
	fragmenttest.Run(rec, base, fragmenttest.Signer(signer), fragmenttest.Params("teaser", url.Values{"id": {"a"}}))

	wantFailures := []string{
		"fragment header: document",
		"fragment header: root",
		"fragment header: cache-control",
		"fragment header: etag",
		"fragment header: links",
		"fragment header: nested",
		"fragment header: no cookies",
		"fragment header: ids",
		"fragment header: csrf",
		"fragment header: forged context rejected",
		"fragment header: expired context rejected",
		"fragment header: missing context rejected",
		"fragment teaser?id=a: root",
		"fragment teaser?id=a: etag",
		"fragment teaser?id=a: forged context rejected",
		"fragment cart: status", // not text/html
		"fragment cart: root",
		"fragment cart: cache-control",
		"fragment cart: fallback",
		"fragment buy: csrf",
	}
	for _, want := range wantFailures {
		if !slices.ContainsFunc(rec.errors, func(e string) bool { return strings.HasPrefix(e, "FAIL "+want+":") }) {
			t.Errorf("suite did not report %q; it reported:\n%s", want, strings.Join(rec.errors, "\n"))
		}
	}
	for _, e := range rec.errors {
		if strings.HasPrefix(e, "FAIL manifest") {
			t.Errorf("the manifest is fine, yet: %s", e)
		}
	}
	// The ids at fault are named: one without the prefix, one used twice.
	for _, want := range []string{`id "q" does not start with the team's prefix "explore-"`, `id "explore-x" is used twice`} {
		if !slices.ContainsFunc(rec.errors, func(e string) bool { return strings.Contains(e, want) }) {
			t.Errorf("%s: not in %v", want, rec.errors)
		}
	}
	// The URL in a nested tag is named in the report, so a team sees what to fix.
	if !slices.ContainsFunc(rec.errors, func(e string) bool { return strings.Contains(e, "169.254.169.254") }) {
		t.Errorf("nested URL not named in: %v", rec.errors)
	}
}

func TestManifestFailures(t *testing.T) {
	t.Parallel()
	invalid := newApp()
	invalid.Get(fragments.ManifestPath, func(c *fiber.Ctx) error {
		return c.JSON(fiber.Map{"name": "Bad Name", "version": "1", "fragments": fiber.Map{"x": fiber.Map{"cache": "shared"}}})
	})
	garbage := newApp()
	garbage.Get(fragments.ManifestPath, func(c *fiber.Ctx) error {
		c.Set("Content-Type", "application/json")
		return c.SendString("{not json")
	})
	missing := newApp()

	// A port nothing listens on: taken, then released.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	closed := "http://" + ln.Addr().String()
	ln.Close()

	tests := []struct {
		name, base, want string
	}{
		{"invalid", serve(t, invalid), "cache"},
		{"garbage", serve(t, garbage), "decode"},
		{"missing", serve(t, missing), "status 404"},
		{"unreachable", closed, "connect"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			rec := &recorder{}
			fragmenttest.Run(rec, tt.base, fragmenttest.Timeout(5*time.Second))
			if len(rec.errors) != 1 || !strings.HasPrefix(rec.errors[0], "FAIL manifest: manifest:") ||
				!strings.Contains(rec.errors[0], tt.want) {
				t.Errorf("errors %q, want one manifest failure mentioning %q", rec.errors, tt.want)
			}
		})
	}
}

func TestParamsForUnknownFragment(t *testing.T) {
	t.Parallel()
	signer, pub := mustSigner(t)
	base := serve(t, goodServer(pub, false))
	findings := fragmenttest.Check(t.Context(), base, fragmenttest.Signer(signer),
		fragmenttest.Params("teaser", url.Values{"id": {"a"}}), fragmenttest.Params("nope", url.Values{"x": {"1"}}))
	var failed []string
	for _, f := range findings {
		if f.Failed() {
			failed = append(failed, f.String())
		}
	}
	if len(failed) != 1 || !strings.Contains(failed[0], "fragment nope: params") {
		t.Errorf("failures %q, want only the unknown fragment's params", failed)
	}
}

func TestUndeclaredParam(t *testing.T) {
	t.Parallel()
	signer, pub := mustSigner(t)
	base := serve(t, goodServer(pub, false))
	rec := &recorder{}
	fragmenttest.Run(rec, base, fragmenttest.Signer(signer), fragmenttest.Params("teaser", url.Values{"id": {"a"}, "size": {"s"}}))
	if len(rec.errors) != 1 || !strings.Contains(rec.errors[0], `FAIL fragment teaser: params: param "size"`) {
		t.Errorf("errors %q, want one about the undeclared param size", rec.errors)
	}
}

// TestIDPrefix checks a team's own short id prefix: ids with it pass once it is named, and fail
// against the default, the team's name.
func TestIDPrefix(t *testing.T) {
	t.Parallel()
	signer, pub := mustSigner(t)
	app := newApp()
	m := fragments.Manifest{Name: "checkout", Version: "1", Fragments: map[string]fragments.Fragment{
		"form": {Cache: fragments.Private, Fallback: `<p data-boundary="checkout" data-testid="form" id="co-form-fallback">later</p>`}}}
	fragments.ServeManifest(app, m)
	g := app.Group("/fragments", fragments.Middleware(fragments.NewVerifier(pub, false)))
	g.Get("/form", func(c *fiber.Ctx) error {
		return fragments.Render(c, html(`<form data-boundary="checkout" data-testid="form"><label for="co-name">Name</label><input id="co-name"></form>`), fragments.Private)
	})
	base := serve(t, app)
	failed := func(opts ...fragmenttest.Option) []string {
		var out []string
		for _, f := range fragmenttest.Check(t.Context(), base, append(opts, fragmenttest.Signer(signer))...) {
			if f.Failed() && (f.Check == "ids" || f.Check == "fallback") {
				out = append(out, f.String())
			}
		}
		return out
	}
	if got := failed(fragmenttest.IDPrefix("co-")); len(got) != 0 {
		t.Errorf("with the team's prefix: %q", got)
	}
	if got := failed(); len(got) != 2 {
		t.Errorf("against the default prefix checkout-: %q, want the fragment and its fallback", got)
	}
}

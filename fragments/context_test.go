package fragments_test

import (
	"context"
	"crypto/ed25519"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gofiber/fiber/v2"

	"github.com/inlay-dev/inlay/fragments"
)

var now = time.Date(2026, 11, 23, 9, 0, 0, 0, time.UTC)

func mustKey(t testing.TB) (ed25519.PublicKey, ed25519.PrivateKey) {
	t.Helper()
	pub, priv, err := fragments.GenerateKey()
	if err != nil {
		t.Fatal(err)
	}
	return pub, priv
}

func mustSign(t testing.TB, priv ed25519.PrivateKey, c fragments.Context) string {
	t.Helper()
	h, err := fragments.NewSigner(priv).Sign(c)
	if err != nil {
		t.Fatalf("sign: %v", err)
	}
	return h
}

func sampleContext() fragments.Context {
	return fragments.Context{
		CustomerID: "c-42",
		CartID:     "cart-7",
		Locale:     "de-DE",
		CSRF:       "tok_abc",
		Client:     "203.0.113.9",
		Expires:    now.Add(time.Minute),
	}
}

func TestSignVerifyRoundTrip(t *testing.T) {
	t.Parallel()
	pub, priv := mustKey(t)
	want := sampleContext()
	h := mustSign(t, priv, want)
	if strings.Count(h, ".") != 1 {
		t.Fatalf("header %q: want payload.signature", h)
	}
	for _, allowUnsigned := range []bool{false, true} {
		got, err := fragments.NewVerifier(pub, allowUnsigned).Verify(h, now)
		if err != nil {
			t.Fatalf("allowUnsigned=%v: verify: %v", allowUnsigned, err)
		}
		if got != want {
			t.Errorf("allowUnsigned=%v: got %+v, want %+v", allowUnsigned, got, want)
		}
	}
}

func TestSignRejectsBadInput(t *testing.T) {
	t.Parallel()
	_, priv := mustKey(t)
	tests := []struct {
		name string
		key  ed25519.PrivateKey
		c    fragments.Context
	}{
		{"no expiry", priv, fragments.Context{CustomerID: "c"}},
		{"no key", nil, sampleContext()},
		{"control character", priv, fragments.Context{CSRF: "a\nb", Expires: now}},
		{"field too long", priv, fragments.Context{CartID: strings.Repeat("x", 300), Expires: now}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			if h, err := fragments.NewSigner(tt.key).Sign(tt.c); err == nil {
				t.Fatalf("Sign = %q, want an error", h)
			}
		})
	}
}

func TestVerifyRejects(t *testing.T) {
	t.Parallel()
	pub, priv := mustKey(t)
	_, otherPriv := mustKey(t)
	valid := mustSign(t, priv, sampleContext())
	payload, sig, _ := strings.Cut(valid, ".")

	// tampered: the same signature over a payload naming another customer.
	tampered := sampleContext()
	tampered.CustomerID = "c-1"
	tamperedPayload, _, _ := strings.Cut(mustSign(t, priv, tampered), ".")

	expired := sampleContext()
	expired.Expires = now.Add(-time.Second)

	rawSig := make([]byte, ed25519.SignatureSize)
	tests := []struct {
		name          string
		pub           ed25519.PublicKey
		allowUnsigned bool
		header        string
		want          error
	}{
		{"missing in prod", pub, false, "", fragments.ErrMissingContext},
		{"missing without key in prod", nil, false, "", fragments.ErrMissingContext},
		{"forged with another key", pub, false, mustSign(t, otherPriv, sampleContext()), fragments.ErrForgedContext},
		{"forged with another key in dev", pub, true, mustSign(t, otherPriv, sampleContext()), fragments.ErrForgedContext},
		{"tampered payload", pub, false, tamperedPayload + "." + sig, fragments.ErrForgedContext},
		{"tampered payload in dev", pub, true, tamperedPayload + "." + sig, fragments.ErrForgedContext},
		{"zero signature", pub, true, payload + "." + base64.RawURLEncoding.EncodeToString(rawSig), fragments.ErrForgedContext},
		{"no signature", pub, true, payload + ".", fragments.ErrForgedContext},
		{"no dot", pub, false, payload, fragments.ErrForgedContext},
		{"two dots", pub, false, valid + ".x", fragments.ErrForgedContext},
		{"garbage", pub, false, "not base64!.@@", fragments.ErrForgedContext},
		{"too long", pub, false, strings.Repeat("a", fragments.MaxContextHeaderLen+1), fragments.ErrForgedContext},
		{"wrong key length", pub[:16], false, valid, fragments.ErrForgedContext},
		{"present without key in prod", nil, false, valid, fragments.ErrForgedContext},
		{"expired", pub, false, mustSign(t, priv, expired), fragments.ErrExpiredContext},
		{"expired in dev", pub, true, mustSign(t, priv, expired), fragments.ErrExpiredContext},
		{"expired exactly now", pub, false, mustSign(t, priv, fragments.Context{Expires: now}), fragments.ErrExpiredContext},
		{"expired without key in dev", nil, true, mustSign(t, priv, expired), fragments.ErrExpiredContext},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got, err := fragments.NewVerifier(tt.pub, tt.allowUnsigned).Verify(tt.header, now)
			if !errors.Is(err, tt.want) {
				t.Fatalf("Verify = %+v, %v; want %v", got, err, tt.want)
			}
			if got != (fragments.Context{}) {
				t.Errorf("rejected header yielded a context: %+v", got)
			}
		})
	}
}

func TestVerifyDevMode(t *testing.T) {
	t.Parallel()
	_, priv := mustKey(t)
	// Missing header in dev: a guest.
	got, err := fragments.NewVerifier(nil, true).Verify("", now)
	if err != nil || got != (fragments.Context{}) || !got.Guest() {
		t.Fatalf("missing in dev = %+v, %v; want guest", got, err)
	}
	// No key configured in dev: a present header is decoded without its signature checked.
	want := sampleContext()
	got, err = fragments.NewVerifier(nil, true).Verify(mustSign(t, priv, want), now)
	if err != nil || got != want {
		t.Fatalf("unverified in dev = %+v, %v; want %+v", got, err, want)
	}
}

func TestParseKeys(t *testing.T) {
	t.Parallel()
	pub, priv := mustKey(t)
	seed := priv.Seed()
	for name, s := range map[string]string{
		"std seed":      base64.StdEncoding.EncodeToString(seed),
		"raw url seed":  base64.RawURLEncoding.EncodeToString(seed),
		"full key":      base64.StdEncoding.EncodeToString(priv),
		"padded spaces": " " + fragments.EncodePrivateKey(priv) + "\n",
	} {
		got, err := fragments.ParsePrivateKey(s)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if !got.Equal(priv) {
			t.Errorf("%s: parsed a different key", name)
		}
	}
	gotPub, err := fragments.ParsePublicKey(fragments.EncodePublicKey(pub))
	if err != nil || !gotPub.Equal(pub) {
		t.Fatalf("ParsePublicKey = %v, %v", gotPub, err)
	}
	if k, err := fragments.ParsePublicKey(""); k != nil || err != nil {
		t.Errorf("ParsePublicKey(\"\") = %v, %v; want nil, nil (no key configured)", k, err)
	}
	if !fragments.NewSigner(priv).PublicKey().Equal(pub) {
		t.Error("Signer.PublicKey does not match")
	}

	mismatched := append(append([]byte{}, seed...), make([]byte, 32)...)
	for name, s := range map[string]string{
		"not base64":      "%%%",
		"short":           base64.StdEncoding.EncodeToString(seed[:10]),
		"empty":           "",
		"mismatched half": base64.StdEncoding.EncodeToString(mismatched),
	} {
		if _, err := fragments.ParsePrivateKey(s); err == nil {
			t.Errorf("ParsePrivateKey(%s): want an error", name)
		}
	}
	for name, s := range map[string]string{
		"not base64": "%%%",
		"seed size":  base64.StdEncoding.EncodeToString(priv),
	} {
		if _, err := fragments.ParsePublicKey(s); err == nil {
			t.Errorf("ParsePublicKey(%s): want an error", name)
		}
	}
}

func TestContextFrom(t *testing.T) {
	t.Parallel()
	if got := fragments.ContextFrom(context.Background()); got != (fragments.Context{}) {
		t.Errorf("empty ctx: %+v", got)
	}
	want := sampleContext()
	if got := fragments.ContextFrom(fragments.WithContext(context.Background(), want)); got != want {
		t.Errorf("got %+v, want %+v", got, want)
	}
}

func TestMiddleware(t *testing.T) {
	t.Parallel()
	pub, priv := mustKey(t)
	_, otherPriv := mustKey(t)
	future := time.Now().Add(time.Hour)
	c := fragments.Context{CustomerID: "c-9", CartID: "k", Locale: "en", CSRF: "x", Expires: future}
	valid := mustSign(t, priv, c)
	forged := mustSign(t, otherPriv, c)
	expired := mustSign(t, priv, fragments.Context{CustomerID: "c-9", Expires: time.Now().Add(-time.Hour)})

	newApp := func(allowUnsigned bool) *fiber.App {
		app := fiber.New()
		app.Use(fragments.Middleware(fragments.NewVerifier(pub, allowUnsigned)))
		fragments.ServeManifest(app, testManifest())
		app.Get("/fragments/who", func(c *fiber.Ctx) error {
			fc := fragments.ContextFrom(c.UserContext())
			return c.SendString(fc.CustomerID + "|" + fc.Locale)
		})
		return app
	}
	tests := []struct {
		name          string
		allowUnsigned bool
		path, header  string
		status        int
		body          string
	}{
		{"valid", false, "/fragments/who", valid, 200, "c-9|en"},
		{"missing", false, "/fragments/who", "", 401, ""},
		{"forged", false, "/fragments/who", forged, 401, ""},
		{"expired", false, "/fragments/who", expired, 403, ""},
		{"missing in dev is a guest", true, "/fragments/who", "", 200, "|"},
		{"forged in dev with a key", true, "/fragments/who", forged, 401, ""},
		{"manifest needs no context", false, fragments.ManifestPath, "", 200, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			req := httptest.NewRequest(http.MethodGet, tt.path, nil)
			if tt.header != "" {
				req.Header.Set(fragments.ContextHeader, tt.header)
			}
			resp, err := newApp(tt.allowUnsigned).Test(req, -1)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			body, _ := io.ReadAll(resp.Body)
			if resp.StatusCode != tt.status {
				t.Fatalf("status %d (%s), want %d", resp.StatusCode, body, tt.status)
			}
			if tt.body != "" && string(body) != tt.body {
				t.Errorf("body %q, want %q", body, tt.body)
			}
			if tt.status >= 400 && strings.Contains(string(body), "signature") {
				t.Errorf("error response leaks the cause: %q", body)
			}
		})
	}
}

func BenchmarkSign(b *testing.B) {
	_, priv := mustKey(b)
	s := fragments.NewSigner(priv)
	c := sampleContext()
	b.ReportAllocs()
	for b.Loop() {
		if _, err := s.Sign(c); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkVerify(b *testing.B) {
	pub, priv := mustKey(b)
	h := mustSign(b, priv, sampleContext())
	v := fragments.NewVerifier(pub, false)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := v.Verify(h, now); err != nil {
			b.Fatal(err)
		}
	}
}

// The Verifier remembers verified headers; expiry must still be checked on each use, a forged header
// must never ride on a remembered one, and it must hold up under concurrent use and cache rotation.
func TestVerifierCache(t *testing.T) {
	t.Parallel()
	pub, priv := mustKey(t)
	_, otherPriv := mustKey(t)
	v := fragments.NewVerifier(pub, false)
	c := sampleContext() // expires at now+1m
	h := mustSign(t, priv, c)
	if got, err := v.Verify(h, now); err != nil || got != c {
		t.Fatalf("first: %+v, %v", got, err)
	}
	if got, err := v.Verify(h, now.Add(30*time.Second)); err != nil || got != c {
		t.Fatalf("remembered: %+v, %v", got, err)
	}
	if _, err := v.Verify(h, now.Add(2*time.Minute)); !errors.Is(err, fragments.ErrExpiredContext) {
		t.Fatalf("remembered but expired: %v, want ErrExpiredContext", err)
	}
	if _, err := v.Verify(mustSign(t, otherPriv, c), now); !errors.Is(err, fragments.ErrForgedContext) {
		t.Fatalf("same context, other key: %v, want ErrForgedContext", err)
	}

	// Many distinct headers from several goroutines, more than one cache generation holds. The dev
	// verifier without a key caches the same way and spares the test thousands of signatures.
	dev := fragments.NewVerifier(nil, true)
	zeroSig := base64.RawURLEncoding.EncodeToString(make([]byte, ed25519.SignatureSize))
	var wg sync.WaitGroup
	for g := range 4 {
		wg.Go(func() {
			for i := range 1100 { // 4400 headers: past one rotation
				cart := fmt.Sprintf("%d-%d", g, i)
				payload := fmt.Sprintf(`{"cart":%q,"exp":%d}`, cart, now.Add(time.Hour).Unix())
				h := base64.RawURLEncoding.EncodeToString([]byte(payload)) + "." + zeroSig
				for range 2 {
					if got, err := dev.Verify(h, now); err != nil || got.CartID != cart {
						t.Errorf("%s: got %+v, %v", cart, got, err)
						return
					}
				}
			}
		})
	}
	wg.Wait()
}

func BenchmarkVerifyUncached(b *testing.B) {
	pub, priv := mustKey(b)
	h := mustSign(b, priv, sampleContext())
	b.ReportAllocs()
	for b.Loop() {
		if _, err := fragments.NewVerifier(pub, false).Verify(h, now); err != nil {
			b.Fatal(err)
		}
	}
}

// TestMiddlewareKeepAlive sends a valid, then an expired and a forged context over one keep-alive
// connection to a real server. Fiber's header strings point into fasthttp's reused request buffer,
// so a Verifier that kept them uncopied would find the second request's bytes under the first's
// cache entry and wave it through.
func TestMiddlewareKeepAlive(t *testing.T) {
	t.Parallel()
	pub, priv := mustKey(t)
	_, otherPriv := mustKey(t)
	app := fiber.New(fiber.Config{DisableStartupMessage: true})
	app.Use(fragments.Middleware(fragments.NewVerifier(pub, false)))
	app.Get("/fragments/x", func(c *fiber.Ctx) error { return c.SendString(fragments.ContextFrom(c.UserContext()).CartID) })
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go func() { _ = app.Listener(ln) }()
	t.Cleanup(func() { _ = app.ShutdownWithTimeout(5 * time.Second) })
	client := &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{MaxConnsPerHost: 1}}
	t.Cleanup(client.CloseIdleConnections)

	future := time.Now().Add(time.Hour)
	ctxWith := func(cart string, exp time.Time) fragments.Context {
		return fragments.Context{CartID: cart, Locale: "en", Expires: exp}
	}
	steps := []struct {
		header string
		status int
		body   string
	}{
		{mustSign(t, priv, ctxWith("aaaa", future)), 200, "aaaa"},
		{mustSign(t, priv, ctxWith("bbbb", time.Now().Add(-time.Hour))), 403, ""},
		{mustSign(t, otherPriv, ctxWith("cccc", future)), 401, ""},
		{mustSign(t, priv, ctxWith("dddd", future)), 200, "dddd"},
		{mustSign(t, otherPriv, ctxWith("eeee", future)), 401, ""},
	}
	for i := range 3 {
		for _, s := range steps {
			req, err := http.NewRequest(http.MethodGet, "http://"+ln.Addr().String()+"/fragments/x", nil)
			if err != nil {
				t.Fatal(err)
			}
			req.Header.Set(fragments.ContextHeader, s.header)
			resp, err := client.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode != s.status || (s.body != "" && string(body) != s.body) {
				t.Errorf("round %d: got %d %q, want %d %q", i, resp.StatusCode, body, s.status, s.body)
			}
		}
	}
}

package embed_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gofiber/fiber/v2"

	"github.com/inlay-dev/inlay/bff/embed"
	"github.com/inlay-dev/inlay/fragments"
	"github.com/inlay-dev/inlay/services/kit/clientip"
	"github.com/inlay-dev/inlay/services/kit/kittest"
	"github.com/inlay-dev/inlay/services/kit/logging"
	"github.com/inlay-dev/inlay/services/kit/server"
)

const (
	storefront = "https://tractor.example"
	shop       = "https://shop.example"
)

// stubTeam is a fragment server that verifies Inlay-Context with embed's key alone and counts the
// fragment requests that reach it.
type stubTeam struct {
	srv      *httptest.Server
	requests atomic.Int32
}

func newStubTeam(t testing.TB, verifier *fragments.Verifier, manifest fragments.Manifest, bodies map[string]string) *stubTeam {
	t.Helper()
	st := &stubTeam{}
	st.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == fragments.ManifestPath {
			w.Header().Set("Content-Type", "application/json")
			_ = json.NewEncoder(w).Encode(manifest)
			return
		}
		st.requests.Add(1)
		if _, err := verifier.Verify(r.Header.Get(fragments.ContextHeader), time.Now()); err != nil {
			http.Error(w, "context", http.StatusUnauthorized)
			return
		}
		body, ok := bodies[strings.TrimPrefix(r.URL.Path, "/fragments/")]
		if ok && strings.Contains(body, "{sku}") && r.URL.Query().Get("sku") == "" {
			http.Error(w, "the fragment needs a sku", http.StatusBadRequest) // as decide answers
			return
		}
		if !ok || r.URL.Query().Get("sku") == "XX" {
			http.NotFound(w, r)
			return
		}
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		w.Header().Set("Cache-Control", "public, max-age=60, stale-while-revalidate=300")
		w.Header().Set("ETag", `"team-etag"`)
		_, _ = io.WriteString(w, strings.ReplaceAll(body, "{sku}", r.URL.Query().Get("sku")))
	}))
	t.Cleanup(st.srv.Close)
	return st
}

type platform struct {
	app        *fiber.App
	store      *embed.Store
	decide     *stubTeam
	inspire    *stubTeam
	keys, tiny embed.Keys
	clock      *clock
}

type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) advance(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

type nopWriter struct{}

func (nopWriter) Write(p []byte) (int, error) { return len(p), nil }

func newPlatform(t testing.TB, opts ...func(*embed.Options)) *platform {
	t.Helper()
	ctx := context.Background()
	pub, priv, err := fragments.GenerateKey()
	if err != nil {
		t.Fatal(err)
	}
	verifier := fragments.NewKeySetVerifier(fragments.KeySet{fragments.KeyEmbed: pub}, false)
	p := &platform{clock: &clock{t: time.Now()}}
	p.decide = newStubTeam(t, verifier, fragments.Manifest{Name: "decide", Version: "1", Fragments: map[string]fragments.Fragment{
		"product-card": {Params: []string{"sku"}, Cache: fragments.Public, CSS: []string{"decide.css"},
			Fallback: `<p data-boundary="decide" data-testid="card-fallback"><a href="/">The Tractor Store</a></p>`},
		"product": {Params: []string{"id", "sku"}, Cache: fragments.Public},
		"buy":     {Params: []string{"sku"}, Cache: fragments.Public, CSRF: true},
		"mine":    {Cache: fragments.Private},
	}}, map[string]string{
		"product-card": `<article data-boundary="decide" data-testid="card"><a href="/product/CL-01?sku={sku}">View at The Tractor Store</a>` +
			`<img src="/static/decide/cl.svg" alt=""><a href="//elsewhere.example/x">other</a>` +
			`<inlay-fragment src="inspire/recommendations?skus={sku}"></inlay-fragment></article>`,
		"product": `<section data-boundary="decide">product</section>`,
		"buy":     `<form method="post" action="/checkout/cart/add"><input type="hidden" name="csrf" value="__inlay_csrf__"></form>`,
		"mine":    `<p>yours</p>`,
	})
	p.inspire = newStubTeam(t, verifier, fragments.Manifest{Name: "inspire", Version: "1", Fragments: map[string]fragments.Fragment{
		"recommendations": {Params: []string{"skus"}, Cache: fragments.Public},
	}}, map[string]string{"recommendations": `<ul data-boundary="inspire" data-testid="recs"><li><a href="/product/AU-01">Titan</a></li></ul>`})

	p.store = embed.NewStore(kittest.Postgres(t, embed.Migrations()))
	if p.keys, err = p.store.Add(ctx, embed.NewPartner{Name: "acme", Origins: []string{shop},
		Fragments: []string{"decide/product-card", "decide/buy", "decide/mine"}, RatePerMinute: 1000}); err != nil {
		t.Fatal(err)
	}
	if p.tiny, err = p.store.Add(ctx, embed.NewPartner{Name: "tiny", Origins: []string{shop}, Fragments: []string{"decide/product-card"}, RatePerMinute: 2}); err != nil {
		t.Fatal(err)
	}
	rdb, keys := kittest.Redis(t)
	log := logging.New(nopWriter{}, "embed", slog.LevelError)
	o := embed.Options{
		Teams:      fragments.Teams{"decide": {p.decide.srv.URL}, "inspire": {p.inspire.srv.URL}},
		Storefront: storefront, Signer: fragments.NewKeySigner(fragments.KeyEmbed, priv),
		Partners: embed.NewKeyCache(p.store, 2*time.Second, p.clock.now), Redis: rdb, Keys: keys,
		FragmentTimeout: 2 * time.Second, Log: log,
	}
	for _, f := range opts {
		f(&o)
	}
	e, err := embed.New(ctx, o)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(e.Close)
	s := server.New(server.Options{Name: "embed", Log: log})
	e.Mount(s.App)
	p.app = s.App
	return p
}

// answer is what a test reads of a response, its body already read and closed.
type answer struct {
	StatusCode int
	Header     http.Header
}

func (p *platform) get(t testing.TB, method, target string, header map[string]string) (answer, string) {
	t.Helper()
	req := httptest.NewRequest(method, target, nil)
	for k, v := range header {
		req.Header.Set(k, v)
	}
	resp, err := p.app.Test(req, 10_000)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return answer{StatusCode: resp.StatusCode, Header: resp.Header}, string(b)
}

func TestEmbedSecretKey(t *testing.T) {
	p := newPlatform(t)
	secret := map[string]string{embed.SecretHeader: p.keys.Secret}
	resp, body := p.get(t, http.MethodGet, "/embed/v1/decide/product-card?sku=CL-01-GY&unknown=1", secret)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("status %d: %s", resp.StatusCode, body)
	}
	for _, want := range []string{
		`<link rel="stylesheet" href="` + storefront + `/static/decide/decide.css">`,
		`href="` + storefront + `/product/CL-01?sku=CL-01-GY"`,
		`src="` + storefront + `/static/decide/cl.svg"`,
		`href="//elsewhere.example/x"`, // another host's URL stays as it is
		`data-testid="recs"`, `href="` + storefront + `/product/AU-01"`,
	} {
		if !strings.Contains(body, want) {
			t.Errorf("body lacks %s:\n%s", want, body)
		}
	}
	if strings.Contains(body, "<inlay-fragment") {
		t.Errorf("nested tag left raw: %s", body)
	}
	// A shared cache keys it by the secret: a request without it is not served this answer.
	if cc, vary := resp.Header.Get("Cache-Control"), resp.Header.Get("Vary"); cc != "public, max-age=60, stale-while-revalidate=300" ||
		!strings.Contains(vary, embed.SecretHeader) {
		t.Errorf("Cache-Control %q, Vary %q: want the fragment's, varying by %s", cc, vary, embed.SecretHeader)
	}
	etag := resp.Header.Get("ETag")
	if etag == "" || resp.Header.Get("Access-Control-Allow-Origin") != "" {
		t.Errorf("ETag %q, CORS %q", etag, resp.Header.Get("Access-Control-Allow-Origin"))
	}
	secret["If-None-Match"] = etag
	if resp, _ := p.get(t, http.MethodGet, "/embed/v1/decide/product-card?sku=CL-01-GY", secret); resp.StatusCode != http.StatusNotModified {
		t.Errorf("If-None-Match: status %d, want 304", resp.StatusCode)
	}
	if resp, body := p.get(t, http.MethodGet, "/embed/v1/decide/product-card?sku=XX", map[string]string{embed.SecretHeader: p.keys.Secret}); resp.StatusCode != http.StatusNotFound {
		t.Errorf("unknown sku: status %d: %s", resp.StatusCode, body)
	}
}

func TestEmbedPublishableKeyAndCORS(t *testing.T) {
	p := newPlatform(t)
	target := "/embed/v1/decide/product-card?sku=CL-01-GY&key=" + p.keys.Publishable
	resp, body := p.get(t, http.MethodGet, target, map[string]string{"Origin": shop, "Sec-Fetch-Mode": "cors"})
	if resp.StatusCode != http.StatusOK || !strings.Contains(body, `data-testid="recs"`) {
		t.Fatalf("status %d: %s", resp.StatusCode, body)
	}
	if got := resp.Header.Get("Access-Control-Allow-Origin"); got != shop || !strings.Contains(resp.Header.Get("Vary"), "Origin") {
		t.Errorf("CORS %q, Vary %q", got, resp.Header.Get("Vary"))
	}
	if cc := resp.Header.Get("Cache-Control"); cc != "public, max-age=60, stale-while-revalidate=300" {
		t.Errorf("Cache-Control %q, want the fragment's", cc)
	}
	resp, _ = p.get(t, http.MethodOptions, target, map[string]string{"Origin": shop, "Access-Control-Request-Method": "GET"})
	if resp.StatusCode != http.StatusNoContent || resp.Header.Get("Access-Control-Allow-Origin") != shop {
		t.Errorf("preflight: status %d, CORS %q", resp.StatusCode, resp.Header.Get("Access-Control-Allow-Origin"))
	}
	resp, _ = p.get(t, http.MethodOptions, target, map[string]string{"Origin": "https://evil.example", "Access-Control-Request-Method": "GET"})
	if resp.StatusCode != http.StatusForbidden || resp.Header.Get("Access-Control-Allow-Origin") != "" {
		t.Errorf("preflight from a foreign origin: status %d, CORS %q", resp.StatusCode, resp.Header.Get("Access-Control-Allow-Origin"))
	}
}

// TestEmbedRefusals checks that every request that is not a partner's, or asks for what it may
// not, is refused before anything reaches a team.
func TestEmbedRefusals(t *testing.T) {
	p := newPlatform(t)
	ctx := context.Background()
	gone, err := p.store.Add(ctx, embed.NewPartner{Name: "gone", Origins: []string{shop}, Fragments: []string{"decide/product-card"}, RatePerMinute: 100})
	if err != nil {
		t.Fatal(err)
	}
	if ok, err := p.store.Revoke(ctx, "gone"); !ok || err != nil {
		t.Fatalf("revoke: %v %v", ok, err)
	}
	card := "/embed/v1/decide/product-card?sku=CL-01-GY"
	pk := "&key=" + p.keys.Publishable
	browser := map[string]string{"Origin": shop}
	tests := []struct {
		name   string
		target string
		header map[string]string
		want   int
	}{
		{"no key", card, nil, 401},
		{"no key from a browser", card, browser, 401},
		{"a wrong publishable key", card + "&key=pk_NOTAKEY", browser, 401},
		{"a wrong secret key", card, map[string]string{embed.SecretHeader: "sk_NOTAKEY"}, 401},
		{"garbage key", card + "&key=%27%20OR%201=1--", browser, 401},
		{"a revoked publishable key", card + "&key=" + gone.Publishable, browser, 401},
		{"a revoked secret key", card, map[string]string{embed.SecretHeader: gone.Secret}, 401},
		{"a publishable key from a foreign origin", card + pk, map[string]string{"Origin": "https://evil.example"}, 403},
		{"a publishable key without an origin", card + pk, nil, 403},
		{"a secret key in a URL", card + "&key=" + p.keys.Secret, browser, 401},
		{"a secret key with an Origin", card, map[string]string{embed.SecretHeader: p.keys.Secret, "Origin": shop}, 403},
		{"a secret key with fetch metadata", card, map[string]string{embed.SecretHeader: p.keys.Secret, "Sec-Fetch-Mode": "no-cors"}, 403},
		{"a fragment not allowed", "/embed/v1/decide/product?id=CL-01&sku=CL-01-GY" + pk, browser, 403},
		{"a fragment not allowed, secret", "/embed/v1/inspire/recommendations?skus=CL-01-GY", map[string]string{embed.SecretHeader: p.keys.Secret}, 403},
		{"a fragment with a form, allowed", "/embed/v1/decide/buy?sku=CL-01-GY" + pk, browser, 403},
		{"a private fragment, allowed", "/embed/v1/decide/mine", map[string]string{embed.SecretHeader: p.keys.Secret}, 403},
		{"an unknown context", "/embed/v1/payments/product-card?sku=1" + pk, browser, 404},
		{"src as a URL", "/embed/v1/http:%2F%2Fevil.example/product-card" + "?key=" + p.keys.Publishable, browser, 404},
		{"src as a host", "/embed/v1//evil.example/product-card?key=" + p.keys.Publishable, browser, 404},
		{"traversal", "/embed/v1/decide/product-card/../../../ui/cart?key=" + p.keys.Publishable, browser, 404},
		{"encoded traversal", "/embed/v1/decide/%2e%2e%2fui%2fcart?key=" + p.keys.Publishable, browser, 404},
		{"encoded traversal in the context", "/embed/v1/%2e%2e/product-card?key=" + p.keys.Publishable, browser, 404},
		{"dot segments", "/embed/v1/../../fragments/product-card?key=" + p.keys.Publishable, browser, 404},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			resp, body := p.get(t, http.MethodGet, tt.target, tt.header)
			if resp.StatusCode != tt.want {
				t.Errorf("status %d, want %d: %s", resp.StatusCode, tt.want, body)
			}
			if resp.Header.Get("Access-Control-Allow-Origin") != "" && tt.want != 403 {
				t.Errorf("CORS header on a refusal")
			}
		})
	}
	if n := p.decide.requests.Load() + p.inspire.requests.Load(); n != 0 {
		t.Errorf("%d requests reached a team", n)
	}
}

func TestEmbedRateLimit(t *testing.T) {
	p := newPlatform(t)
	secret := map[string]string{embed.SecretHeader: p.tiny.Secret}
	for i := range 2 {
		if resp, body := p.get(t, http.MethodGet, "/embed/v1/decide/product-card?sku=CL-01-GY", secret); resp.StatusCode != 200 {
			t.Fatalf("request %d: status %d: %s", i, resp.StatusCode, body)
		}
	}
	before := p.decide.requests.Load()
	resp, _ := p.get(t, http.MethodGet, "/embed/v1/decide/product-card?sku=CL-01-GY", secret)
	if resp.StatusCode != http.StatusTooManyRequests || resp.Header.Get("Retry-After") == "" {
		t.Fatalf("over the limit: status %d, Retry-After %q", resp.StatusCode, resp.Header.Get("Retry-After"))
	}
	if p.decide.requests.Load() != before {
		t.Error("a request over the limit reached the team")
	}
	// The limit is per key: acme's is untouched.
	if resp, _ := p.get(t, http.MethodGet, "/embed/v1/decide/product-card?sku=CL-01-GY", map[string]string{embed.SecretHeader: p.keys.Secret}); resp.StatusCode != 200 {
		t.Errorf("another partner: status %d", resp.StatusCode)
	}
}

// TestEmbedClientShare: one client address (behind a trusted proxy, the one it forwards; an IPv6
// one by its /64) spends at most its share of a publishable key's rate (ClientRate), and what it is
// refused beyond it does not spend the key's: nobody can take a partner's widgets down for all its
// visitors from one address.
func TestEmbedClientShare(t *testing.T) {
	p := newPlatform(t, func(o *embed.Options) { o.Proxies = clientip.Proxies{netip.MustParsePrefix("0.0.0.0/32")} })
	keys, err := p.store.Add(context.Background(), embed.NewPartner{Name: "small", Origins: []string{shop},
		Fragments: []string{"decide/product-card"}, RatePerMinute: 20})
	if err != nil {
		t.Fatal(err)
	}
	share := embed.ClientRate(20)
	if share != 10 {
		t.Fatalf("ClientRate(20) = %d", share)
	}
	target := "/embed/v1/decide/product-card?sku=CL-01-GY&key=" + keys.Publishable
	from := func(client string) int {
		resp, _ := p.get(t, http.MethodGet, target, map[string]string{"Origin": shop, "X-Forwarded-For": client})
		return resp.StatusCode
	}
	for i := range share {
		if s := from("2001:db8:7:7::" + strconv.Itoa(i+1)); s != 200 {
			t.Fatalf("request %d: status %d", i+1, s)
		}
	}
	for range 5 {
		if s := from("2001:db8:7:7:ffff::1"); s != http.StatusTooManyRequests {
			t.Fatalf("over its share: status %d, want 429", s)
		}
	}
	for i := range share {
		if s := from("198.51.100.2"); s != 200 {
			t.Fatalf("another client, request %d: status %d (the refused requests spent the key's budget?)", i+1, s)
		}
	}
	if s := from("198.51.100.3"); s != http.StatusTooManyRequests {
		t.Errorf("the key's own rate spent: status %d, want 429", s)
	}
	for k, want := range map[int]int{1: 1, 20: 10, 100: 30, 600: 60, 6000: 600} {
		if got := embed.ClientRate(k); got != want {
			t.Errorf("ClientRate(%d) = %d, want %d", k, got, want)
		}
	}
}

// TestEmbedRevocation checks that a revoked key stops working once the key cache's TTL has passed.
func TestEmbedRevocation(t *testing.T) {
	p := newPlatform(t)
	secret := map[string]string{embed.SecretHeader: p.keys.Secret}
	if resp, _ := p.get(t, http.MethodGet, "/embed/v1/decide/product-card?sku=CL-01-GY", secret); resp.StatusCode != 200 {
		t.Fatalf("status %d", resp.StatusCode)
	}
	if _, err := p.store.Revoke(context.Background(), "acme"); err != nil {
		t.Fatal(err)
	}
	p.clock.advance(2 * time.Second)
	if resp, _ := p.get(t, http.MethodGet, "/embed/v1/decide/product-card?sku=CL-01-GY", secret); resp.StatusCode != http.StatusUnauthorized {
		t.Fatalf("after revocation and the TTL: status %d, want 401", resp.StatusCode)
	}
}

// TestEmbedTeamRefuses checks that a team refusing the partner's parameters (400) is answered as the
// partner's error to fix, not as an outage (503 and the fallback).
func TestEmbedTeamRefuses(t *testing.T) {
	p := newPlatform(t)
	resp, body := p.get(t, http.MethodGet, "/embed/v1/decide/product-card", map[string]string{embed.SecretHeader: p.keys.Secret})
	if resp.StatusCode != http.StatusBadRequest || strings.Contains(body, "card-fallback") {
		t.Fatalf("status %d: %s", resp.StatusCode, body)
	}
	if cc := resp.Header.Get("Cache-Control"); cc != "no-store" {
		t.Errorf("Cache-Control %q", cc)
	}
}

// TestEmbedManifestUnknown: while a team's manifest has not been read (the team down since the
// embed started), nothing is known of its fragments, so none is served (it might be private or
// render a form): the fallback with 503, as for a team that is down, and not cached.
func TestEmbedManifestUnknown(t *testing.T) {
	down := httptest.NewServer(http.NotFoundHandler())
	down.Close()
	p := newPlatform(t, func(o *embed.Options) { o.Teams["decide"] = []string{down.URL} })
	resp, body := p.get(t, http.MethodGet, "/embed/v1/decide/product-card?sku=CL-01-GY", map[string]string{embed.SecretHeader: p.keys.Secret})
	if resp.StatusCode != http.StatusServiceUnavailable || !strings.Contains(body, `data-testid="embed-fallback"`) ||
		resp.Header.Get("Cache-Control") != "no-store" {
		t.Fatalf("status %d, Cache-Control %q: %s", resp.StatusCode, resp.Header.Get("Cache-Control"), body)
	}
	if n := p.decide.requests.Load(); n != 0 {
		t.Errorf("%d requests reached the team", n)
	}
}

func TestEmbedTeamDown(t *testing.T) {
	p := newPlatform(t)
	p.decide.srv.Close()
	resp, body := p.get(t, http.MethodGet, "/embed/v1/decide/product-card?sku=CL-01-GY", map[string]string{embed.SecretHeader: p.keys.Secret})
	if resp.StatusCode != http.StatusServiceUnavailable || !strings.Contains(body, `data-testid="card-fallback"`) ||
		!strings.Contains(body, `href="`+storefront+`/"`) {
		t.Fatalf("status %d: %s", resp.StatusCode, body)
	}
	if cc := resp.Header.Get("Cache-Control"); cc != "no-store" {
		t.Errorf("Cache-Control %q", cc)
	}
}

func TestLoader(t *testing.T) {
	p := newPlatform(t)
	resp, body := p.get(t, http.MethodGet, "/embed/v1/loader.js", nil)
	if resp.StatusCode != 200 || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/javascript") ||
		!strings.Contains(body, "customElements.define") || strings.Contains(body, "\n//") {
		t.Fatalf("status %d, type %q", resp.StatusCode, resp.Header.Get("Content-Type"))
	}
}

func TestLoaderSize(t *testing.T) {
	// The README states the loader's size; it must stay small (no framework).
	if n := embed.LoaderSize(); n > 3000 {
		t.Errorf("loader.js is %d bytes, want at most 3000", n)
	}
	t.Logf("loader.js: %d bytes", embed.LoaderSize())
}

// BenchmarkEmbedProductCard measures one partner request end to end in process: the secret key's
// check (cached), the rate limit in Redis, the composition of the card and its nested fragment and
// the rewriting of its URLs. cache=off fetches both fragments from the two stub teams over HTTP on
// every request; cache=on is the deployment's default (EMBED_FRAGMENT_CACHE), requests in parallel as
// a partner's servers send them, the fragments from the cache: what is left is embed's own work.
func BenchmarkEmbedProductCard(b *testing.B) {
	const target = "/embed/v1/decide/product-card?sku=CL-01-GY"
	for _, cache := range []bool{false, true} {
		b.Run(fmt.Sprintf("cache=%s", map[bool]string{false: "off", true: "on"}[cache]), func(b *testing.B) {
			p := newPlatform(b, func(o *embed.Options) { o.Cache = cache })
			keys, err := p.store.Add(context.Background(), embed.NewPartner{Name: "bench", Fragments: []string{"decide/product-card"}, RatePerMinute: 1_000_000})
			if err != nil {
				b.Fatal(err)
			}
			header := map[string]string{embed.SecretHeader: keys.Secret}
			if resp, body := p.get(b, http.MethodGet, target, header); resp.StatusCode != 200 {
				b.Fatalf("status %d: %s", resp.StatusCode, body)
			}
			b.ReportAllocs()
			b.ResetTimer()
			if !cache {
				for b.Loop() {
					if resp, body := p.get(b, http.MethodGet, target, header); resp.StatusCode != 200 {
						b.Fatalf("status %d: %s", resp.StatusCode, body)
					}
				}
				return
			}
			b.SetParallelism(8)
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					if resp, body := p.get(b, http.MethodGet, target, header); resp.StatusCode != 200 {
						b.Errorf("status %d: %s", resp.StatusCode, body)
						return
					}
				}
			})
		})
	}
}

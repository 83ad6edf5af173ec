package compose

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/inlay-dev/inlay/fragments"
	"github.com/inlay-dev/inlay/services/kit/kittest"
	"github.com/inlay-dev/inlay/services/kit/redisdb"
)

// versioned serves "<p>a vN</p>" with an ETag, answering 304 to a matching If-None-Match, or 500
// while failing is set.
func versioned(version *atomic.Int32, failing *atomic.Bool) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if failing.Load() {
			w.WriteHeader(500)
			return
		}
		etag := fmt.Sprintf(`"v%d"`, version.Load())
		w.Header().Set("Cache-Control", "public, max-age=10, stale-while-revalidate=30")
		w.Header().Set("ETag", etag)
		if r.Header.Get("If-None-Match") == etag {
			w.WriteHeader(http.StatusNotModified)
			return
		}
		w.Header().Set("Content-Type", "text/html")
		fmt.Fprintf(w, "<p>a v%d</p>", version.Load())
	}
}

// waitFor polls cond (bounded): for work the engine does in the background.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(time.Millisecond)
	}
}

func TestCacheHitStaleRevalidateLastGood(t *testing.T) {
	team := newFakeTeam(t)
	var version atomic.Int32
	var failing atomic.Bool
	version.Store(1)
	team.handle("a", versioned(&version, &failing))
	h := newHarness(t, map[string]*fakeTeam{"t": team}, harnessOptions{cache: true, client: fragments.ClientOptions{BreakerFailures: 100}})
	doc := fmt.Sprintf(page, `<inlay-fragment src="t/a"></inlay-fragment>`)
	key := "t/a?#en"

	step := func(wantSource, wantBody string, wantRequests int) {
		t.Helper()
		_, body, c := h.compose(doc, Request{Locale: "en"})
		if st := c.ServerTiming(); !strings.Contains(st, "t/a "+wantSource+`"`) {
			t.Errorf("Server-Timing %q, want source %s", st, wantSource)
		}
		if !strings.Contains(body, wantBody) {
			t.Errorf("body %s, want %s", body, wantBody)
		}
		if got := team.count("a"); wantRequests >= 0 && got != wantRequests {
			t.Errorf("%d requests, want %d", got, wantRequests)
		}
	}
	step("fetch", "<p>a v1</p>", 1)
	step("cache", "<p>a v1</p>", 1)

	// Stale: served at once, revalidated in the background with the ETag (304: still v1).
	h.now.Advance(15 * time.Second)
	step("stale", "<p>a v1</p>", -1) // the background revalidation may already be under way
	waitFor(t, "revalidation", func() bool {
		en := h.cache.local(key)
		return en != nil && en.freshness(h.now.Now()) == fresh
	})
	if got := team.lastRequest("a").Header.Get("If-None-Match"); got != `"v1"` {
		t.Errorf("revalidation If-None-Match %q", got)
	}
	step("cache", "<p>a v1</p>", 2)

	// A new version is picked up at the next revalidation.
	version.Store(2)
	h.now.Advance(15 * time.Second)
	step("stale", "<p>a v1</p>", -1)
	waitFor(t, "revalidation to v2", func() bool {
		en := h.cache.local(key)
		return en != nil && strings.Contains(string(en.body), "v2")
	})
	step("cache", "<p>a v2</p>", 3)

	// Expired and the team failing: the last good copy.
	failing.Store(true)
	h.now.Advance(time.Hour)
	step("fallback", "<p>a v2</p>", 4)
}

func TestNotCacheable(t *testing.T) {
	team := newFakeTeam(t)
	team.html("nocc", "<p>x</p>", "")
	team.html("private", "<p>y</p>", "private, max-age=60")
	team.html("personal", "<p>z</p>", "public, max-age=60")
	team.manifest = &fragments.Manifest{Name: "t", Fragments: map[string]fragments.Fragment{
		"nocc": {Cache: fragments.Public}, "private": {Cache: fragments.Public}, "personal": {Cache: fragments.Private},
	}}
	h := newHarness(t, map[string]*fakeTeam{"t": team}, harnessOptions{cache: true})
	doc := fmt.Sprintf(page, `<inlay-fragment src="t/nocc"></inlay-fragment><inlay-fragment src="t/private"></inlay-fragment><inlay-fragment src="t/personal"></inlay-fragment>`)
	for range 3 {
		h.compose(doc, Request{})
	}
	for _, name := range []string{"nocc", "private", "personal"} {
		if got := team.count(name); got != 3 {
			t.Errorf("%s requested %d times, want 3 (never cached)", name, got)
		}
	}
}

func TestCacheSharedThroughRedisAndPurge(t *testing.T) {
	rdb, keys := kittest.Redis(t)
	team := newFakeTeam(t)
	var version atomic.Int32
	var failing atomic.Bool
	version.Store(1)
	team.handle("a", versioned(&version, &failing))
	opts := harnessOptions{cache: true, cacheOpts: CacheOptions{Redis: rdb, Prefix: string(keys), RedisTimeout: 2 * time.Second}}
	a := newHarness(t, map[string]*fakeTeam{"t": team}, opts)
	b := newHarness(t, map[string]*fakeTeam{"t": team}, opts)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	subscribed := make(chan error, 1)
	go func() { subscribed <- b.cache.Subscribe(ctx) }()

	doc := fmt.Sprintf(page, `<inlay-fragment src="t/a"></inlay-fragment>`)
	a.compose(doc, Request{Locale: "en"})
	_, body, c := b.compose(doc, Request{Locale: "en"})
	if st := c.ServerTiming(); !strings.Contains(st, `t/a cache"`) || !strings.Contains(body, "v1") {
		t.Errorf("second replica did not read the shared copy: %q %s", st, body)
	}
	if got := team.count("a"); got != 1 {
		t.Errorf("%d requests, want 1", got)
	}

	// A purge on one replica removes the copy from Redis and, by the channel, from the other.
	version.Store(2)
	prefix, err := a.teams.PurgePrefix("t/a")
	if err != nil {
		t.Fatal(err)
	}
	waitFor(t, "purge to reach the other replica", func() bool {
		if _, err := a.cache.Purge(context.Background(), prefix); err != nil {
			t.Fatal(err)
		}
		return b.cache.local("t/a?#en") == nil
	})
	_, body, _ = b.compose(doc, Request{Locale: "en"})
	if !strings.Contains(body, "v2") {
		t.Errorf("after purge: %s", body)
	}
	cancel()
	if err := <-subscribed; err != nil && !errors.Is(err, context.Canceled) {
		t.Errorf("Subscribe: %v", err)
	}
}

func TestCacheEntryEncoding(t *testing.T) {
	e := &entry{body: []byte(`<p>x<inlay-fragment src="a/b"></inlay-fragment></p>`), etag: `"e"`, version: "9",
		stored: time.Unix(123, 456), maxAge: time.Minute, swr: time.Hour}
	got, err := decodeEntry(encodeEntry(e))
	if err != nil {
		t.Fatal(err)
	}
	if string(got.body) != string(e.body) || got.etag != e.etag || got.version != e.version || !got.stored.Equal(e.stored) ||
		got.maxAge != e.maxAge || got.swr != e.swr || got.tmpl == nil {
		t.Errorf("round trip: %+v", got)
	}
	if _, err := decodeEntry([]byte("junk")); err == nil {
		t.Error("junk decoded")
	}
}

func TestParseCacheControl(t *testing.T) {
	tests := []struct {
		in   string
		want cachePolicy
	}{
		{"", cachePolicy{}},
		{"no-store", cachePolicy{}},
		{"private, max-age=60", cachePolicy{}},
		{"public, max-age=60", cachePolicy{ok: true, maxAge: time.Minute}},
		{"public, max-age=60, stale-while-revalidate=30", cachePolicy{ok: true, maxAge: time.Minute, swr: 30 * time.Second}},
		{"max-age=10, s-maxage=20", cachePolicy{ok: true, maxAge: 20 * time.Second}},
		{"public, max-age=0", cachePolicy{}},
		{"public, max-age=x", cachePolicy{}},
	}
	for _, tt := range tests {
		if got := parseCacheControl(tt.in); got != tt.want {
			t.Errorf("parseCacheControl(%q) = %+v, want %+v", tt.in, got, tt.want)
		}
	}
}

func TestConcurrentMissesMakeOneRequest(t *testing.T) {
	team := newFakeTeam(t)
	release := make(chan struct{})
	team.handle("a", func(w http.ResponseWriter, r *http.Request) {
		<-release
		w.Header().Set("Content-Type", "text/html")
		w.Header().Set("Cache-Control", "public, max-age=60")
		fmt.Fprint(w, "<p>shared</p>")
	})
	h := newHarness(t, map[string]*fakeTeam{"t": team}, harnessOptions{cache: true, engine: Options{DefaultTimeout: 10 * time.Second}})
	const n = 8
	joined := make(chan string, n)
	h.engine.joined = func(key string) { joined <- key }
	doc := Parse([]byte(fmt.Sprintf(page, `<inlay-fragment src="t/a"></inlay-fragment>`)))
	comps := make([]*Composition, n)
	for i := range comps {
		comps[i] = h.engine.Start(context.Background(), doc, Request{})
	}
	// Every page's miss is registered with the single flight before the team may answer.
	for range n {
		select {
		case <-joined:
		case <-time.After(10 * time.Second):
			t.Fatal("a miss never reached the single flight")
		}
	}
	close(release)
	for _, c := range comps {
		w := newFlushRecorder()
		if err := c.WriteTo(w); err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(w.String(), "<p>shared</p>") {
			t.Errorf("page without the fragment: %s", w.String())
		}
	}
	if got := team.count("a"); got != 1 {
		t.Errorf("%d requests for %d concurrent misses, want 1", got, n)
	}
}

// TestCacheKeyedByManifestVersion: once the shell has read a team's new manifest version, no page
// gets a copy cached under the old one (its HTML may not fit the new version's stylesheets).
func TestCacheKeyedByManifestVersion(t *testing.T) {
	team := newFakeTeam(t)
	var version atomic.Int32
	var failing atomic.Bool
	version.Store(1)
	team.handle("a", versioned(&version, &failing))
	team.manifest = &fragments.Manifest{Name: "t", Version: "1", Fragments: map[string]fragments.Fragment{"a": {Cache: fragments.Public}}}
	h := newHarness(t, map[string]*fakeTeam{"t": team}, harnessOptions{cache: true})
	doc := fmt.Sprintf(page, `<inlay-fragment src="t/a"></inlay-fragment>`)
	for range 2 {
		if _, body, _ := h.compose(doc, Request{Locale: "en"}); !strings.Contains(body, "<p>a v1</p>") {
			t.Fatalf("version 1: %s", body)
		}
	}
	if got := team.count("a"); got != 1 {
		t.Fatalf("%d requests for version 1, want 1 (then cached)", got)
	}
	version.Store(2)
	team.mu.Lock()
	team.manifest = &fragments.Manifest{Name: "t", Version: "2", Fragments: map[string]fragments.Fragment{"a": {Cache: fragments.Public}}}
	team.mu.Unlock()
	if err := h.teams.Refresh(context.Background(), 5*time.Second); err != nil {
		t.Fatal(err)
	}
	_, body, c := h.compose(doc, Request{Locale: "en"})
	if !strings.Contains(body, "<p>a v2</p>") || !strings.Contains(c.ServerTiming(), `t/a fetch"`) {
		t.Errorf("after the manifest's version changed: %s (%s), want a fetch of v2", body, c.ServerTiming())
	}
	// A purge of the fragment still reaches the copy of the new version.
	prefix, err := h.teams.PurgePrefix("t/a")
	if err != nil {
		t.Fatal(err)
	}
	if n, err := h.cache.Purge(context.Background(), prefix); err != nil || n != 2 {
		t.Errorf("purge %q = %d, %v; want both versions' copies", prefix, n, err)
	}
}

// TestPurgeByTag: a purge by tag removes exactly the fragments that named the tag in Inlay-Tags,
// here and, through Redis, in another replica; the others stay cached.
func TestPurgeByTag(t *testing.T) {
	rdb, keys := kittest.Redis(t)
	team := newFakeTeam(t)
	var version atomic.Int32
	version.Store(1)
	for name, tags := range map[string]string{"one": "product:CL-01", "both": "product:CL-01, product:AU-02", "other": "product:AU-02"} {
		team.handle(name, func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Cache-Control", "public, max-age=60")
			w.Header().Set(fragments.TagsHeader, tags)
			w.Header().Set("Content-Type", "text/html")
			fmt.Fprintf(w, "<p>%s v%d</p>", name, version.Load())
		})
	}
	opts := harnessOptions{cache: true, cacheOpts: CacheOptions{Redis: rdb, Prefix: string(keys), RedisTimeout: 2 * time.Second}}
	a := newHarness(t, map[string]*fakeTeam{"t": team}, opts)
	b := newHarness(t, map[string]*fakeTeam{"t": team}, opts)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	subscribed := make(chan error, 1)
	go func() { subscribed <- b.cache.Subscribe(ctx) }()

	doc := fmt.Sprintf(page, `<inlay-fragment src="t/one"></inlay-fragment><inlay-fragment src="t/both"></inlay-fragment><inlay-fragment src="t/other"></inlay-fragment>`)
	a.compose(doc, Request{Locale: "en"})
	if _, _, c := b.compose(doc, Request{Locale: "en"}); strings.Count(c.ServerTiming(), ` cache"`) != 3 {
		t.Fatalf("second replica did not read the shared copies: %s", c.ServerTiming())
	}
	version.Store(2)
	waitFor(t, "the tag purge to reach the other replica", func() bool {
		if _, err := a.cache.PurgeTag(context.Background(), "product:CL-01"); err != nil {
			t.Fatal(err)
		}
		return b.cache.local("t/one?#en") == nil && b.cache.local("t/both?#en") == nil
	})
	if b.cache.local("t/other?#en") == nil || a.cache.local("t/other?#en") == nil {
		t.Error("a fragment without the tag was purged")
	}
	_, body, _ := b.compose(doc, Request{Locale: "en"})
	for _, want := range []string{"one v2", "both v2", "other v1"} {
		if !strings.Contains(body, want) {
			t.Errorf("after the purge of product:CL-01: %s, want %q", body, want)
		}
	}
	if got := team.count("other"); got != 1 {
		t.Errorf("other fetched %d times, want once (no miss on other products)", got)
	}
	cancel()
	if err := <-subscribed; err != nil && !errors.Is(err, context.Canceled) {
		t.Fatal(err)
	}
}

func TestEntryEncodingKeepsTags(t *testing.T) {
	e := &entry{body: []byte("<p>x</p>"), etag: `"e"`, stored: time.Unix(1, 0), maxAge: time.Second, version: "7",
		tags: []string{"product:CL-01", "category:machines"}}
	got, err := decodeEntry(encodeEntry(e))
	if err != nil {
		t.Fatal(err)
	}
	if string(got.body) != "<p>x</p>" || got.version != "7" || strings.Join(got.tags, " ") != "product:CL-01 category:machines" {
		t.Errorf("decoded %+v", got)
	}
}

// TestPurgeDuringFetchIsNotUndone: a purge while a fetch of a tagged fragment is under way (the team
// read the old price, then the change was committed and purged) must not leave the old answer in the
// cache: that page gets it, the next one fetches again.
func TestPurgeDuringFetchIsNotUndone(t *testing.T) {
	rdb, keys := kittest.Redis(t)
	team := newFakeTeam(t)
	var version atomic.Int32
	version.Store(1)
	arrived, release := make(chan struct{}, 1), make(chan struct{})
	var hold atomic.Bool
	hold.Store(true)
	team.handle("price", func(w http.ResponseWriter, r *http.Request) {
		v := version.Load() // read before the change
		if hold.Load() {
			arrived <- struct{}{}
			<-release
		}
		w.Header().Set("Cache-Control", "public, max-age=300")
		w.Header().Set(fragments.TagsHeader, "product:CL-01")
		w.Header().Set("Content-Type", "text/html")
		fmt.Fprintf(w, "<p>price v%d</p>", v)
	})
	h := newHarness(t, map[string]*fakeTeam{"t": team},
		harnessOptions{cache: true, cacheOpts: CacheOptions{Redis: rdb, Prefix: string(keys), RedisTimeout: 2 * time.Second}})
	doc := fmt.Sprintf(page, `<inlay-fragment src="t/price"></inlay-fragment>`)

	type result struct{ body, timing string }
	first := make(chan result, 1)
	go func() {
		_, body, c := h.compose(doc, Request{Locale: "en"})
		first <- result{body, c.ServerTiming()}
	}()
	<-arrived
	version.Store(2)
	if _, err := h.cache.PurgeTag(context.Background(), "product:CL-01"); err != nil {
		t.Fatal(err)
	}
	hold.Store(false)
	close(release)
	if r := <-first; !strings.Contains(r.body, "price v1") {
		t.Fatalf("the page under way: %s", r.body)
	}
	_, body, c := h.compose(doc, Request{Locale: "en"})
	if !strings.Contains(body, "price v2") || !strings.Contains(c.ServerTiming(), `t/price fetch"`) {
		t.Errorf("after the purge: %s (Server-Timing %q), want v2 fetched", body, c.ServerTiming())
	}
	_, body, c = h.compose(doc, Request{Locale: "en"})
	if !strings.Contains(body, "price v2") || !strings.Contains(c.ServerTiming(), `t/price cache"`) {
		t.Errorf("then: %s (Server-Timing %q), want v2 from the cache", body, c.ServerTiming())
	}
}

// TestOwnPurgeMessageIsNotAPurgeAgain: a replica's purge comes back to it on the channel; by then it
// may have fetched the fragment again, and that fresh copy must stay (one miss per purge). (Without
// the fix it fails when the copy is stored before the message comes back, most runs.)
func TestOwnPurgeMessageIsNotAPurgeAgain(t *testing.T) {
	rdb, keys := kittest.Redis(t)
	team := newFakeTeam(t)
	for name, tag := range map[string]string{"price": "product:CL-01", "marker": "marker"} {
		team.handle(name, func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Cache-Control", "public, max-age=300")
			w.Header().Set(fragments.TagsHeader, tag)
			w.Header().Set("Content-Type", "text/html")
			fmt.Fprintf(w, "<p>%s</p>", name)
		})
	}
	opts := harnessOptions{cache: true, cacheOpts: CacheOptions{Redis: rdb, Prefix: string(keys), RedisTimeout: 2 * time.Second}}
	a := newHarness(t, map[string]*fakeTeam{"t": team}, opts)
	b := newHarness(t, map[string]*fakeTeam{"t": team}, opts)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	subscribed := make(chan error, 1)
	go func() { subscribed <- a.cache.Subscribe(ctx) }()
	doc := fmt.Sprintf(page, `<inlay-fragment src="t/price"></inlay-fragment><inlay-fragment src="t/marker"></inlay-fragment>`)
	a.compose(doc, Request{Locale: "en"})
	// Once a hears b's purges, it is subscribed.
	waitFor(t, "a subscribed", func() bool {
		if _, err := b.cache.PurgeTag(context.Background(), "marker"); err != nil {
			t.Fatal(err)
		}
		return a.cache.local("t/marker?#en") == nil
	})

	if _, err := a.cache.PurgeTag(context.Background(), "product:CL-01"); err != nil {
		t.Fatal(err)
	}
	// The copy fetched again, stored before a hears its own message (as a page's fetch may be).
	a.cache.putLocal("t/price?#en", &entry{body: []byte("<p>price</p>"), stored: time.Now(), maxAge: time.Hour,
		tags: []string{"product:CL-01"}})
	// b's purge goes out after a's: once a has heard it, it has heard its own.
	waitFor(t, "b's purge after a's heard", func() bool {
		if _, err := b.cache.PurgeTag(context.Background(), "marker"); err != nil {
			t.Fatal(err)
		}
		return a.cache.local("t/marker?#en") == nil
	})
	if a.cache.local("t/price?#en") == nil {
		t.Error("a's own purge message purged the copy it fetched after purging")
	}
	cancel()
	if err := <-subscribed; err != nil && !errors.Is(err, context.Canceled) {
		t.Fatal(err)
	}
}

// TestUnreadManifestFetchesPrivately: until a team has answered for its manifest (a shell that
// started before it), its fragments are fetched with the visitor's whole context, the CSRF token
// too, and never cached, whatever the answer's Cache-Control says: a form rendered then still
// submits, and no visitor's token lands in a shared copy. Once the manifest is read, its
// declarations apply again.
func TestUnreadManifestFetchesPrivately(t *testing.T) {
	team := newFakeTeam(t)
	team.html("form", "<form>F</form>", "public, max-age=60")
	h := newHarness(t, map[string]*fakeTeam{"t": team}, harnessOptions{cache: true, unread: true})
	req := Request{Locale: "en", Sign: func() string { return "whole" }, SignBare: func() string { return "bare" }}
	doc := fmt.Sprintf(page, `<inlay-fragment src="t/form"></inlay-fragment>`)
	for i := range 2 {
		if _, out, _ := h.compose(doc, req); !strings.Contains(out, "<form>F</form>") {
			t.Fatalf("page %d: %s", i, out)
		}
		if got := team.lastRequest("form").Header.Get(fragments.ContextHeader); got != "whole" {
			t.Errorf("page %d: context %q, want the whole one", i, got)
		}
	}
	if n := team.count("form"); n != 2 {
		t.Errorf("fetched %d times for two pages, want 2 (no shared copy)", n)
	}

	team.manifest = &fragments.Manifest{Name: "t", Version: "1", Fragments: map[string]fragments.Fragment{"form": {Cache: fragments.Public}}}
	if err := h.teams.Refresh(context.Background(), 5*time.Second); err != nil {
		t.Fatal(err)
	}
	for range 2 {
		h.compose(doc, req)
	}
	if got := team.lastRequest("form").Header.Get(fragments.ContextHeader); got != "bare" {
		t.Errorf("declared public: context %q, want the bare one", got)
	}
	if n := team.count("form"); n != 3 {
		t.Errorf("declared public: fetched %d times in all, want 3 (the second page from the cache)", n)
	}
}

// TestCSRFPlaceholderFilled: a public fragment that asks for the token is fetched with the bare
// context, renders fragments.CSRFPlaceholder, and is cached as it is; each page gets its own
// visitor's token in the placeholder's place, from the team and from the cache alike. A fragment that
// does not ask keeps the placeholder's text untouched; a page without a token gets an empty value.
// Only the csrf field is filled: the placeholder echoed anywhere else (a ?next= a link chose) stays.
func TestCSRFPlaceholderFilled(t *testing.T) {
	team := newFakeTeam(t)
	form := `<form><input type="hidden" name="csrf" value="` + fragments.CSRFPlaceholder + `">` +
		`<input type="hidden" name="next" value="/` + fragments.CSRFPlaceholder + `"></form>`
	team.html("buy", form, "public, max-age=60")
	team.html("text", "<p>"+fragments.CSRFPlaceholder+"</p>", "public, max-age=60")
	team.manifest = &fragments.Manifest{Name: "t", Version: "1", Fragments: map[string]fragments.Fragment{
		"buy": {Cache: fragments.Public, CSRF: true}, "text": {Cache: fragments.Public}}}
	h := newHarness(t, map[string]*fakeTeam{"t": team}, harnessOptions{cache: true})
	doc := fmt.Sprintf(page, `<inlay-fragment src="t/buy"></inlay-fragment><inlay-fragment src="t/text"></inlay-fragment>`)
	for i, tok := range []string{"token-of-a", "token-of-b", ""} {
		req := Request{Locale: "en", CSRF: tok, Sign: func() string { return "whole" }, SignBare: func() string { return "bare" }}
		_, out, _ := h.compose(doc, req)
		if want := `<input type="hidden" name="csrf" value="` + tok + `">`; !strings.Contains(out, want) {
			t.Errorf("page %d: %q missing from %s", i, want, out)
		}
		if !strings.Contains(out, "<p>"+fragments.CSRFPlaceholder+"</p>") {
			t.Errorf("page %d: a fragment that does not ask was changed: %s", i, out)
		}
		if !strings.Contains(out, `name="next" value="/`+fragments.CSRFPlaceholder+`"`) {
			t.Errorf("page %d: the placeholder outside the csrf field was filled: %s", i, out)
		}
	}
	if n := team.count("buy"); n != 1 {
		t.Errorf("fetched %d times for three pages, want 1 (the copy is shared)", n)
	}
	if got := team.lastRequest("buy").Header.Get(fragments.ContextHeader); got != "bare" {
		t.Errorf("fetched with context %q, want the bare one", got)
	}
}

// TestAnswerOfAnotherVersionIsNotCached: a team answered with another version's HTML than the
// manifest the page was composed with (no instance of the page's version left: a rolling deploy's
// last moment): the page shows it, the cache does not keep it under the page's version's key.
func TestAnswerOfAnotherVersionIsNotCached(t *testing.T) {
	team := newFakeTeam(t)
	var answered atomic.Pointer[string]
	team.handle("a", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set(fragments.VersionHeader, *answered.Load())
		w.Header().Set("Cache-Control", "public, max-age=60")
		fmt.Fprintf(w, "<p>a %s</p>", *answered.Load())
	})
	team.manifest = &fragments.Manifest{Name: "t", Version: "1", Fragments: map[string]fragments.Fragment{"a": {Cache: fragments.Public}}}
	h := newHarness(t, map[string]*fakeTeam{"t": team}, harnessOptions{cache: true})
	doc := fmt.Sprintf(page, `<inlay-fragment src="t/a"></inlay-fragment>`)
	v2 := "2"
	answered.Store(&v2)
	for range 2 {
		if _, body, _ := h.compose(doc, Request{Locale: "en"}); !strings.Contains(body, "<p>a 2</p>") {
			t.Fatalf("page: %s", body)
		}
	}
	if got := team.count("a"); got != 2 {
		t.Errorf("%d requests, want 2: version 2's answer is not version 1's copy", got)
	}
	v1 := "1"
	answered.Store(&v1)
	for range 2 {
		h.compose(doc, Request{Locale: "en"})
	}
	if got := team.count("a"); got != 3 {
		t.Errorf("%d requests, want 3: version 1's answer is cached", got)
	}
}

// TestHungRedisIsSkipped: a Redis that accepts connections and never answers costs the cache one
// timed-out call, after which the shared level is skipped for redisdb.OutageWindow: no page waits on
// it again meanwhile, and the cache is this process's memory.
func TestHungRedisIsSkipped(t *testing.T) {
	t.Parallel()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	var commands atomic.Int64
	go func() {
		for {
			conn, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer conn.Close()
				buf := make([]byte, 4096)
				for {
					n, err := conn.Read(buf)
					if err != nil {
						return
					}
					// RESP arrays: one per command (a pipeline's several at once).
					commands.Add(int64(bytes.Count(buf[:n], []byte("*"))))
				}
			}()
		}
	}()
	rdb, err := redisdb.Client("redis://" + ln.Addr().String() + "/0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { rdb.Close() })
	c := NewCache(CacheOptions{Redis: rdb, Prefix: "t:", RedisTimeout: 50 * time.Millisecond})
	ctx := context.Background()
	if e := c.get(ctx, "a"); e != nil {
		t.Fatal("a hung Redis answered")
	}
	sent := commands.Load()
	for i := range 20 {
		if e := c.get(ctx, fmt.Sprintf("k%d", i)); e != nil {
			t.Fatal("a hung Redis answered")
		}
		c.put(ctx, fmt.Sprintf("k%d", i), &entry{body: []byte("x"), stored: time.Now(), maxAge: time.Minute})
	}
	if n := commands.Load() - sent; n != 0 {
		t.Errorf("%d commands sent to a Redis that had just timed out", n)
	}
	if e := c.get(ctx, "k3"); e == nil || string(e.body) != "x" {
		t.Error("the process's memory did not keep what was put meanwhile")
	}
}

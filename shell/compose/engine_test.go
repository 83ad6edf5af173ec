package compose

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/inlay-dev/inlay/fragments"
)

func TestAllFetchesStartAtOnce(t *testing.T) {
	team := newFakeTeam(t)
	const n = 6
	var once sync.Once
	all := make(chan struct{})
	var mu sync.Mutex
	arrived := 0
	for i := range n {
		team.handle(fmt.Sprintf("f%d", i), func(w http.ResponseWriter, r *http.Request) {
			mu.Lock()
			arrived++
			if arrived == n {
				once.Do(func() { close(all) })
			}
			mu.Unlock()
			// Each fragment answers only when all six are in flight: a sequential engine would stall
			// here until the deadline and get fallbacks.
			select {
			case <-all:
				fmt.Fprintf(w, "<p>f%d</p>", i)
			case <-time.After(5 * time.Second):
				w.WriteHeader(http.StatusInternalServerError)
			}
		})
	}
	h := newHarness(t, map[string]*fakeTeam{"t": team}, harnessOptions{engine: Options{DefaultTimeout: 10 * time.Second}})
	var tags strings.Builder
	for i := range n {
		fmt.Fprintf(&tags, `<inlay-fragment src="t/f%d"></inlay-fragment>`, i)
	}
	_, out, _ := h.compose(fmt.Sprintf(page, tags.String()), Request{})
	for i := range n {
		if !strings.Contains(out, fmt.Sprintf("<p>f%d</p>", i)) {
			t.Errorf("fragment f%d missing from %s", i, out)
		}
	}
	if got := team.maxIn.Load(); got != n {
		t.Errorf("max requests in flight = %d, want %d", got, n)
	}
}

func TestStreamingOrder(t *testing.T) {
	team := newFakeTeam(t)
	release := make(chan struct{})
	team.html("fast", "<p>fast</p>", "")
	team.handle("slow", func(w http.ResponseWriter, r *http.Request) {
		<-release
		fmt.Fprint(w, "<p>slow</p>")
	})
	team.manifest = &fragments.Manifest{Name: "t", Version: "1", Fragments: map[string]fragments.Fragment{
		"fast": {CSS: []string{"fast.css"}}, "slow": {CSS: []string{"slow.css", "fast.css"}},
	}}
	h := newHarness(t, map[string]*fakeTeam{"t": team}, harnessOptions{engine: Options{DefaultTimeout: 10 * time.Second}})
	c := h.engine.Start(context.Background(), Parse([]byte(fmt.Sprintf(page,
		`<inlay-fragment src="t/fast"></inlay-fragment><inlay-fragment src="t/slow"></inlay-fragment><p>after</p>`))), Request{})
	w := newFlushRecorder()
	errc := make(chan error, 1)
	go func() { errc <- c.WriteTo(w) }()

	// The head goes out at once, with every stylesheet once; then the body up to the slow slot.
	var first string
	select {
	case first = <-w.flushed:
	case <-time.After(10 * time.Second):
		t.Fatal("no flush")
	}
	if !strings.Contains(first, "</head>") && !strings.HasSuffix(first, `<link rel="stylesheet" href="/static/t/slow.css">`) {
		t.Fatalf("first flush is not the head: %q", first)
	}
	if strings.Count(first, "/static/t/fast.css") != 1 || !strings.Contains(first, "/static/t/slow.css") {
		t.Errorf("head stylesheets not deduplicated: %q", first)
	}
	var beforeSlow string
	for !strings.Contains(beforeSlow, "<p>fast</p>") {
		select {
		case beforeSlow = <-w.flushed:
		case <-time.After(10 * time.Second):
			t.Fatalf("fast fragment not flushed before the slow one finished: %q", w.String())
		}
	}
	if strings.Contains(beforeSlow, "slow</p>") || strings.Contains(beforeSlow, "after") {
		t.Errorf("content after the slow slot went out before it: %q", beforeSlow)
	}
	close(release)
	if err := <-errc; err != nil {
		t.Fatal(err)
	}
	out := w.String()
	if !(strings.Index(out, "<p>fast</p>") < strings.Index(out, "<p>slow</p>") &&
		strings.Index(out, "<p>slow</p>") < strings.Index(out, "<p>after</p>")) {
		t.Errorf("body not in document order: %s", out)
	}
}

// TestReadyPageIsOneWrite checks that a page whose fragments have all arrived by the time the head
// is written (here: fresh cache hits) goes out in one flush, not one for the head and one for the
// rest; TestStreamingOrder covers the page that has to wait.
func TestReadyPageIsOneWrite(t *testing.T) {
	team := newFakeTeam(t)
	team.html("a", "<p>a</p>", "public, max-age=60")
	team.html("b", "<p>b</p>", "public, max-age=60")
	h := newHarness(t, map[string]*fakeTeam{"t": team}, harnessOptions{cache: true})
	doc := fmt.Sprintf(page, `<inlay-fragment src="t/a"></inlay-fragment><inlay-fragment src="t/b"></inlay-fragment>`)
	h.compose(doc, Request{Locale: "en"}) // fills the cache

	c := h.engine.Start(context.Background(), Parse([]byte(doc)), Request{Locale: "en"})
	c.Outcome()
	w := newFlushRecorder()
	if err := c.WriteTo(w); err != nil {
		t.Fatal(err)
	}
	if len(w.flushes) != 1 {
		t.Errorf("%d flushes, want 1: %q", len(w.flushes), w.flushes)
	}
	if out := w.String(); !strings.Contains(out, "<p>a</p><p>b</p>") {
		t.Errorf("page %s", out)
	}
}

func TestClientGoneStopsWriting(t *testing.T) {
	team := newFakeTeam(t)
	// The fragment is held back until the head's flush has failed: were it already there, the page
	// would go out in one write and the test would depend on which came first.
	release := make(chan struct{})
	team.handle("a", func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-release:
		case <-r.Context().Done():
		}
		fmt.Fprint(w, "<p>a</p>")
	})
	h := newHarness(t, map[string]*fakeTeam{"t": team}, harnessOptions{})
	c := h.engine.Start(context.Background(), Parse([]byte(fmt.Sprintf(page, `<inlay-fragment src="t/a"></inlay-fragment>`))), Request{})
	w := newFlushRecorder()
	w.failAt = 1
	var once sync.Once
	w.onFlush = func() { once.Do(func() { close(release) }) }
	if err := c.WriteTo(w); err == nil {
		t.Fatal("WriteTo succeeded on a gone client")
	}
	if strings.Contains(w.String(), "<p>a</p>") {
		t.Errorf("kept writing after the flush failed: %s", w.String())
	}
	if c.ctx.Err() == nil {
		t.Error("composition not cancelled")
	}
}

func TestFallbacks(t *testing.T) {
	tests := []struct {
		name    string
		handler http.HandlerFunc
		timeout string
	}{
		{"timeout", func(w http.ResponseWriter, r *http.Request) { <-r.Context().Done() }, "50ms"},
		{"500", func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(500) }, ""},
		{"503 with body", func(w http.ResponseWriter, r *http.Request) {
			w.WriteHeader(503)
			fmt.Fprint(w, "<p>oops</p>")
		}, ""},
		{"connection reset", func(w http.ResponseWriter, r *http.Request) {
			conn, _, err := http.NewResponseController(w).Hijack()
			if err != nil {
				panic(err)
			}
			if tc, ok := conn.(*net.TCPConn); ok {
				_ = tc.SetLinger(0)
			}
			conn.Close()
		}, ""},
		{"json", func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "application/json")
			fmt.Fprint(w, `{"a":1}`)
		}, ""},
		{"invalid utf-8", func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "text/html")
			_, _ = w.Write([]byte{0xff, 0xfe, 0x00, '<'})
		}, ""},
		{"whole document", func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "text/html")
			fmt.Fprint(w, "<!DOCTYPE html><html><body>x</body></html>")
		}, ""},
		{"404 on a non-primary", func(w http.ResponseWriter, r *http.Request) { http.NotFound(w, r) }, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			team := newFakeTeam(t)
			team.handle("recs", tt.handler)
			team.html("main", "<p>main</p>", "")
			team.manifest = &fragments.Manifest{Name: "t", Version: "7", Fragments: map[string]fragments.Fragment{
				"recs": {Fallback: "<p>no recommendations</p>"}, "main": {},
			}}
			h := newHarness(t, map[string]*fakeTeam{"t": team}, harnessOptions{client: fragments.ClientOptions{BreakerFailures: 100}})
			tag := `<inlay-fragment src="t/recs"`
			if tt.timeout != "" {
				tag += ` timeout="` + tt.timeout + `"`
			}
			tag += `></inlay-fragment>`
			out, body, c := h.compose(fmt.Sprintf(page, `<inlay-fragment src="t/main" primary></inlay-fragment>`+tag), Request{})
			if out.Status != 200 {
				t.Errorf("status %d, want 200", out.Status)
			}
			if !strings.Contains(body, "<p>no recommendations</p>") || !strings.Contains(body, "<p>main</p>") {
				t.Errorf("fallback missing: %s", body)
			}
			if st := c.ServerTiming(); !strings.Contains(st, `t/recs fallback`) {
				t.Errorf("Server-Timing %q does not name the fallback", st)
			}
		})
	}
}

func TestInlineFallbackAndUnknownFragments(t *testing.T) {
	team := newFakeTeam(t)
	team.manifest = &fragments.Manifest{Name: "t", Fragments: map[string]fragments.Fragment{"a": {}}}
	team.handle("a", func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(500) })
	h := newHarness(t, map[string]*fakeTeam{"t": team}, harnessOptions{})
	_, body, _ := h.compose(fmt.Sprintf(page,
		`<inlay-fragment src="t/a"><i>inline</i></inlay-fragment>`+
			`<inlay-fragment src="t/nope">no such fragment</inlay-fragment>`+
			`<inlay-fragment src="other/a">no such context</inlay-fragment>`+
			`<inlay-fragment src="http://evil.example/x">a URL</inlay-fragment>`+
			`<inlay-fragment src="t/../../etc">traversal</inlay-fragment>`), Request{})
	for _, want := range []string{"<i>inline</i>", "no such fragment", "no such context", "a URL", "traversal"} {
		if !strings.Contains(body, want) {
			t.Errorf("%q missing: %s", want, body)
		}
	}
	if team.count("nope") != 0 {
		t.Error("a fragment missing from the manifest was requested")
	}
}

func TestPrimaryDecidesStatus(t *testing.T) {
	tests := []struct {
		name     string
		handler  http.HandlerFunc
		status   int
		location string
		empty    bool
	}{
		{"200", func(w http.ResponseWriter, r *http.Request) { fmt.Fprint(w, "<p>ok</p>") }, 200, "", false},
		{"404 with content", func(w http.ResponseWriter, r *http.Request) {
			w.WriteHeader(404)
			fmt.Fprint(w, "<p>no such tractor</p>")
		}, 404, "", false},
		{"bare 404", func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(404) }, 404, "", true},
		{"302", func(w http.ResponseWriter, r *http.Request) {
			http.Redirect(w, r, "/product/CL-01?sku=CL-01-GY", http.StatusFound)
		}, 302, "/product/CL-01?sku=CL-01-GY", false},
		{"redirect off site", func(w http.ResponseWriter, r *http.Request) {
			http.Redirect(w, r, "https://evil.example/", http.StatusFound)
		}, 503, "", false},
		{"500", func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(500) }, 503, "", false},
		{"timeout", func(w http.ResponseWriter, r *http.Request) { <-r.Context().Done() }, 503, "", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			team := newFakeTeam(t)
			team.handle("p", tt.handler)
			team.html("other", "<p>other</p>", "")
			h := newHarness(t, map[string]*fakeTeam{"t": team}, harnessOptions{engine: Options{DefaultTimeout: 100 * time.Millisecond}})
			out, body, _ := h.compose(fmt.Sprintf(page, `<inlay-fragment src="t/other"></inlay-fragment><inlay-fragment src="t/p" primary></inlay-fragment>`), Request{})
			if out.Status != tt.status || out.Location != tt.location || out.Empty != tt.empty {
				t.Errorf("outcome %+v, want status %d location %q empty %v", out, tt.status, tt.location, tt.empty)
			}
			if tt.status == 404 && !tt.empty && !strings.Contains(body, "no such tractor") {
				t.Errorf("404 page does not show the primary: %s", body)
			}
		})
	}
}

func TestNestedFragments(t *testing.T) {
	explore := newFakeTeam(t)
	checkout := newFakeTeam(t)
	explore.html("header", `<header>logo<inlay-fragment src="checkout/minicart"></inlay-fragment></header>`, "")
	checkout.html("minicart", `<span>2 items</span>`, "")
	checkout.manifest = &fragments.Manifest{Name: "checkout", Version: "3", Fragments: map[string]fragments.Fragment{
		"minicart": {CSS: []string{"/static/minicart.css"}},
	}}
	// A fragment that includes itself stops at the depth limit.
	explore.html("loop", `<div>loop<inlay-fragment src="explore/loop">end</inlay-fragment></div>`, "")
	h := newHarness(t, map[string]*fakeTeam{"explore": explore, "checkout": checkout}, harnessOptions{engine: Options{MaxDepth: 3}})
	_, body, _ := h.compose(fmt.Sprintf(page, `<inlay-fragment src="explore/header"></inlay-fragment><inlay-fragment src="explore/loop"></inlay-fragment>`), Request{})
	if !strings.Contains(body, `<header>logo<link rel="stylesheet" href="/static/checkout/minicart.css"><span>2 items</span></header>`) {
		t.Errorf("nested fragment not resolved: %s", body)
	}
	if got := strings.Count(body, "<div>loop"); got != 4 {
		t.Errorf("loop resolved %d times, want 4 (depth 0..3)", got)
	}
	if !strings.Contains(body, "end</div>") {
		t.Errorf("tag beyond the depth limit not replaced by its content: %s", body)
	}
}

func TestAsyncSlots(t *testing.T) {
	team := newFakeTeam(t)
	release := make(chan struct{})
	team.html("main", "<p>main</p>", "")
	team.handle("recs", func(w http.ResponseWriter, r *http.Request) {
		<-release
		fmt.Fprint(w, "<p>recs</p>")
	})
	team.manifest = &fragments.Manifest{Name: "t", Fragments: map[string]fragments.Fragment{
		"main": {}, "recs": {Fallback: "<p>loading</p>"},
	}}
	h := newHarness(t, map[string]*fakeTeam{"t": team}, harnessOptions{engine: Options{DefaultTimeout: 10 * time.Second}})
	c := h.engine.Start(context.Background(), Parse([]byte(fmt.Sprintf(page,
		`<inlay-fragment src="t/recs" async></inlay-fragment><inlay-fragment src="t/main"></inlay-fragment><p>tail</p>`))),
		Request{Nonce: "abc"})
	w := newFlushRecorder()
	errc := make(chan error, 1)
	go func() { errc <- c.WriteTo(w) }()
	// Everything after the async slot goes out before it finishes.
	var sofar string
	for !strings.Contains(sofar, "<p>tail</p>") {
		select {
		case sofar = <-w.flushed:
		case <-time.After(10 * time.Second):
			t.Fatalf("content after the async slot waited for it: %q", w.String())
		}
	}
	close(release)
	if err := <-errc; err != nil {
		t.Fatal(err)
	}
	body := w.String()
	for _, want := range []string{
		`<script nonce="abc">window.inlayFill`,
		`<inlay-slot id="inlay-s-0"><p>loading</p></inlay-slot><p>main</p><p>tail</p>`,
		`<template id="inlay-t-0"><p>recs</p></template><script nonce="abc">inlayFill(0)</script></body>`,
	} {
		if !strings.Contains(body, want) {
			t.Errorf("%q missing from %s", want, body)
		}
	}
}

func TestHeaderAllowlist(t *testing.T) {
	team := newFakeTeam(t)
	team.html("a", "<p>a</p>", "")
	h := newHarness(t, map[string]*fakeTeam{"t": team}, harnessOptions{})
	h.compose(fmt.Sprintf(page, `<inlay-fragment src="t/a"></inlay-fragment>`), Request{Forwarded: fragments.Forwarded{
		AcceptLanguage: "de", UserAgent: "ua", Traceparent: "00-abc-def-01", RequestID: "r1", Context: "signed"}})
	r := team.lastRequest("a")
	for k, want := range map[string]string{"Accept-Language": "de", "User-Agent": "ua", "Traceparent": "00-abc-def-01",
		"X-Request-Id": "r1", "Inlay-Context": "signed"} {
		if got := r.Header.Get(k); got != want {
			t.Errorf("%s = %q, want %q", k, got, want)
		}
	}
	allowed := map[string]bool{"Accept-Language": true, "User-Agent": true, "Traceparent": true, "X-Request-Id": true,
		"Inlay-Context": true, "Accept": true, "Accept-Encoding": true}
	for k := range r.Header {
		if !allowed[k] {
			t.Errorf("header %s reached the team", k)
		}
	}
}

func TestDebugOutlines(t *testing.T) {
	team := newFakeTeam(t)
	team.html("a", "<p>a</p>", "")
	team.manifest = &fragments.Manifest{Name: "t", Version: "42", Fragments: map[string]fragments.Fragment{"a": {}}}
	h := newHarness(t, map[string]*fakeTeam{"t": team}, harnessOptions{})
	_, body, _ := h.compose(fmt.Sprintf(page, `<inlay-fragment src="t/a"></inlay-fragment>`), Request{Debug: true})
	if !strings.Contains(body, `<inlay-debug data-team="t" data-fragment="a" data-version="42" data-source="fetch"`) {
		t.Errorf("no debug outline: %s", body)
	}
}

func TestManifestRefreshPicksUpNewVersion(t *testing.T) {
	team := newFakeTeam(t)
	team.manifest = &fragments.Manifest{Name: "t", Version: "1", Fragments: map[string]fragments.Fragment{"a": {}}}
	team.html("a", "<p>a</p>", "")
	team.html("b", "<p>b</p>", "")
	h := newHarness(t, map[string]*fakeTeam{"t": team}, harnessOptions{})
	_, body, _ := h.compose(fmt.Sprintf(page, `<inlay-fragment src="t/b">b unknown</inlay-fragment>`), Request{})
	if !strings.Contains(body, "b unknown") {
		t.Fatalf("fragment outside the manifest was composed: %s", body)
	}
	team.mu.Lock()
	team.manifest = &fragments.Manifest{Name: "t", Version: "2", Fragments: map[string]fragments.Fragment{"a": {}, "b": {}}}
	team.mu.Unlock()
	if err := h.teams.Refresh(context.Background(), 5*time.Second); err != nil {
		t.Fatal(err)
	}
	tm, _ := h.teams.Team("t")
	if tm.Version() != "2" {
		t.Errorf("version %q after refresh, want 2", tm.Version())
	}
	_, body, _ = h.compose(fmt.Sprintf(page, `<inlay-fragment src="t/b">b unknown</inlay-fragment>`), Request{})
	if !strings.Contains(body, "<p>b</p>") {
		t.Errorf("new fragment not composed after refresh: %s", body)
	}
}

func TestManifestParamsFilter(t *testing.T) {
	team := newFakeTeam(t)
	team.manifest = &fragments.Manifest{Name: "t", Fragments: map[string]fragments.Fragment{"p": {Params: []string{"sku", "id"}}}}
	team.html("p", "<p>p</p>", "")
	h := newHarness(t, map[string]*fakeTeam{"t": team}, harnessOptions{})
	h.compose(fmt.Sprintf(page, `<inlay-fragment src="t/p?evil=1&amp;id=7&amp;sku=CL-01"></inlay-fragment>`), Request{})
	if got := team.lastRequest("p").URL.RawQuery; got != "sku=CL-01&id=7" {
		t.Errorf("query %q, want only the declared parameters in manifest order", got)
	}
}

func TestOpenBreakerSkipsTheTeam(t *testing.T) {
	team := newFakeTeam(t)
	team.handle("a", func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(502) })
	team.manifest = &fragments.Manifest{Name: "t", Fragments: map[string]fragments.Fragment{"a": {Fallback: "<p>later</p>"}}}
	h := newHarness(t, map[string]*fakeTeam{"t": team}, harnessOptions{client: fragments.ClientOptions{BreakerFailures: 2, BreakerOpen: time.Hour}})
	doc := fmt.Sprintf(page, `<inlay-fragment src="t/a"></inlay-fragment>`)
	for range 2 {
		h.compose(doc, Request{})
	}
	before := team.count("a")
	_, body, c := h.compose(doc, Request{})
	if team.count("a") != before {
		t.Error("the team was asked while its breaker is open")
	}
	if !strings.Contains(body, "<p>later</p>") || !strings.Contains(c.ServerTiming(), "t/a fallback") {
		t.Errorf("no fallback with the breaker open: %s", body)
	}
}

package server

import (
	"fmt"
	"io"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	toxiproxy "github.com/Shopify/toxiproxy/v2/client"
	"go.uber.org/goleak"

	"github.com/inlay-dev/inlay/internal/toxictest"
	"github.com/inlay-dev/inlay/shell"
)

// The fault suite's cases that need the shell in process (issue 17): its goroutines after 1,000
// pages with five fragments down (fragment servers behind toxiproxy, a process, the pinned Go tool),
// and nesting and include cycles. The timed cases run against shelld as built for production, without
// the race detector: e2e/faults_fragments_test.go. Nothing waits on a sleep.

const (
	// fiveDownPages are loaded, fiveDownConcurrency at once.
	fiveDownPages       = 1000
	fiveDownConcurrency = 12
)

// TestFiveFragmentsDown: five fragments hang at once → after 1,000 pages, every one 200 with the five
// fallbacks, the shell's goroutines are back to their baseline (only its idle pools remain, bounded by
// concurrency, not by pages). The page time's bound is asserted in e2e's TestFaultsFiveFragmentsDown;
// here, under the race detector, it is only logged.
func TestFiveFragmentsDown(t *testing.T) {
	proxy := toxictest.Start(t)
	healthy := newTeam(t)
	healthy.fragment("main", "<main>PRIMARY</main>")
	teams := map[string]string{"healthy": healthy.srv.URL}
	deadlines := []time.Duration{100 * time.Millisecond, 150 * time.Millisecond, 200 * time.Millisecond,
		250 * time.Millisecond, 300 * time.Millisecond}
	doc := `<!doctype html><html><head><title>f</title></head><body><inlay-fragment src="healthy/main" primary></inlay-fragment>`
	var sum time.Duration
	want := []string{"PRIMARY"}
	var downs []*toxictest.Proxy
	for i, d := range deadlines {
		name := "down" + strconv.Itoa(i)
		tm := newTeam(t)
		tm.fragment("frag", "<p>up</p>")
		p := proxy.Proxy(t, "fragment-"+name, strings.TrimPrefix(tm.srv.URL, "http://"))
		downs = append(downs, p)
		teams[name] = "http://" + p.Addr
		doc += `<inlay-fragment src="` + name + `/frag" timeout="` + d.String() + `">FALLBACK-` + name + `</inlay-fragment>`
		want = append(want, "FALLBACK-"+name)
		sum += d
	}
	doc += `</body></html>`
	s := startShellURLs(t, teams, []shell.Page{rawPage("/five", doc)}, shell.Page{}, nil)

	// The baseline: the shell started and one page served, before any fault.
	if r := toxictest.PageLoads(s.url+"/five", 1, 1, "PRIMARY"); r.NFailures > 0 {
		t.Fatalf("healthy page: %v", r.Failures)
	}
	baseline := goleak.IgnoreCurrent()
	for _, p := range downs {
		p.Toxic(t, "timeout", toxiproxy.Attributes{"timeout": 0})
	}

	const pages = fiveDownPages
	r := toxictest.PageLoads(s.url+"/five", pages, fiveDownConcurrency, want...)
	t.Logf("five down, in process under the race detector: %d pages, p50 %v, p99 %v, max %v (the largest deadline is %v, the sum %v)",
		pages, r.Quantile(0.5).Round(100*time.Microsecond), r.Quantile(0.99).Round(100*time.Microsecond),
		r.Quantile(1).Round(100*time.Microsecond), slices.Max(deadlines), sum)
	if r.NFailures > 0 {
		t.Errorf("%d of %d pages not 200 with every fallback: %v", r.NFailures, pages, r.Failures)
	}

	// goleak retries until the goroutines of the last pages have ended. What may remain are the
	// pools, idle: the engine's fetch workers (they wait 30 s for the next fetch), fasthttp's server
	// workers and client connection cleaners, and the stub teams' own keep-alive connections.
	if err := goleak.Find(baseline,
		goleak.IgnoreTopFunction("github.com/inlay-dev/inlay/shell/compose.(*Engine).worker"),
		goleak.IgnoreTopFunction("github.com/valyala/fasthttp.(*workerPool).getCh.func1"),
		goleak.IgnoreTopFunction("github.com/valyala/fasthttp.(*workerPool).workerFunc"),
		goleak.IgnoreTopFunction("github.com/valyala/fasthttp.(*HostClient).connsCleaner"),
		goleak.IgnoreAnyFunction("net/http.(*conn).serve"),
	); err != nil {
		t.Errorf("goroutines not back to their baseline after %d pages: %v", pages, err)
	}
}

// TestNestingAndCycle: a fragment nesting deeper than the limit, and one that includes itself →
// the fragment past the limit is never requested (its tag's own content stands in), and the page
// still renders.
func TestNestingAndCycle(t *testing.T) {
	nest := newTeam(t)
	healthy := newTeam(t)
	healthy.fragment("main", "<main>PRIMARY</main>")
	// n0 → n1 → n2 → n3 → n4: n0 is depth 0 on the page, n4 would be depth 4 (the limit is 3).
	for i := range 4 {
		nest.fragment("n"+strconv.Itoa(i), fmt.Sprintf(`<div>LEVEL-%d<inlay-fragment src="nest/n%d">CUT-%d</inlay-fragment></div>`, i, i+1, i+1))
	}
	nest.fragment("n4", "<div>TOO-DEEP</div>")
	nest.fragment("loop", `<div>LOOP<inlay-fragment src="nest/loop">CYCLE-CUT</inlay-fragment></div>`)
	page := func(route, src string) shell.Page {
		return rawPage(route, `<!doctype html><html><head><title>n</title></head><body>`+
			`<inlay-fragment src="healthy/main" primary></inlay-fragment>`+
			`<inlay-fragment src="`+src+`">TOP</inlay-fragment></body></html>`)
	}
	s := startShell(t, map[string]*team{"nest": nest, "healthy": healthy},
		[]shell.Page{page("/deep", "nest/n0"), page("/cycle", "nest/loop")}, nil)

	const maxDepth = 3 // the engine's default, the shell's setting
	t.Run("deeper than the limit", func(t *testing.T) {
		body := page200(t, s.url+"/deep")
		for i := range maxDepth + 1 {
			if !strings.Contains(body, "LEVEL-"+strconv.Itoa(i)) {
				t.Errorf("level %d missing: %s", i, body)
			}
		}
		if strings.Contains(body, "TOO-DEEP") || !strings.Contains(body, "CUT-4") || !strings.Contains(body, "PRIMARY") {
			t.Errorf("want levels 0-3, the tag's content past them and the primary: %s", body)
		}
		if r, _ := nest.last("/fragments/n4"); r != nil {
			t.Errorf("the fragment past the depth limit was requested")
		}
	})
	t.Run("include cycle", func(t *testing.T) {
		body := page200(t, s.url+"/cycle")
		if n := strings.Count(body, "LOOP"); n != maxDepth+1 {
			t.Errorf("the cycle rendered %d times, want %d (cut at the depth limit): %s", n, maxDepth+1, body)
		}
		if !strings.Contains(body, "CYCLE-CUT") || !strings.Contains(body, "PRIMARY") {
			t.Errorf("want the tag's content where the cycle is cut, and the primary: %s", body)
		}
		nest.mu.Lock()
		n := 0
		for _, r := range nest.requests {
			if r.URL.Path == "/fragments/loop" {
				n++
			}
		}
		nest.mu.Unlock()
		if n > maxDepth+1 {
			t.Errorf("the cycle was fetched %d times, want at most %d", n, maxDepth+1)
		}
	})
}

// page200 GETs url and returns its body, failing t unless the answer is 200.
func page200(t *testing.T, url string) string {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != 200 {
		t.Fatalf("GET %s: status %d: %s", url, resp.StatusCode, b)
	}
	return string(b)
}

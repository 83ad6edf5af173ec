package server

import (
	"bytes"
	"compress/gzip"
	"fmt"
	"io"
	"net"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	toxiproxy "github.com/Shopify/toxiproxy/v2/client"
	"go.uber.org/goleak"

	"github.com/inlay-dev/inlay/internal/toxictest"
	"github.com/inlay-dev/inlay/shell"
)

// The fault suite of the composition engine (issue 17): real fragment servers behind toxiproxy (a
// process, the pinned Go tool), the real shell in front. Each case states its bound and logs its
// measured figure; nothing waits on a sleep.

const (
	// faultDeadline is the faulty fragment's own deadline (its tag's timeout attribute).
	faultDeadline = 150 * time.Millisecond
	// faultSlack is what a page may take beyond its slowest fragment's deadline (issue 17).
	faultSlack = 50 * time.Millisecond
	// faultLoads is how many pages each fault case loads; faultConcurrency of them at once, so that
	// every round of the circuit breaker (5 failures, then open) still sees that many pages wait for
	// the deadline and the p99 is theirs, not only the skipped ones'.
	faultLoads       = 200
	faultConcurrency = 10
)

// faultPage is a page with a healthy primary fragment and the faulty one, whose inline content is
// its fallback.
func faultPage(team string, timeout time.Duration) shell.Page {
	return rawPage("/fault/"+team, `<!doctype html><html><head><title>f</title></head><body>`+
		`<inlay-fragment src="healthy/main" primary></inlay-fragment>`+
		`<inlay-fragment src="`+team+`/frag" timeout="`+timeout.String()+`">FALLBACK-`+team+`</inlay-fragment>`+
		`</body></html>`)
}

// htmlFragment answers a fragment body as text/html.
func htmlFragment(body string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		io.WriteString(w, body)
	}
}

// rawServer answers every connection with reply (whatever it is) and closes it: a server that does
// not speak HTTP.
func rawServer(t *testing.T, reply []byte) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	t.Cleanup(func() {
		ln.Close()
		wg.Wait()
	})
	wg.Go(func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			wg.Go(func() {
				defer c.Close()
				_ = c.SetDeadline(time.Now().Add(10 * time.Second))
				buf := make([]byte, 4096)
				_, _ = c.Read(buf) // the request line, or what came of it
				_, _ = c.Write(reply)
			})
		}
	})
	return ln.Addr().String()
}

// loadResult is what pageLoads measured.
type loadResult struct {
	durations []time.Duration
	failures  []string // the first few pages that were not 200 with the fallback
	nFailures int
	slowest   string // the slowest page's Server-Timing: the fragments' own times
	maxD      time.Duration
}

func (r loadResult) quantile(q float64) time.Duration {
	d := slices.Clone(r.durations)
	slices.Sort(d)
	i := int(float64(len(d))*q+0.999999) - 1
	return d[max(0, min(len(d)-1, i))]
}

// pageLoads loads url n times, c at once, each time checking for a 200 page holding every one of
// want, and measures each load from request to the body's last byte.
func pageLoads(url string, n, c int, want ...string) loadResult {
	client := &http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{DisableKeepAlives: true}}
	defer client.CloseIdleConnections()
	var mu sync.Mutex
	var res loadResult
	jobs := make(chan struct{})
	var wg sync.WaitGroup
	for range c {
		wg.Go(func() {
			for range jobs {
				start := time.Now()
				resp, err := client.Get(url)
				var body []byte
				if err == nil {
					body, err = io.ReadAll(resp.Body)
					resp.Body.Close()
				}
				d := time.Since(start)
				problem := ""
				switch {
				case err != nil:
					problem = err.Error()
				case resp.StatusCode != 200:
					problem = fmt.Sprintf("status %d", resp.StatusCode)
				default:
					for _, w := range want {
						if !bytes.Contains(body, []byte(w)) {
							problem = fmt.Sprintf("%q missing from %q", w, clip(string(body), 300))
							break
						}
					}
				}
				mu.Lock()
				res.durations = append(res.durations, d)
				if d > res.maxD && resp != nil {
					res.maxD, res.slowest = d, resp.Header.Get("Server-Timing")
				}
				if problem != "" {
					res.nFailures++
					if len(res.failures) < 3 {
						res.failures = append(res.failures, problem)
					}
				}
				mu.Unlock()
			}
		})
	}
	for range n {
		jobs <- struct{}{}
	}
	close(jobs)
	wg.Wait()
	return res
}

// TestFaultyFragment: a fragment that hangs, drips one byte every 200 ms, resets, answers garbage
// (not HTTP; a binary body), or more than 1 MiB (also only after gunzip) → every page is 200 with the
// fallback, p99 of 200 loads within the fragment's deadline + 50 ms.
func TestFaultyFragment(t *testing.T) {
	proxy := toxictest.Start(t)
	healthy := newTeam(t)
	healthy.fragment("main", "<main>PRIMARY</main>")

	big := strings.Repeat("<p>tractor</p>", (3<<20)/14) // 3 MiB: over the client's 2 MiB
	oneAndHalf := strings.Repeat("<p>tractor</p>", (3<<19)/14)
	var gz bytes.Buffer
	zw := gzip.NewWriter(&gz)
	zw.Write(bytes.Repeat([]byte("<p>tractor</p>"), (4<<20)/14)) // 4 MiB once inflated, a few KiB sent
	zw.Close()
	binary := make([]byte, 4096)
	for i := range binary {
		binary[i] = byte(i*7 + 0x80)
	}

	type faultCase struct {
		name  string
		serve http.HandlerFunc // the team's fragment, when the team is an HTTP server
		raw   []byte           // else what a non-HTTP server writes
		toxic string
		attrs toxiproxy.Attributes
	}
	cases := []faultCase{
		{name: "hang", serve: htmlFragment("<p>never arrives</p>"),
			toxic: "timeout", attrs: toxiproxy.Attributes{"timeout": 0}},
		{name: "drip", serve: htmlFragment("<p>one byte at a time</p>"),
			toxic: "slicer", attrs: toxiproxy.Attributes{"average_size": 1, "size_variation": 0, "delay": 200_000}},
		{name: "reset", serve: htmlFragment("<p>reset before it arrives</p>"),
			toxic: "reset_peer", attrs: toxiproxy.Attributes{"timeout": 0}},
		{name: "garbage-wire", raw: append([]byte("\x00\xff\xfeNOT HTTP AT ALL\r\n\r\n"), binary...)},
		{name: "garbage-body", serve: func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "text/html")
			w.Write(binary)
		}},
		{name: "big", serve: htmlFragment(big)},
		{name: "big-chunked", serve: func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "text/html")
			for i := 0; i < len(big); i += 64 << 10 {
				io.WriteString(w, big[i:min(len(big), i+64<<10)])
				w.(http.Flusher).Flush()
			}
		}},
		{name: "over-limit", serve: htmlFragment(oneAndHalf)},
		{name: "gzip-bomb", serve: func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "text/html")
			w.Header().Set("Content-Encoding", "gzip")
			w.Write(gz.Bytes())
		}},
	}

	teams := map[string]string{"healthy": healthy.srv.URL}
	var pages []shell.Page
	proxies := map[string]*toxictest.Proxy{}
	for _, fc := range cases {
		var upstream string
		if fc.raw != nil {
			upstream = rawServer(t, fc.raw)
		} else {
			tm := newTeam(t)
			tm.handle("/fragments/frag", fc.serve)
			upstream = strings.TrimPrefix(tm.srv.URL, "http://")
		}
		proxies[fc.name] = proxy.Proxy(t, "fragment-"+fc.name, upstream)
		teams[fc.name] = "http://" + proxies[fc.name].Addr
		pages = append(pages, faultPage(fc.name, faultDeadline))
	}
	s := startShellURLs(t, teams, pages, shell.Page{}, nil)
	for _, fc := range cases {
		if fc.toxic != "" {
			proxies[fc.name].Toxic(t, fc.toxic, fc.attrs)
		}
	}

	bound := faultDeadline + faultSlack
	for _, fc := range cases {
		t.Run(fc.name, func(t *testing.T) {
			r := pageLoads(s.url+"/fault/"+fc.name, faultLoads, faultConcurrency, "PRIMARY", "FALLBACK-"+fc.name)
			p99 := r.quantile(0.99)
			t.Logf("%s: %d loads, p50 %v, p99 %v, max %v (bound: p99 ≤ deadline %v + %v = %v)", fc.name, faultLoads,
				r.quantile(0.5).Round(100*time.Microsecond), p99.Round(100*time.Microsecond),
				r.quantile(1).Round(100*time.Microsecond), faultDeadline, faultSlack, bound)
			t.Logf("%s: the slowest page's Server-Timing: %s", fc.name, r.slowest)
			if r.nFailures > 0 {
				t.Errorf("%d of %d pages not 200 with the fallback: %v", r.nFailures, faultLoads, r.failures)
			}
			if p99 > bound {
				t.Errorf("p99 %v > %v", p99, bound)
			}
		})
	}
}

// TestFiveFragmentsDown: five fragments hang at once, each with its own deadline → a page takes the
// largest deadline (+ 50 ms at p99), not their sum; after 1,000 pages the shell's goroutines are back
// to their baseline (only its idle pools remain, bounded by concurrency, not by pages).
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
	if r := pageLoads(s.url+"/five", 1, 1, "PRIMARY"); r.nFailures > 0 {
		t.Fatalf("healthy page: %v", r.failures)
	}
	baseline := goleak.IgnoreCurrent()
	for _, p := range downs {
		p.Toxic(t, "timeout", toxiproxy.Attributes{"timeout": 0})
	}

	const pages = 1000
	r := pageLoads(s.url+"/five", pages, faultConcurrency, want...)
	largest := slices.Max(deadlines)
	bound := largest + faultSlack
	p99 := r.quantile(0.99)
	t.Logf("five down: %d pages, p50 %v, p99 %v, max %v (bound: p99 ≤ largest deadline %v + %v = %v; the sum is %v)",
		pages, r.quantile(0.5).Round(100*time.Microsecond), p99.Round(100*time.Microsecond),
		r.quantile(1).Round(100*time.Microsecond), largest, faultSlack, bound, sum)
	if r.nFailures > 0 {
		t.Errorf("%d of %d pages not 200 with every fallback: %v", r.nFailures, pages, r.failures)
	}
	if p99 > bound {
		t.Errorf("p99 %v > %v", p99, bound)
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
		resp, body := get(t, s.url+"/deep", nil)
		if resp.StatusCode != 200 {
			t.Fatalf("status %d: %s", resp.StatusCode, body)
		}
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
		resp, body := get(t, s.url+"/cycle", nil)
		if resp.StatusCode != 200 {
			t.Fatalf("status %d: %s", resp.StatusCode, body)
		}
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

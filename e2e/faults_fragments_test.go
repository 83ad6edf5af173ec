//go:build e2e

package e2e

import (
	"bytes"
	"compress/gzip"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	toxiproxy "github.com/Shopify/toxiproxy/v2/client"

	"github.com/inlay-dev/inlay/internal/toxictest"
)

// The fault suite between the shell and its fragment servers (issue 17): shelld as built for
// production (no race detector) started by the harness alone, its team registry pointing at
// toxiproxy (a process, the pinned Go tool) in front of fragment servers in this test. Each case
// states its bound and logs its measured figure; nothing waits on a sleep. The engine's own cases
// (goroutines after 1,000 pages, nesting and cycles) are shell/server's faults_test.go.

const (
	// fragDeadline is the faulty fragment's own deadline (its tag's timeout attribute).
	fragDeadline = 150 * time.Millisecond
	// fragSlack is what a page may take beyond its slowest fragment's deadline (issue 17).
	fragSlack = 50 * time.Millisecond
	// fragLoads is how many pages each fault case loads, fragConcurrency of them at once: the
	// breaker (5 failures, then open) lets at least 5 of them wait for the deadline, 2.5 %, so the
	// p99 is theirs and not only the skipped ones'. More at once would measure the machine's queue.
	fragLoads       = 200
	fragConcurrency = 4
	// fiveDownPages of the five-down case, fiveDownConcurrency at once: the first round of the
	// breakers then holds more than 1 % of them (each page waits for the largest deadline).
	fiveDownPages       = 1000
	fiveDownConcurrency = 12
)

// startShellOnly starts the platform's shell alone with teams as its registry and pages (name →
// template) served at /{name}, and returns its URL.
func startShellOnly(t *testing.T, teams map[string]string, pages map[string]string) string {
	t.Helper()
	dir := t.TempDir()
	for name, doc := range pages {
		if err := os.WriteFile(filepath.Join(dir, name+".html"), []byte(doc), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	var reg []string
	for name, u := range teams {
		reg = append(reg, name+"="+u)
	}
	// A team that never answered its manifest (one that does not speak HTTP) must not hold the
	// shell's readiness for 30 s.
	p := Start(t, Only("shell"), WithEnv("INLAY_TEAMS="+strings.Join(reg, ","), "INLAY_PAGES_DIR="+dir,
		"SHELL_READY_WAIT=1s", "LOG_LEVEL=error"))
	return p.Shell
}

// stubTeam serves handlers by path (404 for the rest) and returns its host:port.
func stubTeam(t *testing.T, handlers map[string]http.HandlerFunc) string {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if h, ok := handlers[r.URL.Path]; ok {
			h(w, r)
			return
		}
		http.NotFound(w, r)
	}))
	t.Cleanup(srv.Close)
	return strings.TrimPrefix(srv.URL, "http://")
}

// fragPage is a page with a healthy primary fragment and the faulty one, whose inline content is
// its fallback.
func fragPage(team string, timeout time.Duration) string {
	return `<!doctype html><html><head><title>f</title></head><body>` +
		`<inlay-fragment src="healthy/main" primary></inlay-fragment>` +
		`<inlay-fragment src="` + team + `/frag" timeout="` + timeout.String() + `">FALLBACK-` + team + `</inlay-fragment>` +
		`</body></html>`
}

// htmlFragment answers a fragment body as text/html.
func htmlFragment(body string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		_, _ = io.WriteString(w, body)
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

// TestFaultsFragment: a fragment that hangs, drips one byte every 200 ms, resets, answers garbage
// (not HTTP; a binary body), or more than 1 MiB (also only after gunzip) → every page is 200 with the
// fallback, p99 of 200 loads within the fragment's deadline + 50 ms.
func TestFaultsFragment(t *testing.T) {
	proxy := toxictest.Start(t)
	healthy := stubTeam(t, map[string]http.HandlerFunc{"/fragments/main": htmlFragment("<main>PRIMARY</main>")})

	big := strings.Repeat("<p>tractor</p>", (3<<20)/14) // 3 MiB: over the client's 2 MiB
	oneAndHalf := strings.Repeat("<p>tractor</p>", (3<<19)/14)
	var gz bytes.Buffer
	zw := gzip.NewWriter(&gz)
	_, _ = zw.Write(bytes.Repeat([]byte("<p>tractor</p>"), (4<<20)/14)) // 4 MiB once inflated, a few KiB sent
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
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
			_, _ = w.Write(binary)
		}},
		{name: "big", serve: htmlFragment(big)},
		{name: "big-chunked", serve: func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "text/html")
			for i := 0; i < len(big); i += 64 << 10 {
				_, _ = io.WriteString(w, big[i:min(len(big), i+64<<10)])
				w.(http.Flusher).Flush()
			}
		}},
		{name: "over-limit", serve: htmlFragment(oneAndHalf)},
		{name: "gzip-bomb", serve: func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "text/html")
			w.Header().Set("Content-Encoding", "gzip")
			_, _ = w.Write(gz.Bytes())
		}},
	}

	teams := map[string]string{"healthy": "http://" + healthy}
	pages := map[string]string{}
	proxies := map[string]*toxictest.Proxy{}
	for _, fc := range cases {
		var upstream string
		if fc.raw != nil {
			upstream = rawServer(t, fc.raw)
		} else {
			upstream = stubTeam(t, map[string]http.HandlerFunc{"/fragments/frag": fc.serve})
		}
		proxies[fc.name] = proxy.Proxy(t, "fragment-"+fc.name, upstream)
		teams[fc.name] = "http://" + proxies[fc.name].Addr
		pages["fault-"+fc.name] = fragPage(fc.name, fragDeadline)
	}
	shellURL := startShellOnly(t, teams, pages)
	for _, fc := range cases {
		if fc.toxic != "" {
			proxies[fc.name].Toxic(t, fc.toxic, fc.attrs)
		}
	}

	bound := fragDeadline + fragSlack
	for _, fc := range cases {
		t.Run(fc.name, func(t *testing.T) {
			// One round of loads first, not measured: the shell's first page of a template and its
			// first connections to a team are not what the bound is about.
			toxictest.PageLoads(shellURL+"/fault-"+fc.name, fragConcurrency, fragConcurrency)
			r := toxictest.PageLoads(shellURL+"/fault-"+fc.name, fragLoads, fragConcurrency, "PRIMARY", "FALLBACK-"+fc.name)
			p99 := r.Quantile(0.99)
			t.Logf("%s: %d loads, p50 %v, p99 %v, max %v (bound: p99 ≤ deadline %v + %v = %v)", fc.name, fragLoads,
				r.Quantile(0.5).Round(100*time.Microsecond), p99.Round(100*time.Microsecond),
				r.Quantile(1).Round(100*time.Microsecond), fragDeadline, fragSlack, bound)
			t.Logf("%s: the slowest page's Server-Timing: %s", fc.name, r.Slowest)
			if r.NFailures > 0 {
				t.Errorf("%d of %d pages not 200 with the fallback: %v", r.NFailures, fragLoads, r.Failures)
			}
			if p99 > bound {
				t.Errorf("p99 %v > %v", p99, bound)
			}
		})
	}
}

// TestFaultsFiveFragmentsDown: five fragments hang at once, each with its own deadline → a page
// takes the largest deadline (+ 50 ms at p99 of 1,000 pages), not their sum. (The shell's goroutines
// after those pages: shell/server's TestFiveFragmentsDown, in process.)
func TestFaultsFiveFragmentsDown(t *testing.T) {
	proxy := toxictest.Start(t)
	healthy := stubTeam(t, map[string]http.HandlerFunc{"/fragments/main": htmlFragment("<main>PRIMARY</main>")})
	teams := map[string]string{"healthy": "http://" + healthy}
	deadlines := []time.Duration{100 * time.Millisecond, 150 * time.Millisecond, 200 * time.Millisecond,
		250 * time.Millisecond, 300 * time.Millisecond}
	doc := `<!doctype html><html><head><title>f</title></head><body><inlay-fragment src="healthy/main" primary></inlay-fragment>`
	var sum time.Duration
	want := []string{"PRIMARY"}
	var downs []*toxictest.Proxy
	for i, d := range deadlines {
		name := "down" + strconv.Itoa(i)
		p := proxy.Proxy(t, "fragment-"+name, stubTeam(t, map[string]http.HandlerFunc{"/fragments/frag": htmlFragment("<p>up</p>")}))
		downs = append(downs, p)
		teams[name] = "http://" + p.Addr
		doc += `<inlay-fragment src="` + name + `/frag" timeout="` + d.String() + `">FALLBACK-` + name + `</inlay-fragment>`
		want = append(want, "FALLBACK-"+name)
		sum += d
	}
	doc += `</body></html>`
	shellURL := startShellOnly(t, teams, map[string]string{"five": doc})
	if r := toxictest.PageLoads(shellURL+"/five", 1, 1, "PRIMARY"); r.NFailures > 0 {
		t.Fatalf("healthy page: %v", r.Failures)
	}
	for _, p := range downs {
		p.Toxic(t, "timeout", toxiproxy.Attributes{"timeout": 0})
	}

	const pages = fiveDownPages
	r := toxictest.PageLoads(shellURL+"/five", pages, fiveDownConcurrency, want...)
	largest := slices.Max(deadlines)
	bound := largest + fragSlack
	p99 := r.Quantile(0.99)
	t.Logf("five down: %d pages, p50 %v, p99 %v, max %v (bound: p99 ≤ largest deadline %v + %v = %v; the sum is %v)",
		pages, r.Quantile(0.5).Round(100*time.Microsecond), p99.Round(100*time.Microsecond),
		r.Quantile(1).Round(100*time.Microsecond), largest, fragSlack, bound, sum)
	if r.NFailures > 0 {
		t.Errorf("%d of %d pages not 200 with every fallback: %v", r.NFailures, pages, r.Failures)
	}
	if p99 > bound {
		t.Errorf("p99 %v > %v", p99, bound)
	}

}

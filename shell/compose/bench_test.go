package compose

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"testing"
)

// benchPage is the benchmark's six-fragment page (../shared/bench): header, product (primary),
// availability, add to cart, recommendations, footer.
func benchPage(query string) []byte {
	return []byte(fmt.Sprintf(`<!doctype html>
<html><head><title>bench</title></head>
<body>
<header><inlay-fragment src="stub/header?size=2048%[1]s"></inlay-fragment></header>
<main>
<inlay-fragment src="stub/product?size=8192%[1]s" primary></inlay-fragment>
<inlay-fragment src="stub/availability?size=1024%[1]s"></inlay-fragment>
<inlay-fragment src="stub/addtocart?size=1024%[1]s"></inlay-fragment>
<inlay-fragment src="stub/recommendations?size=4096%[1]s"></inlay-fragment>
</main>
<footer><inlay-fragment src="stub/footer?size=2048%[1]s"></inlay-fragment></footer>
</body></html>`, query))
}

type discardFlusher struct{ n int }

var _ FlushWriter = (*discardFlusher)(nil)

func (d *discardFlusher) Write(p []byte) (int, error) { d.n += len(p); return len(p), nil }
func (d *discardFlusher) Flush() error                { return nil }

func benchTeam(b *testing.B, cacheControl string) *fakeTeam {
	b.Helper()
	t := &testing.T{}
	team := newFakeTeam(t)
	b.Cleanup(team.srv.Close)
	team.arrived = make(chan string, 1<<20)
	team.handle("", nil)
	for _, f := range []struct {
		name string
		size int
	}{{"header", 2048}, {"product", 8192}, {"availability", 1024}, {"addtocart", 1024}, {"recommendations", 4096}, {"footer", 2048}} {
		body := "<section>" + strings.Repeat("<p>lorem ipsum dolor sit amet</p>", f.size/32) + "</section>"
		team.handle(f.name, func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "text/html; charset=utf-8")
			if cacheControl != "" {
				w.Header().Set("Cache-Control", cacheControl)
			}
			_, _ = w.Write([]byte(body))
		})
	}
	// The recorder would grow without bound under a benchmark.
	team.requests = nil
	return team
}

// BenchmarkComposeCached is the engine alone: a page template parsed once, every fragment a fresh
// in-process cache hit; it measures scanning, slot bookkeeping and writing ~18 KB.
func BenchmarkComposeCached(b *testing.B) {
	team := benchTeam(b, "public, max-age=3600")
	h := newHarness(&testing.T{}, map[string]*fakeTeam{"stub": team}, harnessOptions{cache: true})
	tmpl := Parse(benchPage(""))
	warm := h.engine.Start(context.Background(), tmpl, Request{Locale: "en"})
	warm.Outcome()
	if err := warm.WriteTo(&discardFlusher{}); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		c := h.engine.Start(context.Background(), tmpl, Request{Locale: "en"})
		if out := c.Outcome(); out.Status != 200 {
			b.Fatalf("status %d", out.Status)
		}
		w := &discardFlusher{}
		if err := c.WriteTo(w); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkComposeCachedParse adds parsing the page per request, as for a templ layout.
func BenchmarkComposeCachedParse(b *testing.B) {
	team := benchTeam(b, "public, max-age=3600")
	h := newHarness(&testing.T{}, map[string]*fakeTeam{"stub": team}, harnessOptions{cache: true})
	doc := benchPage("")
	warm := h.engine.Start(context.Background(), Parse(doc), Request{Locale: "en"})
	warm.Outcome()
	_ = warm.WriteTo(&discardFlusher{})
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		c := h.engine.Start(context.Background(), Parse(doc), Request{Locale: "en"})
		c.Outcome()
		if err := c.WriteTo(&discardFlusher{}); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkComposeFetch fetches all six fragments from a loopback server per page.
func BenchmarkComposeFetch(b *testing.B) {
	team := benchTeam(b, "")
	h := newHarness(&testing.T{}, map[string]*fakeTeam{"stub": team}, harnessOptions{cache: true})
	tmpl := Parse(benchPage(""))
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		c := h.engine.Start(context.Background(), tmpl, Request{Locale: "en"})
		if out := c.Outcome(); out.Status != 200 {
			b.Fatalf("status %d", out.Status)
		}
		if err := c.WriteTo(&discardFlusher{}); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkParse(b *testing.B) {
	doc := benchPage("")
	b.ReportAllocs()
	b.SetBytes(int64(len(doc)))
	for b.Loop() {
		Parse(doc)
	}
}

package server

import (
	"fmt"
	"net/http"
	"os"
	"strings"
	"testing"

	"github.com/valyala/fasthttp"

	"github.com/inlay-dev/inlay/services/kit/server"
)

// BenchmarkCachedPage runs the shell's whole handler chain (kit middleware, page, engine, headers)
// in memory for the six-fragment bench page with every fragment a fresh cache hit: the per-page cost
// of the shell itself, without sockets.
func BenchmarkCachedPage(b *testing.B) {
	t := &testing.T{}
	stub := newTeam(t)
	defer stub.srv.Close()
	for name, size := range map[string]int{"header": 2048, "product": 8192, "availability": 1024, "addtocart": 1024, "recommendations": 4096, "footer": 2048} {
		body := "<section>" + strings.Repeat("<p>lorem ipsum dolor sit amet</p>", size/32) + "</section>"
		stub.handle("/fragments/"+name, func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "text/html")
			w.Header().Set("Cache-Control", "public, max-age=3600")
			fmt.Fprint(w, body)
		})
	}
	dir := b.TempDir()
	writeBenchPage(b, dir)
	s := startShell(t, map[string]*team{"stub": stub}, nil, func(c *Config) { c.PagesDir = dir })
	srv := server.New(server.Options{Name: "bench", Log: s.shell.log})
	s.shell.Mount(srv.App)
	h := srv.App.Handler()
	var ctx fasthttp.RequestCtx
	run := func() {
		ctx.ResetUserValues()
		ctx.Request.Reset()
		ctx.Response.Reset()
		ctx.Request.SetRequestURI("/bench")
		ctx.Request.Header.Set("Cookie", "inlay_csrf=abcdefghijklmnopqrstuvwxyz0123456789ABCDEF")
		h(&ctx)
		if ctx.Response.StatusCode() != 200 || len(ctx.Response.Body()) < 18000 {
			b.Fatalf("status %d, %d bytes", ctx.Response.StatusCode(), len(ctx.Response.Body()))
		}
	}
	run() // fills the cache
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		run()
	}
}

func writeBenchPage(b *testing.B, dir string) {
	b.Helper()
	doc := `<!doctype html><html><head><title>bench</title></head><body>
<header><inlay-fragment src="stub/header?size=2048"></inlay-fragment></header><main>
<inlay-fragment src="stub/product?size=8192" primary></inlay-fragment>
<inlay-fragment src="stub/availability?size=1024"></inlay-fragment>
<inlay-fragment src="stub/addtocart?size=1024"></inlay-fragment>
<inlay-fragment src="stub/recommendations?size=4096"></inlay-fragment></main>
<footer><inlay-fragment src="stub/footer?size=2048"></inlay-fragment></footer></body></html>`
	if err := writeFile(dir+"/bench.html", doc); err != nil {
		b.Fatal(err)
	}
}

func writeFile(path, s string) error { return os.WriteFile(path, []byte(s), 0o644) }

// Command floor is the least work a composer can do, for the side-by-side benchmark (run.sh): it
// serves the anchors' six-fragment page by fetching the six fragments from the stub in parallel
// over pooled keep-alive connections and writing them out in order. No template, no streaming, no
// context signing, no timeouts or fallbacks, no cache, no breaker. Measured in the same run as the
// shell, nginx SSI and Tailor, it shows what this machine and the stub allow any composer: the
// latency of a page of 20 ms fragments is bounded below by the stub's own timers and by the three
// processes (wrk, stub, composer) sharing two cores, not by the composer.
//
//	go run ./shell/bench/floor -addr 127.0.0.1:18096 -stub http://127.0.0.1:9100
//	curl 'http://127.0.0.1:18096/?delay=20'
//
// The query string (delay=, cc=) is passed to every fragment, as the page files pass theirs.
//
// With -contract it also sends each fragment request the headers the shell's contract with the
// teams adds (docs/fragments.md): Accept, a new X-Request-Id per page and a signed Inlay-Context (a
// guest's, signed once as the shell signs a guest's once, with a key of its own): what those headers
// cost the team that parses them, and the composer that writes them, without the shell's own work.
//
// With -features it is the floor of a composer that does what the platform asks of every page and
// every fragment request, each the simplest way and nothing more (no template, streaming, cache,
// nesting, fallbacks or manifests): per page, a request id, a CSP nonce and the security headers, a
// new visitor's CSRF token and cookie, an access-log record (slog's JSON, buffered, as the kit logs),
// a Prometheus observation and Server-Timing; per fragment, the contract's headers (as -contract), its
// own deadline, a circuit breaker per team (gobreaker), the answer's check (an HTML 200 of valid
// UTF-8) and a Prometheus observation. What a page costs beyond -contract's is the price of those
// requirements alone, whatever composes the page: compose.sh sets the shell against it.
//
// With -static FILE it is instead the floor of a cached page in Go: fasthttp answering every request
// with FILE's bytes from memory (no composition, no cookie, no log), which compose.sh sets beside
// nginx serving the same file.
package main

import (
	"crypto/ed25519"
	"flag"
	"fmt"
	"log"
	"os"
	"sync"
	"time"

	"github.com/google/uuid"
	"github.com/valyala/fasthttp"

	"github.com/inlay-dev/inlay/fragments"
)

// page is the anchors' page: header, product, availability, add to cart, recommendations,
// footer, with their sizes (shell/bench/nginx/html/index.html).
var page = []string{
	"header?size=2048",
	"product?size=8192",
	"availability?size=1024",
	"addtocart?size=1024",
	"recommendations?size=4096",
	"footer?size=2048",
}

func main() {
	addr := flag.String("addr", "127.0.0.1:18096", "listen address")
	stub := flag.String("stub", "http://127.0.0.1:9100", "the stub fragment server")
	static := flag.String("static", "", "serve this file's bytes for every request instead of composing")
	contract := flag.Bool("contract", false, "send the shell's contract headers (Accept, X-Request-Id, Inlay-Context) with every fragment request")
	features := flag.Bool("features", false, "also do what the platform requires of every page and fragment (see the package doc)")
	flag.Parse()
	var signed string
	if *contract || *features {
		_, key, err := ed25519.GenerateKey(nil)
		if err != nil {
			log.Fatal(err)
		}
		signed, err = fragments.NewSigner(key).Sign(fragments.Context{Locale: "en", Client: "127.0.0.1", Expires: time.Now().Add(time.Hour)})
		if err != nil {
			log.Fatal(err)
		}
	}
	if *static != "" {
		page, err := os.ReadFile(*static)
		if err != nil {
			log.Fatal(err)
		}
		log.Fatal(fasthttp.ListenAndServe(*addr, func(ctx *fasthttp.RequestCtx) {
			ctx.SetContentType("text/html; charset=utf-8")
			ctx.SetBody(page)
		}))
	}
	client := &fasthttp.Client{MaxConnsPerHost: 4096, ReadTimeout: 5 * time.Second, WriteTimeout: 5 * time.Second}
	if *features {
		// The kit's timeouts: a client that stalls does not hold a connection for ever.
		srv := &fasthttp.Server{Handler: featuresHandler(client, *stub, signed), ReadTimeout: 30 * time.Second,
			WriteTimeout: 60 * time.Second, IdleTimeout: 90 * time.Second}
		log.Fatal(srv.ListenAndServe(*addr))
	}
	h := func(ctx *fasthttp.RequestCtx) {
		extra := string(ctx.QueryArgs().QueryString())
		requestID := ""
		if signed != "" {
			requestID = uuid.NewString()
		}
		bodies := make([][]byte, len(page))
		var wg sync.WaitGroup
		for i, f := range page {
			wg.Go(func() {
				req, resp := fasthttp.AcquireRequest(), fasthttp.AcquireResponse()
				defer fasthttp.ReleaseRequest(req)
				defer fasthttp.ReleaseResponse(resp)
				uri := *stub + "/fragments/" + f
				if extra != "" {
					uri += "&" + extra
				}
				req.SetRequestURI(uri)
				if signed != "" {
					req.Header.Set("Accept", "text/html")
					req.Header.Set(fragments.HeaderRequestID, requestID)
					req.Header.Set(fragments.ContextHeader, signed)
				}
				if err := client.DoTimeout(req, resp, 5*time.Second); err == nil && resp.StatusCode() == fasthttp.StatusOK {
					bodies[i] = append([]byte(nil), resp.Body()...)
				}
			})
		}
		wg.Wait()
		ctx.SetContentType("text/html; charset=utf-8")
		writePage(ctx, bodies)
	}
	log.Fatal(fasthttp.ListenAndServe(*addr, h))
}

// writePage writes the page of the fragments' bodies (a comment for each that failed).
func writePage(ctx *fasthttp.RequestCtx, bodies [][]byte) {
	// Writes to a fasthttp response body buffer cannot fail.
	_, _ = ctx.WriteString("<!doctype html>\n<html><head><title>bench</title></head>\n<body>\n")
	for i, b := range bodies {
		if b == nil {
			fmt.Fprintf(ctx, "<!-- %s failed -->", page[i])
		}
		_, _ = ctx.Write(b)
	}
	_, _ = ctx.WriteString("\n</body></html>\n")
}

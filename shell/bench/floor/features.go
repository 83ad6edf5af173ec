package main

import (
	"bytes"
	"crypto/rand"
	"encoding/base64"
	"fmt"
	"log/slog"
	"os"
	"strconv"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/sony/gobreaker/v2"
	"github.com/valyala/fasthttp"

	"github.com/inlay-dev/inlay/fragments"
	"github.com/inlay-dev/inlay/services/kit/logging"
	kitserver "github.com/inlay-dev/inlay/services/kit/server"
)

// fragmentTimeout is every fragment's deadline, as the shell's default.
const fragmentTimeout = 500 * time.Millisecond

// featuresHandler is the -features floor: the page of the plain floor, plus the platform's
// per-page and per-fragment requirements (the package doc), each done once, the simplest way.
func featuresHandler(client *fasthttp.Client, stub, signed string) fasthttp.RequestHandler {
	out := logging.NewBuffered(os.Stderr, 64<<10, 200*time.Millisecond)
	logger := logging.NewWithBuffer(out, "floor", slog.LevelInfo, "json")
	reg := prometheus.NewRegistry()
	pages := prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: "floor_page_duration_seconds", Help: "Page latency.", Buckets: prometheus.DefBuckets}, []string{"route", "status"})
	frags := prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: "floor_fragment_duration_seconds", Help: "Fragment latency by source.", Buckets: prometheus.DefBuckets}, []string{"team", "source"})
	reg.MustRegister(pages, frags)
	breaker := gobreaker.NewCircuitBreaker[[]byte](gobreaker.Settings{Name: "stub", MaxRequests: 1, Timeout: 5 * time.Second,
		ReadyToTrip: func(c gobreaker.Counts) bool { return c.ConsecutiveFailures >= 5 }})
	var secret [32]byte
	_, _ = rand.Read(secret[:])
	csrf := fragments.NewCSRFTokens(secret[:])

	fetch := func(path, query, requestID string) ([]byte, error) {
		return breaker.Execute(func() ([]byte, error) {
			req, resp := fasthttp.AcquireRequest(), fasthttp.AcquireResponse()
			defer fasthttp.ReleaseRequest(req)
			defer fasthttp.ReleaseResponse(resp)
			uri := stub + "/fragments/" + path
			if query != "" {
				uri += "&" + query
			}
			req.SetRequestURI(uri)
			req.Header.Set("Accept", "text/html")
			req.Header.Set(fragments.HeaderRequestID, requestID)
			req.Header.Set(fragments.ContextHeader, signed)
			if err := client.DoDeadline(req, resp, time.Now().Add(fragmentTimeout)); err != nil {
				return nil, err
			}
			body := resp.Body()
			if resp.StatusCode() != fasthttp.StatusOK || !bytes.HasPrefix(resp.Header.ContentType(), []byte("text/html")) || !utf8.Valid(body) {
				return nil, fmt.Errorf("fragment %s: status %d", path, resp.StatusCode())
			}
			return append([]byte(nil), body...), nil
		})
	}

	return func(ctx *fasthttp.RequestCtx) {
		start := time.Now()
		requestID := string(ctx.Request.Header.Peek(fragments.HeaderRequestID))
		if requestID == "" || len(requestID) > 64 {
			requestID = kitserver.NewRequestID() // as the kit makes one
		}
		query := string(ctx.QueryArgs().QueryString())
		bodies := make([][]byte, len(page))
		durs := make([]time.Duration, len(page))
		var wg sync.WaitGroup
		for i, f := range page {
			wg.Go(func() {
				t0 := time.Now()
				b, err := fetch(f, query, requestID)
				durs[i] = time.Since(t0)
				source := "fetch"
				if err != nil {
					source = "fallback"
				}
				frags.WithLabelValues("stub", source).Observe(durs[i].Seconds())
				bodies[i] = b
			})
		}
		// While the fragments are fetched: the page's nonce and a new visitor's CSRF token.
		var nonce [16]byte
		_, _ = rand.Read(nonce[:])
		n := base64.RawURLEncoding.EncodeToString(nonce[:])
		token := csrf.Issue("")
		wg.Wait()

		h := &ctx.Response.Header
		h.SetContentType("text/html; charset=utf-8")
		h.Set(fragments.HeaderRequestID, requestID)
		h.Set("Cache-Control", "private, no-store")
		h.Set("Content-Security-Policy", "default-src 'self'; script-src 'self' 'nonce-"+n+"'; style-src 'self' 'unsafe-inline'; "+
			"img-src 'self' data:; object-src 'none'; base-uri 'self'; form-action 'self'; frame-ancestors 'none'")
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("Referrer-Policy", "strict-origin-when-cross-origin")
		c := fasthttp.AcquireCookie()
		c.SetKey("inlay_csrf")
		c.SetValue(token)
		c.SetPath("/")
		c.SetHTTPOnly(true)
		c.SetSameSite(fasthttp.CookieSameSiteLaxMode)
		h.SetCookie(c)
		fasthttp.ReleaseCookie(c)
		var st strings.Builder
		for i, f := range page {
			if i > 0 {
				st.WriteString(", ")
			}
			st.WriteString("f" + strconv.Itoa(i) + `;desc="stub/` + f[:strings.IndexByte(f, '?')] + ` fetch";dur=` +
				strconv.FormatFloat(float64(durs[i].Microseconds())/1000, 'f', 2, 64))
		}
		h.Set("Server-Timing", st.String())
		writePage(ctx, bodies)

		pages.WithLabelValues("/", "200").Observe(time.Since(start).Seconds())
		rec := slog.NewRecord(time.Now(), slog.LevelInfo, "request", 0)
		rec.AddAttrs(slog.String("method", string(ctx.Method())), slog.String("path", string(ctx.Path())),
			slog.Int("status", ctx.Response.StatusCode()), slog.Duration("duration", time.Since(start)),
			slog.String("request_id", requestID))
		_ = logger.Handler().Handle(ctx, rec)
	}
}

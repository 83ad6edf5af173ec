package server

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/valyala/fasthttp"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/trace"
	"go.opentelemetry.io/otel/trace/noop"

	"github.com/inlay-dev/inlay/services/kit/server"
	"github.com/inlay-dev/inlay/services/kit/tracing"
	"github.com/inlay-dev/inlay/services/kit/tracing/otlpwire"
	"github.com/inlay-dev/inlay/shell"
)

// BenchmarkPageTracing is the shell's whole handler chain for the six-fragment bench page,
// uncached (every fragment fetched from a loopback server), in memory on the shell's side, with
// tracing off (the no-op provider), on with sampling 0, on with the default sampler (parent-based,
// 10% of new traces) and on with every trace sampled, batched and exported over OTLP/HTTP (protobuf)
// to a loopback receiver that reads and drops each batch — the exporter's encoding is most of what a
// sampled span costs. It shows the CPU time and allocations tracing adds per page (run it with
// -cpu 1 for ns/op to include the exporter's goroutine); shell/bench/tracing.sh measures it over
// sockets.
func BenchmarkPageTracing(b *testing.B) {
	stub := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		name := strings.TrimPrefix(r.URL.Path, "/fragments/")
		size := map[string]int{"header": 2048, "product": 8192, "availability": 1024, "addtocart": 1024, "recommendations": 4096, "footer": 2048}[name]
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		fmt.Fprint(w, "<section>"+strings.Repeat("<p>lorem ipsum dolor sit amet</p>", size/32)+"</section>")
	}))
	defer stub.Close()
	dir := b.TempDir()
	writeBenchPage(b, dir)
	sink := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
	}))
	defer sink.Close()
	// The providers as tracing.New builds them, exporting to sink.
	sdk := func(sampler, arg string) func() (trace.TracerProvider, func()) {
		return func() (trace.TracerProvider, func()) {
			s, err := tracing.Sampler(sampler, arg)
			if err != nil {
				b.Fatal(err)
			}
			exp := otlpwire.New(otlpwire.Config{URL: sink.URL + "/v1/traces"})
			tp := sdktrace.NewTracerProvider(sdktrace.WithBatcher(exp), sdktrace.WithSampler(s))
			stop := func() { _ = tp.Shutdown(context.Background()) }
			if tracing.ParentBased(sampler) {
				return tracing.FollowParent(tp), stop
			}
			return tp, stop
		}
	}
	for _, tc := range []struct {
		name string
		tp   func() (trace.TracerProvider, func())
	}{
		{"off", func() (trace.TracerProvider, func()) { return noop.NewTracerProvider(), func() {} }},
		{"sampling-0", sdk("parentbased_traceidratio", "0")},
		{"default-10%", sdk("parentbased_traceidratio", "0.1")},
		{"sampling-1", sdk("always_on", "")},
	} {
		b.Run(tc.name, func(b *testing.B) {
			tp, stop := tc.tp()
			defer stop()
			t := &testing.T{}
			s := startShellTraced(t, map[string]string{"stub": stub.URL}, nil, shell.Page{}, func(c *Config) {
				c.PagesDir = dir
				c.Cache = false
			}, tp)
			// Info, as deployed: every request logs a line (with the trace's ids when there is a span).
			log := slog.New(slog.NewJSONHandler(discardWriter{}, &slog.HandlerOptions{Level: slog.LevelInfo}))
			srv := server.New(server.Options{Name: "bench", Log: log, Tracer: tp})
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
			run()
			b.ReportAllocs()
			b.ResetTimer()
			for b.Loop() {
				run()
			}
		})
	}
}

type discardWriter struct{}

func (discardWriter) Write(p []byte) (int, error) { return len(p), nil }

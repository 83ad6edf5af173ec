package server

import (
	"bytes"
	"context"
	"encoding/json"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/gofiber/fiber/v2"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"

	"github.com/inlay-dev/inlay/services/kit/kittest"
	"github.com/inlay-dev/inlay/services/kit/logging"
	kitserver "github.com/inlay-dev/inlay/services/kit/server"
	"github.com/inlay-dev/inlay/services/kit/tracing"
	"github.com/inlay-dev/inlay/shell"
)

// lockedBuffer is a log sink a server's goroutines write while the test reads it.
type lockedBuffer struct{ kittest.SyncBuffer }

// requestLines returns the "request" log lines for path, decoded.
func (l *lockedBuffer) requestLines(t *testing.T, path string) []map[string]any {
	t.Helper()
	var out []map[string]any
	for _, line := range bytes.Split([]byte(l.String()), []byte("\n")) {
		if len(line) == 0 {
			continue
		}
		var rec map[string]any
		if err := json.Unmarshal(line, &rec); err != nil {
			t.Fatalf("log line %q: %v", line, err)
		}
		if rec["msg"] == "request" && rec["path"] == path {
			out = append(out, rec)
		}
	}
	return out
}

// startKitTeam runs a team on the kit's server (its tracing middleware and access log, tracing
// off as a team without an OTLP endpoint runs) serving one fragment; it returns its URL and log.
func startKitTeam(t *testing.T) (string, *lockedBuffer) {
	t.Helper()
	logs := &lockedBuffer{}
	srv := kitserver.New(kitserver.Options{Name: "decide", Log: logging.New(logs, "decide", nil)})
	srv.App.Get("/fragments/product", func(c *fiber.Ctx) error {
		c.Type("html")
		return c.SendString("<article>P</article>")
	})
	ctx, cancel := context.WithCancel(context.Background())
	addr := make(chan net.Addr, 1)
	done := make(chan error, 1)
	go func() { done <- srv.Serve(ctx, "127.0.0.1:0", time.Second, func(a net.Addr) { addr <- a }) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("team: %v", err)
		}
	})
	return "http://" + (<-addr).String(), logs
}

// The trace id of a page is on the team's log line for its fragment: the browser's when it sent a
// traceparent (tracing off in the shell), the shell's own trace when it starts one, sampled or not.
func TestTeamLogLinesCarryThePageTrace(t *testing.T) {
	const doc = `<!doctype html><html><head><title>t</title></head><body><inlay-fragment src="decide/product" primary></inlay-fragment></body></html>`
	teamLog := func(t *testing.T, logs *lockedBuffer) string {
		t.Helper()
		lines := logs.requestLines(t, "/fragments/product")
		if len(lines) != 1 {
			t.Fatalf("%d request lines for the fragment at the team, want 1", len(lines))
		}
		id, _ := lines[0]["trace_id"].(string)
		return id
	}
	page := func(t *testing.T, url string, hdr map[string]string) {
		t.Helper()
		resp, body := get(t, url+"/p", hdr)
		if resp.StatusCode != 200 || !strings.Contains(body, "<article>P</article>") {
			t.Fatalf("page: %d %s", resp.StatusCode, body)
		}
	}

	t.Run("BrowserTraceTracingOff", func(t *testing.T) {
		team, logs := startKitTeam(t)
		s := startShellTraced(t, map[string]string{"decide": team}, []shell.Page{rawPage("/p", doc)}, shell.Page{}, nil, nil)
		page(t, s.url, map[string]string{"traceparent": "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"})
		if got := teamLog(t, logs); got != "4bf92f3577b34da6a3ce929d0e0e4736" {
			t.Errorf("team's log line has trace_id %q, want the browser's", got)
		}
	})

	t.Run("ShellTraceSampled", func(t *testing.T) {
		exp := tracetest.NewInMemoryExporter()
		tp := sdktrace.NewTracerProvider(sdktrace.WithSyncer(exp))
		defer func() { _ = tp.Shutdown(context.Background()) }()
		team, logs := startKitTeam(t)
		s := startShellTraced(t, map[string]string{"decide": team}, []shell.Page{rawPage("/p", doc)}, shell.Page{}, nil, tp)
		page(t, s.url, nil)
		var server *tracetest.SpanStub
		for _, sp := range exp.GetSpans() {
			if sp.SpanKind == trace.SpanKindServer {
				server = &sp
			}
		}
		if server == nil {
			t.Fatal("the shell made no server span")
		}
		if got := teamLog(t, logs); got != server.SpanContext.TraceID().String() {
			t.Errorf("team's log line has trace_id %q, want the shell's %s", got, server.SpanContext.TraceID())
		}
	})

	// Unsampled under the default parent-based sampler: the shell makes no span below its server
	// span (tracing.FollowParent), and the trace id still reaches the team.
	t.Run("ShellTraceUnsampled", func(t *testing.T) {
		sampler, err := tracing.Sampler("parentbased_traceidratio", "0")
		if err != nil {
			t.Fatal(err)
		}
		sdk := sdktrace.NewTracerProvider(sdktrace.WithSampler(sampler))
		defer func() { _ = sdk.Shutdown(context.Background()) }()
		team, logs := startKitTeam(t)
		s := startShellTraced(t, map[string]string{"decide": team}, []shell.Page{rawPage("/p", doc)}, shell.Page{}, nil, tracing.FollowParent(sdk))
		page(t, s.url, nil)
		if got := teamLog(t, logs); len(got) != 32 || got == strings.Repeat("0", 32) {
			t.Errorf("team's log line has trace_id %q, want the shell's unsampled trace", got)
		}
	})
}

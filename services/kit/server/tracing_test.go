package server_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http/httptest"
	"testing"

	"github.com/gofiber/fiber/v2"
	"github.com/prometheus/client_golang/prometheus/testutil"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"

	"github.com/inlay-dev/inlay/services/kit/logging"
	"github.com/inlay-dev/inlay/services/kit/server"
)

// A request gets a server span named after its route, continuing the caller's traceparent, and the
// handler's log lines carry its ids.
func TestServerSpan(t *testing.T) {
	exp := tracetest.NewInMemoryExporter()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSyncer(exp))
	defer func() { _ = tp.Shutdown(context.Background()) }()
	var logs bytes.Buffer
	log := logging.New(&logs, "test", nil)
	s := server.New(server.Options{Name: "test", Log: log, Tracer: tp})
	var inHandler trace.SpanContext
	s.App.Get("/products/:sku", func(c *fiber.Ctx) error {
		inHandler = trace.SpanContextFromContext(c.UserContext())
		return c.SendStatus(503)
	})

	req := httptest.NewRequest("GET", "/products/SKU-1", nil)
	req.Header.Set("traceparent", "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01")
	resp, err := s.App.Test(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if _, err := s.App.Test(httptest.NewRequest("GET", "/healthz", nil)); err != nil {
		t.Fatal(err)
	}

	spans := exp.GetSpans()
	if len(spans) != 1 {
		t.Fatalf("%d spans, want 1 (none for /healthz): %v", len(spans), spans)
	}
	sp := spans[0]
	if sp.Name != "GET /products/:sku" || sp.SpanKind != trace.SpanKindServer {
		t.Errorf("span %q kind %v", sp.Name, sp.SpanKind)
	}
	if sp.SpanContext.TraceID().String() != "4bf92f3577b34da6a3ce929d0e0e4736" || sp.Parent.SpanID().String() != "00f067aa0ba902b7" {
		t.Errorf("span does not continue the incoming trace: trace %s parent %s", sp.SpanContext.TraceID(), sp.Parent.SpanID())
	}
	if inHandler.SpanID() != sp.SpanContext.SpanID() {
		t.Errorf("handler's context holds span %s, want %s", inHandler.SpanID(), sp.SpanContext.SpanID())
	}
	var status int64
	for _, a := range sp.Attributes {
		if a.Key == "http.response.status_code" {
			status = a.Value.AsInt64()
		}
	}
	if status != 503 || sp.Status.Code.String() != "Error" {
		t.Errorf("status attribute %d, span status %v", status, sp.Status)
	}
	var rec map[string]any
	if err := json.Unmarshal(bytes.SplitN(logs.Bytes(), []byte("\n"), 2)[0], &rec); err != nil {
		t.Fatal(err)
	}
	if rec["msg"] != "request" || rec["trace_id"] != "4bf92f3577b34da6a3ce929d0e0e4736" || rec["span_id"] != sp.SpanContext.SpanID().String() {
		t.Errorf("access log line %v lacks the span's ids", rec)
	}
}

func TestMetricsLint(t *testing.T) {
	s := server.New(server.Options{Name: "test", Log: logging.New(io.Discard, "test", nil)})
	s.App.Get("/x", func(c *fiber.Ctx) error { return c.SendString("x") })
	if _, err := s.App.Test(httptest.NewRequest("GET", "/x", nil)); err != nil {
		t.Fatal(err)
	}
	problems, err := testutil.GatherAndLint(s.Registry)
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range problems {
		t.Errorf("metric %s: %s", p.Metric, p.Text)
	}
}

package server

import (
	"context"

	"github.com/gofiber/fiber/v2"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/trace"

	"github.com/inlay-dev/inlay/services/kit/tracing"
)

// Server spans: a small Fiber middleware rather than otelfiber, whose last release for Fiber v2
// is built on OpenTelemetry 1.19 with the global providers and a metrics SDK Inlay does not use.

// traced reports whether a request to path gets a span: not the probes' and scrapes'.
func traced(path string) bool {
	return path != "/healthz" && path != "/readyz" && path != "/metrics"
}

// headerCarrier reads a request's headers for the propagator.
type headerCarrier struct{ c *fiber.Ctx }

func (h headerCarrier) Get(key string) string { return h.c.Get(key) }
func (h headerCarrier) Set(string, string)    {}
func (h headerCarrier) Keys() []string        { return []string{"traceparent", "tracestate"} }

// startServerSpan starts the span of the request c serves, as a child of the browser's or the
// calling process's traceparent when it sent one.
func startServerSpan(ctx context.Context, tracer trace.Tracer, c *fiber.Ctx) (context.Context, trace.Span) {
	if len(c.Request().Header.Peek("traceparent")) > 0 {
		ctx = tracing.Propagator.Extract(ctx, headerCarrier{c})
	}
	// The route is known only once routed: the name is set again when the span ends.
	return tracer.Start(ctx, methodLabel(c.Request().Header.Method()), trace.WithSpanKind(trace.SpanKindServer))
}

// endServerSpan names the span after its route and records the response's status.
func endServerSpan(span trace.Span, c *fiber.Ctx, route string, status int) {
	if span == nil {
		return
	}
	defer span.End()
	if !span.IsRecording() {
		return
	}
	method := methodLabel(c.Request().Header.Method())
	span.SetName(method + " " + route)
	span.SetAttributes(
		attribute.String("http.request.method", method),
		attribute.String("http.route", route),
		attribute.String("url.path", string(c.Request().URI().Path())),
		attribute.Int("http.response.status_code", status),
	)
	if status >= 500 {
		span.SetStatus(codes.Error, "")
	}
}

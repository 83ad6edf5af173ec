package fragments

import (
	"context"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/trace"
)

// traceScope is the instrumentation scope of the client's spans.
const traceScope = "github.com/inlay-dev/inlay/fragments"

// clientSpan is the client spans' start option, made once.
var clientSpan = []trace.SpanStartOption{trace.WithSpanKind(trace.SpanKindClient)}

// startSpan starts r's client span (when the client has a tracer and r is not Traced by its caller)
// and points r's traceparent at it, or at ctx's span: the team's server span continues the caller's
// trace.
func (c *Client) startSpan(ctx context.Context, r *FetchRequest) trace.Span {
	var span trace.Span
	if c.tracer != nil && !r.Traced {
		ctx, span = c.tracer.Start(ctx, "GET", clientSpan...)
		if span.IsRecording() { // named once it records: an unsampled request builds no names
			span.SetName("GET " + r.Team + " " + r.Path)
			span.SetAttributes(attribute.String("http.request.method", "GET"), attribute.String("inlay.team", r.Team),
				attribute.String("url.path", r.Path))
		}
	}
	if sc := trace.SpanContextFromContext(ctx); sc.IsValid() {
		r.Forwarded.Traceparent = traceparent(sc)
	}
	return span
}

func endSpan(span trace.Span, resp *FetchResponse, err error) {
	if span == nil {
		return
	}
	if span.IsRecording() {
		if resp != nil {
			span.SetAttributes(attribute.Int("http.response.status_code", resp.Status))
		}
		if err != nil {
			span.SetStatus(codes.Error, err.Error())
		}
	}
	span.End()
}

// traceparent is sc as a W3C traceparent header.
func traceparent(sc trace.SpanContext) string {
	const hexDigits = "0123456789abcdef"
	b := make([]byte, 0, 55)
	b = append(b, "00-"...)
	tid, sid := sc.TraceID(), sc.SpanID()
	for _, x := range tid {
		b = append(b, hexDigits[x>>4], hexDigits[x&0xf])
	}
	b = append(b, '-')
	for _, x := range sid {
		b = append(b, hexDigits[x>>4], hexDigits[x&0xf])
	}
	f := sc.TraceFlags()
	b = append(b, '-', hexDigits[f>>4], hexDigits[f&0xf])
	return string(b)
}

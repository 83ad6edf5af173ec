// Package logging builds the JSON slog logger every process uses and carries request-scoped
// attributes (request id) and the trace and span ids of the context's span through context.Context.
package logging

import (
	"context"
	"io"
	"log/slog"

	"go.opentelemetry.io/otel/trace"
)

type attrsKey struct{}

// New returns a JSON logger writing to w at the given level, tagged with the service name. Records
// logged with a context carry the attributes added to it with With, and the trace_id and span_id of
// the context's span when it has one.
func New(w io.Writer, service string, level slog.Leveler) *slog.Logger {
	return NewFormat(w, service, level, "json")
}

// NewFormat is New with the format: "json" or "text" (slog's key=value lines, easier to read in a
// terminal: LOG_FORMAT=text).
func NewFormat(w io.Writer, service string, level slog.Leveler, format string) *slog.Logger {
	return slog.New(contextHandler{handler(w, level, format)}).With("service", service)
}

// handler is slog's JSON handler, or its text handler for format "text".
func handler(w io.Writer, level slog.Leveler, format string) slog.Handler {
	opts := &slog.HandlerOptions{Level: level}
	if format == "text" {
		return slog.NewTextHandler(w, opts)
	}
	return slog.NewJSONHandler(w, opts)
}

// With returns a copy of ctx whose log records also carry attrs.
func With(ctx context.Context, attrs ...slog.Attr) context.Context {
	prev, _ := ctx.Value(attrsKey{}).([]slog.Attr)
	next := make([]slog.Attr, 0, len(prev)+len(attrs))
	next = append(next, prev...)
	next = append(next, attrs...)
	return context.WithValue(ctx, attrsKey{}, next)
}

// contextHandler adds the attributes stored in the record's context.
type contextHandler struct{ slog.Handler }

func (h contextHandler) Handle(ctx context.Context, r slog.Record) error {
	if attrs, ok := ctx.Value(attrsKey{}).([]slog.Attr); ok {
		r.AddAttrs(attrs...)
	}
	if sc := trace.SpanContextFromContext(ctx); sc.IsValid() {
		r.AddAttrs(slog.String("trace_id", sc.TraceID().String()), slog.String("span_id", sc.SpanID().String()))
	}
	return h.Handler.Handle(ctx, r)
}

func (h contextHandler) WithAttrs(attrs []slog.Attr) slog.Handler {
	return contextHandler{h.Handler.WithAttrs(attrs)}
}

func (h contextHandler) WithGroup(name string) slog.Handler {
	return contextHandler{h.Handler.WithGroup(name)}
}

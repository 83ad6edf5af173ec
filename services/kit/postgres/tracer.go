package postgres

import (
	"context"

	"github.com/exaring/otelpgx"
	"github.com/jackc/pgx/v5"
	"go.opentelemetry.io/otel/trace"
)

// Tracer returns a pgx tracer (Options.Tracer) making otelpgx spans of the queries, batches, copies
// and prepares run inside a span: a request's or an event handler's. Queries outside any trace (the
// relay's polling, the consumer's inbox bookkeeping, migrations) make no root traces of their own.
func Tracer(tp trace.TracerProvider) pgx.QueryTracer {
	return inSpan{otelpgx.NewTracer(otelpgx.WithTracerProvider(tp),
		otelpgx.WithDisableConnectionDetailsInAttributes())}
}

// inSpan passes to otelpgx only what runs in a span; skipped marks a context whose start it skipped,
// so the end does not end the caller's span.
type inSpan struct{ t *otelpgx.Tracer }

type skipped struct{}

func (s inSpan) skip(ctx context.Context) bool { return !trace.SpanContextFromContext(ctx).IsValid() }

func (s inSpan) TraceQueryStart(ctx context.Context, conn *pgx.Conn, data pgx.TraceQueryStartData) context.Context {
	if s.skip(ctx) {
		return context.WithValue(ctx, skipped{}, true)
	}
	return s.t.TraceQueryStart(ctx, conn, data)
}

func (s inSpan) TraceQueryEnd(ctx context.Context, conn *pgx.Conn, data pgx.TraceQueryEndData) {
	if ctx.Value(skipped{}) == nil {
		s.t.TraceQueryEnd(ctx, conn, data)
	}
}

func (s inSpan) TraceBatchStart(ctx context.Context, conn *pgx.Conn, data pgx.TraceBatchStartData) context.Context {
	if s.skip(ctx) {
		return context.WithValue(ctx, skipped{}, true)
	}
	return s.t.TraceBatchStart(ctx, conn, data)
}

func (s inSpan) TraceBatchQuery(ctx context.Context, conn *pgx.Conn, data pgx.TraceBatchQueryData) {
	if ctx.Value(skipped{}) == nil {
		s.t.TraceBatchQuery(ctx, conn, data)
	}
}

func (s inSpan) TraceBatchEnd(ctx context.Context, conn *pgx.Conn, data pgx.TraceBatchEndData) {
	if ctx.Value(skipped{}) == nil {
		s.t.TraceBatchEnd(ctx, conn, data)
	}
}

func (s inSpan) TraceCopyFromStart(ctx context.Context, conn *pgx.Conn, data pgx.TraceCopyFromStartData) context.Context {
	if s.skip(ctx) {
		return context.WithValue(ctx, skipped{}, true)
	}
	return s.t.TraceCopyFromStart(ctx, conn, data)
}

func (s inSpan) TraceCopyFromEnd(ctx context.Context, conn *pgx.Conn, data pgx.TraceCopyFromEndData) {
	if ctx.Value(skipped{}) == nil {
		s.t.TraceCopyFromEnd(ctx, conn, data)
	}
}

func (s inSpan) TracePrepareStart(ctx context.Context, conn *pgx.Conn, data pgx.TracePrepareStartData) context.Context {
	if s.skip(ctx) {
		return context.WithValue(ctx, skipped{}, true)
	}
	return s.t.TracePrepareStart(ctx, conn, data)
}

func (s inSpan) TracePrepareEnd(ctx context.Context, conn *pgx.Conn, data pgx.TracePrepareEndData) {
	if ctx.Value(skipped{}) == nil {
		s.t.TracePrepareEnd(ctx, conn, data)
	}
}

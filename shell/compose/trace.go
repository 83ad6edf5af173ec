// Fragment spans: one per slot, a child of the page's span, with the fragment's outcome and its
// team's version. When the slot fetches, its span also records the request (FetchRequest.Traced: the
// fragments client makes no span of its own, and the slot's span gets the path and status), so a
// sampled page is one span per fragment; the team's server span is its child.

package compose

import (
	"context"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/trace"
)

// Outcome names for a slot, as its span and Server-Timing report them.
const (
	OutcomeTimeout     = "timeout"
	OutcomeBreakerOpen = "breaker-open"
)

// outcome is the slot's source, or the reason it fell back: fetch, cache, stale, fallback,
// timeout, breaker-open or failed.
func (s *slot) outcome() string {
	if s.source == SourceFallback && s.reason != "" {
		return s.reason
	}
	return s.source.String()
}

func (s *slot) spanName() string {
	if s.ref.team == nil {
		return "fragment"
	}
	return "fragment " + s.ref.team.Name + "/" + s.ref.name
}

// startSpan starts the span of a slot that fetches and returns the context its fetch runs in.
func (c *Composition) startSpan(s *slot) context.Context {
	if !c.traced {
		// An unsampled page (or tracing off) starts no span: even a span that does not record costs
		// a context per fragment, and its fetch forwards the page's span context as it would.
		return c.ctx
	}
	// Named once it records.
	ctx, span := c.e.opts.Tracer.Start(c.ctx, "fragment")
	if span.IsRecording() {
		span.SetName(s.spanName())
		s.span = span
	}
	return ctx
}

// endSpan ends a finished slot's span, or records one for a slot that never fetched (a cached
// copy, a bad src), when the page's span is sampled. Its attributes are set in one call, only those
// that say something (no empty version, primary only when true, depth only when nested): every
// attribute of a sampled span is copied, deduplicated and encoded for export.
func (c *Composition) endSpan(s *slot) {
	span := s.span
	if span == nil {
		if !trace.SpanFromContext(c.ctx).IsRecording() {
			return
		}
		_, span = c.e.opts.Tracer.Start(c.ctx, s.spanName(), trace.WithTimestamp(c.e.opts.Now().Add(-s.dur)))
	}
	attrs := make([]attribute.KeyValue, 0, 7)
	attrs = append(attrs, attribute.String("inlay.fragment.outcome", s.outcome()))
	if s.ref.team != nil {
		attrs = append(attrs, attribute.String("inlay.team", s.ref.team.Name))
	} else {
		attrs = append(attrs, attribute.String("inlay.fragment", s.tag.Src))
	}
	if s.version != "" {
		attrs = append(attrs, attribute.String("inlay.team.version", s.version))
	}
	if s.span != nil && s.source != SourceCache && s.source != SourceStale { // the request it made (FetchRequest.Traced)
		attrs = append(attrs, attribute.String("url.path", s.ref.path))
		if s.httpStatus != 0 {
			attrs = append(attrs, attribute.Int("http.response.status_code", s.httpStatus))
		}
	}
	if s.tag.Primary {
		attrs = append(attrs, attribute.Bool("inlay.fragment.primary", true))
	}
	if s.depth > 0 {
		attrs = append(attrs, attribute.Int("inlay.fragment.depth", s.depth))
	}
	span.SetAttributes(attrs...)
	if s.source == SourceFailed || s.source == SourceFallback {
		msg := s.outcome()
		if s.cause != nil {
			msg = s.cause.Error()
		}
		span.SetStatus(codes.Error, msg)
	}
	span.End()
}

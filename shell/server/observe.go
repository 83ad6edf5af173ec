package server

import (
	"bytes"
	"io"

	"github.com/gofiber/fiber/v2"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/trace"
)

// A page's outcome, for its span and the inlay_page_duration_seconds metric.
const (
	pageOK          = "ok"          // every fragment fetched, cached or stale
	pageDegraded    = "degraded"    // a fragment fell back (timeout, breaker open, error)
	pageUnavailable = "unavailable" // the primary fragment failed: 503
	pageNotFound    = "not_found"
	pageClientError = "client_error" // the primary's team refused the request (a 4xx other than 404)
	pageRedirect    = "redirect"
	pageShed        = "shed" // past INLAY_MAX_PAGES for INLAY_PAGE_WAIT: 503, nothing composed
)

// endPageSpan ends a page's span with its outcome (the route is in its name and on its parent, the
// server span).
func endPageSpan(span trace.Span, outcome string) {
	if span.IsRecording() {
		span.SetAttributes(attribute.String("inlay.page.outcome", outcome))
		if outcome == pageUnavailable {
			span.SetStatus(codes.Error, "primary fragment failed")
		}
	}
	span.End()
}

// acceptsTrailers reports a client that said it reads trailers (TE: trailers).
func acceptsTrailers(c *fiber.Ctx) bool {
	for _, v := range bytes.Split(c.Request().Header.Peek("TE"), []byte(",")) {
		if name, _, _ := bytes.Cut(bytes.TrimSpace(v), []byte(";")); bytes.EqualFold(bytes.TrimSpace(name), []byte("trailers")) {
			return true
		}
	}
	return false
}

// trailerStream is a streamed page's body: when the page has been read to its end, last sets the
// trailer's value. fasthttp reads the stream and then writes the trailer on its own goroutine, so
// the header is not touched while it writes the head.
type trailerStream struct {
	io.ReadCloser
	last func()
}

func (t *trailerStream) Read(p []byte) (int, error) {
	n, err := t.ReadCloser.Read(p)
	if err == io.EOF && t.last != nil {
		t.last()
		t.last = nil
	}
	return n, err
}

package compose

import (
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"
)

// TestOutcomeCachePolicy checks that a composition reports its primary's Cache-Control and ETag
// (what bff/embed answers with): the team's own when fetched, the time left when served from the
// cache, and that FellBack tells a nested fallback.
func TestOutcomeCachePolicy(t *testing.T) {
	team := newFakeTeam(t)
	team.handle("card", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		w.Header().Set("Cache-Control", "public, max-age=60, stale-while-revalidate=300")
		w.Header().Set("ETag", `"v1"`)
		_, _ = w.Write([]byte(`<p>card</p><inlay-fragment src="t/nested">nested fallback</inlay-fragment>`))
	})
	team.handle("nested", func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(http.StatusInternalServerError) })
	h := newHarness(t, map[string]*fakeTeam{"t": team}, harnessOptions{cache: true})
	doc := fmt.Sprintf(page, `<inlay-fragment src="t/card" primary></inlay-fragment>`)

	out, body, c := h.compose(doc, Request{Locale: "en"})
	if out.CacheControl != "public, max-age=60, stale-while-revalidate=300" || out.ETag != `"v1"` {
		t.Errorf("fetched: Cache-Control %q, ETag %q", out.CacheControl, out.ETag)
	}
	if !c.FellBack() {
		t.Errorf("FellBack false, but the nested fragment failed: %s", body)
	}

	h.now.Advance(20 * time.Second)
	out, _, _ = h.compose(doc, Request{Locale: "en"})
	if out.CacheControl != "public, max-age=40, stale-while-revalidate=300" || out.ETag != `"v1"` {
		t.Errorf("cached: Cache-Control %q, ETag %q", out.CacheControl, out.ETag)
	}

	team.html("plain", "<p>plain</p>", "public, max-age=60")
	_, _, c = h.compose(fmt.Sprintf(page, `<inlay-fragment src="t/plain" primary></inlay-fragment>`), Request{Locale: "en"})
	if c.FellBack() {
		t.Error("FellBack true for a page whose fragments all arrived")
	}
}

func TestWriteMillis(t *testing.T) {
	for _, c := range []struct {
		d    time.Duration
		want string
	}{
		{0, "0.00"},
		{-time.Millisecond, "0.00"},
		{4 * time.Microsecond, "0.00"},
		{5 * time.Microsecond, "0.01"},
		{1234 * time.Microsecond, "1.23"},
		{1235 * time.Microsecond, "1.24"},
		{1500 * time.Microsecond, "1.50"},
		{999996 * time.Microsecond, "1000.00"},
		{12345678 * time.Microsecond, "12345.68"},
	} {
		var b strings.Builder
		writeMillis(&b, c.d)
		if b.String() != c.want {
			t.Errorf("writeMillis(%v) = %q, want %q", c.d, b.String(), c.want)
		}
	}
}

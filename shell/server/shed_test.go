package server

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"

	"github.com/inlay-dev/inlay/shell"
)

// TestPagesPastTheLimitAreShed: with INLAY_MAX_PAGES=1, a second page while the first is being
// composed waits INLAY_PAGE_WAIT and is then answered 503 with Retry-After and the shell's own page,
// without a fragment request; once the first page has ended, the next one is composed again. An
// API request through the proxy is not a page and is never shed.
func TestPagesPastTheLimitAreShed(t *testing.T) {
	decide := newTeam(t)
	arrived := make(chan struct{}, 4)
	finish := make(chan struct{})
	decide.handle("/fragments/slow", func(w http.ResponseWriter, r *http.Request) {
		arrived <- struct{}{}
		<-finish
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		_, _ = w.Write([]byte("<p>slow</p>"))
	})
	decide.fragment("fast", "<p>fast</p>")
	doc := `<!doctype html><html><head><title>t</title></head><body>` +
		`<inlay-fragment src="decide/slow" primary></inlay-fragment></body></html>`
	fast := `<!doctype html><html><head><title>t</title></head><body>` +
		`<inlay-fragment src="decide/fast" primary></inlay-fragment></body></html>`
	s := startShell(t, map[string]*team{"decide": decide}, []shell.Page{rawPage("/slow", doc), rawPage("/fast", fast)},
		func(c *Config) {
			c.MaxPages = 1
			c.PageWait = 20 * time.Millisecond
		})

	first := make(chan string, 1)
	go func() {
		resp, body := get(t, s.url+"/slow", nil)
		first <- resp.Status + " " + body
	}()
	select {
	case <-arrived: // the first page holds the only slot until finish is closed
	case <-time.After(10 * time.Second):
		t.Fatal("the first page's fragment was never requested")
	}

	resp, body := get(t, s.url+"/fast", nil)
	if resp.StatusCode != http.StatusServiceUnavailable || resp.Header.Get("Retry-After") != "1" ||
		!strings.Contains(body, "busy") || strings.Contains(body, "<p>fast</p>") {
		t.Errorf("a page past the limit: %s, Retry-After %q, body %q; want 503, Retry-After 1 and the shell's busy page",
			resp.Status, resp.Header.Get("Retry-After"), body)
	}
	decide.mu.Lock()
	for _, r := range decide.requests {
		if r.URL.Path == "/fragments/fast" {
			t.Error("the shed page requested its fragment")
		}
	}
	decide.mu.Unlock()

	close(finish)
	if got := <-first; !strings.HasPrefix(got, "200") || !strings.Contains(got, "<p>slow</p>") {
		t.Errorf("the page that held the slot: %q, want 200 with its fragment", got)
	}
	// The slot is given back when the page has been written: the next page is composed.
	resp, body = get(t, s.url+"/fast", nil)
	if resp.StatusCode != http.StatusOK || !strings.Contains(body, "<p>fast</p>") {
		t.Errorf("after the first page ended: %s %q, want 200 with its fragment", resp.Status, body)
	}
	var m dto.Metric
	if err := s.shell.metrics.pages.WithLabelValues("/fast", pageShed).(prometheus.Histogram).Write(&m); err != nil {
		t.Fatal(err)
	}
	if n := m.GetHistogram().GetSampleCount(); n != 1 {
		t.Errorf("inlay_page_duration_seconds{route=/fast,outcome=shed} counted %d pages, want 1", n)
	}
}

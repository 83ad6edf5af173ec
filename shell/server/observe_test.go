package server

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	dto "github.com/prometheus/client_model/go"
	"github.com/sony/gobreaker/v2"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"

	"github.com/inlay-dev/inlay/fragments"
	"github.com/inlay-dev/inlay/services/kit/config"
	"github.com/inlay-dev/inlay/shell"
	"github.com/inlay-dev/inlay/shell/compose"
)

const slowDoc = `<!doctype html><html><head><title>t</title></head><body>` +
	`<inlay-fragment src="decide/product" primary></inlay-fragment>` +
	`<inlay-fragment src="explore/header"></inlay-fragment>` +
	`<inlay-fragment src="inspire/recs"><p>no recs</p></inlay-fragment></body></html>`

// slowTeams serves a primary at once, a header only once released, and a recommendations team that
// is down: the page streams, and its last fragments finish after the head.
func slowTeams(t *testing.T) (map[string]string, func()) {
	explore, decide := newTeam(t), newTeam(t)
	release := make(chan struct{})
	var once sync.Once
	unblock := func() { once.Do(func() { close(release) }) }
	t.Cleanup(unblock)
	decide.fragment("product", "<article>P</article>")
	explore.handle("/fragments/header", func(w http.ResponseWriter, r *http.Request) {
		<-release
		w.Header().Set("Content-Type", "text/html")
		fmt.Fprint(w, "<header>slow</header>")
	})
	return map[string]string{"explore": explore.srv.URL, "decide": decide.srv.URL, "inspire": "http://127.0.0.1:1"}, unblock
}

// A streamed page's Server-Timing names every fragment, those finished after the head included: in
// the trailer for a client that sent TE: trailers, else at the end of a ?debug=fragments page.
func TestServerTimingAfterTheHead(t *testing.T) {
	teams, unblock := slowTeams(t)
	s := startShellURLs(t, teams, []shell.Page{rawPage("/p", slowDoc)}, shell.Page{}, nil)

	req, _ := http.NewRequest(http.MethodGet, s.url+"/p", nil)
	req.Header.Set("TE", "trailers")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	if head := resp.Header.Get("Server-Timing"); strings.Contains(head, "explore/header") {
		t.Errorf("head's Server-Timing %q names a fragment that had not arrived", head)
	}
	unblock()
	body, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil || !strings.Contains(string(body), "<header>slow</header>") {
		t.Fatalf("body %q: %v", body, err)
	}
	st := resp.Trailer.Get("Server-Timing")
	for _, want := range []string{"decide/product fetch", "explore/header fetch", "inspire/recs fallback"} {
		if !strings.Contains(st, want) {
			t.Errorf("trailer Server-Timing %q lacks %q", st, want)
		}
	}

	teams, unblock = slowTeams(t)
	s = startShellURLs(t, teams, []shell.Page{rawPage("/p", slowDoc)}, shell.Page{}, nil)
	resp, err = http.Get(s.url + "/p?debug=fragments")
	if err != nil {
		t.Fatal(err)
	}
	unblock()
	body, err = io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil {
		t.Fatal(err)
	}
	if len(resp.Trailer) != 0 {
		t.Errorf("trailers %v sent to a client that did not ask", resp.Trailer)
	}
	i := strings.Index(string(body), `<inlay-server-timing hidden data-value="`)
	if i < 0 || !strings.Contains(string(body[i:]), "explore/header fetch") || !strings.Contains(string(body[i:]), "inspire/recs fallback") {
		t.Errorf("debug page lacks the full Server-Timing: %s", body)
	}
	var m dto.Metric
	if err := s.shell.metrics.pages.WithLabelValues("/p", pageDegraded).(prometheus.Histogram).Write(&m); err != nil {
		t.Fatal(err)
	}
	if n := m.GetHistogram().GetSampleCount(); n != 1 {
		t.Errorf("inlay_page_duration_seconds{route=/p,outcome=degraded} counted %d pages, want 1", n)
	}
}

// The page's span holds one span per fragment with its outcome and team version, which also records
// the fragment's request (path, status).
func TestPageSpans(t *testing.T) {
	exp := tracetest.NewInMemoryExporter()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSyncer(exp))
	defer func() { _ = tp.Shutdown(context.Background()) }()
	teams, unblock := slowTeams(t)
	unblock()
	s := startShellTraced(t, teams, []shell.Page{rawPage("/p", slowDoc)}, shell.Page{}, nil, tp)
	resp, body := get(t, s.url+"/p", map[string]string{"traceparent": "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"})
	if resp.StatusCode != 200 {
		t.Fatalf("status %d: %s", resp.StatusCode, body)
	}
	var spans tracetest.SpanStubs
	deadline := time.Now().Add(10 * time.Second)
	for {
		spans = exp.GetSpans()
		if byName(spans, "page /p") != nil || time.Now().After(deadline) {
			break
		}
		time.Sleep(10 * time.Millisecond)
	}
	page := byName(spans, "page /p")
	if page == nil {
		t.Fatalf("no page span in %d spans", len(spans))
	}
	if page.SpanContext.TraceID().String() != "4bf92f3577b34da6a3ce929d0e0e4736" {
		t.Errorf("page span in trace %s, not the browser's", page.SpanContext.TraceID())
	}
	for name, want := range map[string]string{"fragment decide/product": "fetch", "fragment explore/header": "fetch", "fragment inspire/recs": "fallback"} {
		f := byName(spans, name)
		if f == nil {
			t.Errorf("no span %q", name)
			continue
		}
		if f.Parent.SpanID() != page.SpanContext.SpanID() {
			t.Errorf("%s is not the page span's child", name)
		}
		if got := attr(f, "inlay.fragment.outcome"); got != want {
			t.Errorf("%s outcome %q, want %q", name, got, want)
		}
		// The fragment's span records its request (FetchRequest.Traced): no client span of its own.
		path := "/fragments/" + name[strings.Index(name, "/")+1:]
		if got := attr(f, "url.path"); got != path {
			t.Errorf("%s: url.path %q, want %q", name, got, path)
		}
		if got := attr(f, "http.response.status_code"); want == "fetch" && got != "200" {
			t.Errorf("%s: http.response.status_code %q, want 200", name, got)
		}
		// Only attributes that say something: primary on the primary alone, no depth at the top
		// level, no method (always GET).
		if got, want := attr(f, "inlay.fragment.primary"), map[bool]string{true: "true"}[name == "fragment decide/product"]; got != want {
			t.Errorf("%s: inlay.fragment.primary %q, want %q", name, got, want)
		}
		for _, key := range []string{"inlay.fragment.depth", "http.request.method"} {
			if got := attr(f, key); got != "" {
				t.Errorf("%s: %s %q, want none", name, key, got)
			}
		}
		if req := byName(spans, "GET "+strings.TrimPrefix(name[:strings.Index(name, "/")], "fragment ")+" "+path); req != nil {
			t.Errorf("%s: a client span of its own (%s) beside the fragment span", name, req.Name)
		}
	}
}

func byName(spans tracetest.SpanStubs, name string) *tracetest.SpanStub {
	for i := range spans {
		if spans[i].Name == name {
			return &spans[i]
		}
	}
	return nil
}

func attr(s *tracetest.SpanStub, key string) string {
	for _, a := range s.Attributes {
		if string(a.Key) == key {
			return a.Value.String()
		}
	}
	return ""
}

func TestMetricsLint(t *testing.T) {
	reg := prometheus.NewRegistry()
	m := newMetrics(reg)
	m.observe("decide", "product", compose.SourceFetch, time.Millisecond)
	m.breaker("inspire", gobreaker.StateOpen)
	m.page("/product/:id", pageDegraded, time.Millisecond)
	problems, err := testutil.CollectAndLint(reg)
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range problems {
		t.Errorf("metric %s: %s", p.Metric, p.Text)
	}
}

func TestBreakerStateReportedFromTheStart(t *testing.T) {
	reg := prometheus.NewRegistry()
	_, priv, err := fragments.GenerateKey()
	if err != nil {
		t.Fatal(err)
	}
	cfg := Config{Common: config.Common{Env: "dev", BodyLimit: 1 << 20, ShutdownTimeout: time.Second},
		Teams: "alpha=http://127.0.0.1:1,beta=http://127.0.0.1:1", PrivateKey: fragments.EncodePrivateKey(priv),
		ManifestRefresh: time.Hour, FragmentTimeout: time.Second}
	sh, err := New(context.Background(), Options{Config: cfg, Log: slog.New(slog.DiscardHandler), Registry: reg})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(sh.Close)
	families, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	closed := map[string]bool{}
	for _, f := range families {
		if f.GetName() != "inlay_fragment_breaker_state" {
			continue
		}
		for _, m := range f.GetMetric() {
			for _, l := range m.GetLabel() {
				if l.GetName() == "team" && m.GetGauge().GetValue() == 0 {
					closed[l.GetValue()] = true
				}
			}
		}
	}
	if !closed["alpha"] || !closed["beta"] {
		t.Errorf("breaker states before any request: %v, want alpha and beta closed (0)", closed)
	}
}

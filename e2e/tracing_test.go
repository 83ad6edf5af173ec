//go:build e2e

package e2e

import (
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"
	coltrace "go.opentelemetry.io/proto/otlp/collector/trace/v1"
	commonpb "go.opentelemetry.io/proto/otlp/common/v1"
	"google.golang.org/protobuf/proto"

	decideseed "github.com/inlay-dev/inlay/services/decide/seed"
	exploreseed "github.com/inlay-dev/inlay/services/explore/seed"
)

// otlpSpan is one span the test's OTLP receiver got.
type otlpSpan struct {
	service, name       string
	traceID, id, parent string
	kind                string
	attrs               map[string]string
}

// otlpReceiver is an OTLP/HTTP traces endpoint in the test: every process exports to it.
type otlpReceiver struct {
	mu    sync.Mutex
	spans []otlpSpan
	url   string
}

func startReceiver(t *testing.T) *otlpReceiver {
	t.Helper()
	r := &otlpReceiver{}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{ReadHeaderTimeout: 5 * time.Second, Handler: http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		if req.URL.Path != "/v1/traces" || req.Method != http.MethodPost {
			http.NotFound(w, req)
			return
		}
		b, err := io.ReadAll(io.LimitReader(req.Body, 32<<20))
		var msg coltrace.ExportTraceServiceRequest
		if err == nil {
			err = proto.Unmarshal(b, &msg)
		}
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		r.add(&msg)
		out, _ := proto.Marshal(&coltrace.ExportTraceServiceResponse{})
		w.Header().Set("Content-Type", "application/x-protobuf")
		_, _ = w.Write(out)
	})}
	go func() { _ = srv.Serve(ln) }()
	t.Cleanup(func() { _ = srv.Close() })
	r.url = "http://" + ln.Addr().String()
	return r
}

func (r *otlpReceiver) add(msg *coltrace.ExportTraceServiceRequest) {
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, rs := range msg.GetResourceSpans() {
		service := attrMap(rs.GetResource().GetAttributes())["service.name"]
		for _, ss := range rs.GetScopeSpans() {
			for _, s := range ss.GetSpans() {
				r.spans = append(r.spans, otlpSpan{service: service, name: s.GetName(), traceID: hex.EncodeToString(s.GetTraceId()),
					id: hex.EncodeToString(s.GetSpanId()), parent: hex.EncodeToString(s.GetParentSpanId()),
					kind: s.GetKind().String(), attrs: attrMap(s.GetAttributes())})
			}
		}
	}
}

func attrMap(kvs []*commonpb.KeyValue) map[string]string {
	m := make(map[string]string, len(kvs))
	for _, kv := range kvs {
		v := kv.GetValue()
		switch {
		case v.GetStringValue() != "":
			m[kv.GetKey()] = v.GetStringValue()
		default:
			m[kv.GetKey()] = fmt.Sprint(v.GetIntValue())
		}
	}
	return m
}

// trace returns the spans of one trace.
func (r *otlpReceiver) trace(id string) []otlpSpan {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []otlpSpan
	for _, s := range r.spans {
		if s.traceID == id {
			out = append(out, s)
		}
	}
	return out
}

func find(spans []otlpSpan, f func(otlpSpan) bool) *otlpSpan {
	for i := range spans {
		if f(spans[i]) {
			return &spans[i]
		}
	}
	return nil
}

// under reports whether s descends from the span with id ancestor.
func under(spans []otlpSpan, s otlpSpan, ancestor string) bool {
	byID := map[string]otlpSpan{}
	for _, x := range spans {
		byID[x.id] = x
	}
	for range len(spans) {
		if s.parent == ancestor {
			return true
		}
		p, ok := byID[s.parent]
		if !ok {
			return false
		}
		s = p
	}
	return false
}

// newTraceparent starts a sampled trace as a browser's instrumentation would.
func newTraceparent(t *testing.T) (traceparent, traceID string) {
	var b [24]byte
	if _, err := rand.Read(b[:]); err != nil {
		t.Fatal(err)
	}
	traceID = hex.EncodeToString(b[:16])
	return "00-" + traceID + "-" + hex.EncodeToString(b[16:]) + "-01", traceID
}

// TestTracing (issue 19): with every process exporting to an OTLP endpoint in the test, a product
// page is one trace (shell, page, one span per fragment with its outcome, decide's queries); an
// order is one trace from place-order through payments and inventory to checkout's confirmation,
// across RabbitMQ; with inspire stopped, the trace and Server-Timing say fallback.
func TestTracing(t *testing.T) {
	rcv := startReceiver(t)
	p := Start(t, WithEnv("INLAY_MANIFEST_REFRESH=1s", "OTEL_EXPORTER_OTLP_ENDPOINT="+rcv.url,
		"OTEL_TRACES_SAMPLER=parentbased_always_on", "OTEL_BSP_SCHEDULE_DELAY=100"))
	products, err := decideseed.Products()
	if err != nil {
		t.Fatal(err)
	}
	sfWaitCatalog(t, p, products)
	seed, err := exploreseed.Load()
	if err != nil {
		t.Fatal(err)
	}
	it := sfBuyItems(t)[0]
	hc := &http.Client{Timeout: 30 * time.Second}

	t.Run("ProductPage", func(t *testing.T) {
		tp, id := newTraceparent(t)
		req, _ := http.NewRequest(http.MethodGet, p.Shell+it.URL(), nil)
		req.Header.Set("traceparent", tp)
		res, err := hc.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		_, _ = io.Copy(io.Discard, res.Body)
		res.Body.Close()
		if res.StatusCode != 200 {
			t.Fatalf("product page: %d", res.StatusCode)
		}
		var why string
		sfEventually(t, 30*time.Second, "the product page's trace", func() (bool, string) {
			spans := rcv.trace(id)
			why = checkPageTrace(spans, map[string]string{"decide/product": "fetch", "checkout/add-to-cart": "", "inspire/recommendations": ""})
			return why == "", why
		})
	})

	t.Run("Order", func(t *testing.T) {
		fc := &faultCustomer{p: p, product: it.URL(), sku: it.Variant.SKU, store: seed.Stores[0].ID}
		b := fc.newBuyer(t)
		if err := b.mustAdd(); err != nil {
			t.Fatal(err)
		}
		tp, id := newTraceparent(t)
		form := url.Values{"first_name": {"Trace"}, "last_name": {"Tester"}, "email": {"trace@example.com"},
			"card": {sfCardOK}, "store": {fc.store}, "idempotency_key": {uuid.NewString()}, "csrf": {b.csrf}}
		req, _ := http.NewRequest(http.MethodPost, p.Shell+"/checkout/place-order", strings.NewReader(form.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.Header.Set("traceparent", tp)
		res, err := b.hc.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		if res.StatusCode != http.StatusSeeOther {
			t.Fatalf("place order: %d", res.StatusCode)
		}
		sfEventually(t, 60*time.Second, "the order's trace to its confirmation", func() (bool, string) {
			why := checkOrderTrace(rcv.trace(id))
			return why == "", why
		})
	})

	t.Run("InspireStopped", func(t *testing.T) {
		p.Stop(t, "inspire")
		// Another product's page: its recommendations were never fetched, so none is cached.
		other := sfBuyItems(t)[1]
		tp, id := newTraceparent(t)
		req, _ := http.NewRequest(http.MethodGet, p.Shell+other.URL(), nil)
		req.Header.Set("traceparent", tp)
		req.Header.Set("TE", "trailers")
		res, err := hc.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		_, _ = io.Copy(io.Discard, res.Body)
		res.Body.Close()
		st := res.Header.Get("Server-Timing") + ", " + res.Trailer.Get("Server-Timing")
		if !strings.Contains(st, "inspire/recommendations fallback") {
			t.Errorf("Server-Timing %q does not say recommendations fell back", st)
		}
		sfEventually(t, 30*time.Second, "the trace's recommendations span", func() (bool, string) {
			why := checkPageTrace(rcv.trace(id), map[string]string{"decide/product": "", "inspire/recommendations": "fallback"})
			return why == "", why
		})
	})
}

// checkPageTrace says what a product page's trace lacks ("" when nothing): the shell's server span
// and page span, a span per fragment with the outcome in want ("" for any), and a PostgreSQL span
// under decide's server span.
func checkPageTrace(spans []otlpSpan, want map[string]string) string {
	server := find(spans, func(s otlpSpan) bool { return s.service == "shell" && s.kind == "SPAN_KIND_SERVER" })
	if server == nil {
		return fmt.Sprintf("no shell server span in %d spans", len(spans))
	}
	page := find(spans, func(s otlpSpan) bool { return s.service == "shell" && strings.HasPrefix(s.name, "page ") })
	if page == nil || page.parent != server.id {
		return "no page span under the shell's server span"
	}
	for frag, outcome := range want {
		f := find(spans, func(s otlpSpan) bool { return s.name == "fragment "+frag })
		if f == nil || f.parent != page.id {
			return "no span of fragment " + frag + " under the page span"
		}
		if got := f.attrs["inlay.fragment.outcome"]; got == "" || (outcome != "" && got != outcome) {
			return fmt.Sprintf("fragment %s outcome %q, want %q", frag, got, outcome)
		}
		if f.attrs["inlay.team.version"] == "" && f.attrs["inlay.fragment.outcome"] != "fallback" {
			return "fragment " + frag + " without its team's version"
		}
	}
	decide := find(spans, func(s otlpSpan) bool { return s.service == "decide" && s.kind == "SPAN_KIND_SERVER" })
	if decide == nil || !under(spans, *decide, page.id) {
		return "no decide server span under the page"
	}
	if find(spans, func(s otlpSpan) bool {
		return s.service == "decide" && s.attrs["db.system.name"]+s.attrs["db.system"] != "" && under(spans, s, decide.id)
	}) == nil {
		return "no PostgreSQL span under decide's server span"
	}
	return ""
}

// checkOrderTrace says what an order's trace lacks: place-order in the shell and checkout, the
// relay's publish of order.placed, payments' and inventory's handling, and checkout's confirmation.
func checkOrderTrace(spans []otlpSpan) string {
	has := func(service, name string) *otlpSpan {
		return find(spans, func(s otlpSpan) bool { return s.service == service && s.name == name })
	}
	steps := []struct{ service, name string }{
		{"checkout", "publish checkout.order.placed.v1"},
		{"payments", "process checkout.order.placed.v1"},
		{"payments", "publish payments.payment.authorized.v1"},
		{"inventory", "process payments.payment.authorized.v1"},
		{"inventory", "publish inventory.stock.reserved.v1"},
		{"checkout", "process inventory.stock.reserved.v1"},
		{"checkout", "publish checkout.order.confirmed.v1"},
	}
	shell := find(spans, func(s otlpSpan) bool { return s.service == "shell" && s.kind == "SPAN_KIND_SERVER" })
	if shell == nil {
		return fmt.Sprintf("no shell span for place-order in %d spans", len(spans))
	}
	if find(spans, func(s otlpSpan) bool {
		return s.service == "checkout" && s.kind == "SPAN_KIND_SERVER" && s.parent != ""
	}) == nil {
		return "no checkout server span for place-order"
	}
	for _, st := range steps {
		s := has(st.service, st.name)
		if s == nil {
			return fmt.Sprintf("no %s span %q", st.service, st.name)
		}
		if !under(spans, *s, shell.id) {
			return fmt.Sprintf("%s span %q is not under the shell's place-order span", st.service, st.name)
		}
	}
	return ""
}

package otlpwire_test

import (
	"compress/gzip"
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracehttp"
	"go.opentelemetry.io/otel/sdk/instrumentation"
	"go.opentelemetry.io/otel/sdk/resource"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"
	coltracepb "go.opentelemetry.io/proto/otlp/collector/trace/v1"
	tracepb "go.opentelemetry.io/proto/otlp/trace/v1"
	"google.golang.org/protobuf/proto"

	"github.com/inlay-dev/inlay/services/kit/tracing/otlpwire"
)

// receiver is an OTLP/HTTP collector for one test: it decodes every request it is sent.
type receiver struct {
	*httptest.Server
	requests chan *coltracepb.ExportTraceServiceRequest
	headers  chan http.Header
	answer   func(n int64, w http.ResponseWriter) bool // answers request n itself when it returns true
	count    atomic.Int64
}

func newReceiver(t *testing.T) *receiver {
	t.Helper()
	r := &receiver{requests: make(chan *coltracepb.ExportTraceServiceRequest, 16), headers: make(chan http.Header, 16)}
	r.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		n := r.count.Add(1)
		if r.answer != nil && r.answer(n, w) {
			return
		}
		var body io.Reader = req.Body
		if req.Header.Get("Content-Encoding") == "gzip" {
			zr, err := gzip.NewReader(req.Body)
			if err != nil {
				http.Error(w, err.Error(), http.StatusBadRequest)
				return
			}
			body = zr
		}
		b, err := io.ReadAll(body)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		var m coltracepb.ExportTraceServiceRequest
		if err := proto.Unmarshal(b, &m); err != nil {
			t.Errorf("the receiver could not decode a request: %v", err)
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		r.headers <- req.Header.Clone()
		r.requests <- &m
		w.Header().Set("Content-Type", "application/x-protobuf")
	}))
	t.Cleanup(r.Close)
	return r
}

func (r *receiver) next(t *testing.T) *coltracepb.ExportTraceServiceRequest {
	t.Helper()
	select {
	case m := <-r.requests:
		return m
	case <-t.Context().Done():
		t.Fatal("no request reached the receiver")
		return nil
	}
}

// spans are finished spans using everything OTLP carries: two resources, three scopes (one of them
// empty), every attribute type, events, links, each status, remote and local parents, trace state,
// dropped counts, a span long enough for multi-byte lengths.
func spans(t testing.TB) []sdktrace.ReadOnlySpan {
	t.Helper()
	resA := resource.NewWithAttributes("https://opentelemetry.io/schemas/1.26.0",
		attribute.String("service.name", "shell"), attribute.String("service.namespace", "inlay"))
	resB := resource.NewSchemaless(attribute.String("service.name", "checkout"))
	ts, err := trace.ParseTraceState("inlay=1,vendor=abc")
	if err != nil {
		t.Fatal(err)
	}
	tid := trace.TraceID{1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16}
	sc := func(span byte, sampled, remote bool, state trace.TraceState) trace.SpanContext {
		var f trace.TraceFlags
		if sampled {
			f = trace.FlagsSampled
		}
		return trace.NewSpanContext(trace.SpanContextConfig{TraceID: tid, SpanID: trace.SpanID{span, 1, 2, 3, 4, 5, 6, 7},
			TraceFlags: f, Remote: remote, TraceState: state})
	}
	start := time.Date(2026, 11, 30, 8, 0, 0, 123456789, time.UTC)
	every := []attribute.KeyValue{
		attribute.String("s", "text <&> ü"), attribute.String("empty", ""), attribute.Bool("t", true),
		attribute.Bool("f", false), attribute.Int64("i", -42), attribute.Int64("zero", 0),
		attribute.Float64("pi", 3.14159), attribute.Float64("nought", 0),
		attribute.BoolSlice("bs", []bool{true, false}), attribute.Int64Slice("is", []int64{1, -2, 1 << 40}),
		attribute.Float64Slice("fs", []float64{0.5, -1}), attribute.StringSlice("ss", []string{"a", "", "c"}),
		attribute.String("long", strings.Repeat("x", 300)),
	}
	scopeA := instrumentation.Scope{Name: "github.com/inlay-dev/inlay", Version: "1.0"}
	scopeB := instrumentation.Scope{Name: "github.com/exaring/otelpgx", SchemaURL: "https://opentelemetry.io/schemas/1.24.0",
		Attributes: attribute.NewSet(attribute.String("db", "postgres"))}
	stubs := tracetest.SpanStubs{
		{
			Name: "GET /product/:sku", SpanContext: sc(1, true, false, ts), Parent: sc(9, true, true, trace.TraceState{}),
			SpanKind: trace.SpanKindServer, StartTime: start, EndTime: start.Add(3 * time.Millisecond),
			Attributes: every, DroppedAttributes: 2,
			Events: []sdktrace.Event{
				{Name: "exception", Time: start.Add(time.Millisecond), Attributes: []attribute.KeyValue{attribute.String("exception.message", "boom")}, DroppedAttributeCount: 1},
				{Name: "bare", Time: start.Add(2 * time.Millisecond)},
			},
			DroppedEvents: 3,
			Links: []sdktrace.Link{
				{SpanContext: sc(7, true, true, trace.TraceState{}), Attributes: []attribute.KeyValue{attribute.String("messaging.system", "rabbitmq")}, DroppedAttributeCount: 4},
				{SpanContext: sc(8, false, false, trace.TraceState{})},
			},
			DroppedLinks:         1,
			Status:               sdktrace.Status{Code: codes.Error, Description: "fragment timed out"},
			InstrumentationScope: scopeA, Resource: resA,
		},
		{Name: "query", SpanContext: sc(2, true, false, trace.TraceState{}), Parent: sc(1, true, false, ts), SpanKind: trace.SpanKindClient,
			StartTime: start, EndTime: start.Add(time.Millisecond), InstrumentationScope: scopeB, Resource: resA,
			Status: sdktrace.Status{Code: codes.Ok}},
		{Name: "fragment explore/header", SpanContext: sc(3, true, false, trace.TraceState{}), Parent: sc(1, true, false, ts),
			SpanKind: trace.SpanKindInternal, StartTime: start, EndTime: start.Add(2 * time.Millisecond),
			Attributes: []attribute.KeyValue{attribute.String("inlay.fragment.outcome", "fetch")}, InstrumentationScope: scopeA, Resource: resA},
		{Name: "publish", SpanContext: sc(4, true, false, trace.TraceState{}), SpanKind: trace.SpanKindProducer,
			StartTime: start, EndTime: start, InstrumentationScope: scopeA, Resource: resB},
		{Name: "process", SpanContext: sc(5, true, false, trace.TraceState{}), SpanKind: trace.SpanKindConsumer,
			StartTime: start, EndTime: start.Add(time.Second), Resource: resB},
		{Name: "unspecified", SpanContext: sc(6, true, false, trace.TraceState{}), StartTime: start, EndTime: start.Add(time.Nanosecond),
			InstrumentationScope: scopeB, Resource: resA},
	}
	return stubs.Snapshots()
}

// canonical orders a request's resources and scopes (the SDK's exporter groups them through maps,
// in no fixed order); spans keep their order within a scope.
func canonical(m *coltracepb.ExportTraceServiceRequest) *coltracepb.ExportTraceServiceRequest {
	key := func(b proto.Message) string {
		out, _ := proto.MarshalOptions{Deterministic: true}.Marshal(b)
		return string(out)
	}
	rs := m.GetResourceSpans()
	slices.SortFunc(rs, func(a, b *tracepb.ResourceSpans) int {
		return strings.Compare(key(a.GetResource()), key(b.GetResource()))
	})
	for _, r := range rs {
		slices.SortFunc(r.ScopeSpans, func(a, b *tracepb.ScopeSpans) int { return strings.Compare(key(a.GetScope()), key(b.GetScope())) })
	}
	return m
}

// The exporter sends what OpenTelemetry's own OTLP/HTTP exporter sends for the same spans, as the
// generated protobuf code decodes them.
func TestSameAsTheSDKsExporter(t *testing.T) {
	ctx := t.Context()
	r := newReceiver(t)
	in := spans(t)

	sdk, err := otlptracehttp.New(ctx, otlptracehttp.WithEndpointURL(r.URL+"/v1/traces"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = sdk.Shutdown(context.WithoutCancel(ctx)) })
	if err := sdk.ExportSpans(ctx, in); err != nil {
		t.Fatalf("the SDK's exporter: %v", err)
	}
	want := canonical(r.next(t))

	ours := otlpwire.New(otlpwire.Config{URL: r.URL + "/v1/traces"})
	t.Cleanup(func() { _ = ours.Shutdown(context.WithoutCancel(ctx)) })
	// Twice: the second export reuses the first's buffer.
	for i := range 2 {
		if err := ours.ExportSpans(ctx, in); err != nil {
			t.Fatalf("export %d: %v", i, err)
		}
		got := canonical(r.next(t))
		if !proto.Equal(got, want) {
			t.Fatalf("export %d differs from the SDK's exporter's:\n got %v\nwant %v", i, got, want)
		}
	}
	if n := len(want.GetResourceSpans()); n != 2 {
		t.Fatalf("the spans name 2 resources, the request holds %d", n)
	}
}

// A link's trace state is sent (the SDK's exporter leaves it out; OTLP has a field for it).
func TestLinkTraceState(t *testing.T) {
	r := newReceiver(t)
	ts, _ := trace.ParseTraceState("vendor=abc")
	link := trace.NewSpanContext(trace.SpanContextConfig{TraceID: trace.TraceID{1}, SpanID: trace.SpanID{2}, TraceState: ts})
	stub := tracetest.SpanStub{Name: "process", SpanContext: trace.NewSpanContext(trace.SpanContextConfig{TraceID: trace.TraceID{3}, SpanID: trace.SpanID{4}}),
		Links: []sdktrace.Link{{SpanContext: link}}, Resource: resource.Empty()}
	e := otlpwire.New(otlpwire.Config{URL: r.URL})
	if err := e.ExportSpans(t.Context(), tracetest.SpanStubs{stub}.Snapshots()); err != nil {
		t.Fatal(err)
	}
	got := r.next(t).GetResourceSpans()[0].GetScopeSpans()[0].GetSpans()[0].GetLinks()[0].GetTraceState()
	if got != "vendor=abc" {
		t.Fatalf("link trace state %q, want vendor=abc", got)
	}
}

// A collector that is briefly unavailable gets the batch again; one that refuses it does not.
func TestRetries(t *testing.T) {
	in := spans(t)
	t.Run("503 then 200", func(t *testing.T) {
		r := newReceiver(t)
		r.answer = func(n int64, w http.ResponseWriter) bool {
			if n == 1 {
				http.Error(w, "starting", http.StatusServiceUnavailable)
				return true
			}
			return false
		}
		if err := otlpwire.New(otlpwire.Config{URL: r.URL}).ExportSpans(t.Context(), in); err != nil {
			t.Fatalf("export after one 503: %v", err)
		}
		if n := len(canonical(r.next(t)).GetResourceSpans()); n != 2 || r.count.Load() != 2 {
			t.Fatalf("%d requests, %d resources in the delivered one; want 2 and 2", r.count.Load(), n)
		}
	})
	t.Run("400 is not retried", func(t *testing.T) {
		r := newReceiver(t)
		r.answer = func(_ int64, w http.ResponseWriter) bool {
			http.Error(w, "bad spans", http.StatusBadRequest)
			return true
		}
		err := otlpwire.New(otlpwire.Config{URL: r.URL}).ExportSpans(t.Context(), in)
		if err == nil || !strings.Contains(err.Error(), "400") || !strings.Contains(err.Error(), "bad spans") {
			t.Fatalf("export to a collector answering 400: %v, want an error naming 400 and its message", err)
		}
		if r.count.Load() != 1 {
			t.Fatalf("%d requests, want 1 (a 400 is not retried)", r.count.Load())
		}
	})
	t.Run("always 503 gives up within the timeout", func(t *testing.T) {
		r := newReceiver(t)
		r.answer = func(_ int64, w http.ResponseWriter) bool {
			http.Error(w, "down", http.StatusServiceUnavailable)
			return true
		}
		err := otlpwire.New(otlpwire.Config{URL: r.URL, Timeout: 300 * time.Millisecond}).ExportSpans(t.Context(), in)
		if err == nil || !strings.Contains(err.Error(), "503") {
			t.Fatalf("export to a collector that stays down: %v, want an error naming 503", err)
		}
	})
	t.Run("partial success is reported", func(t *testing.T) {
		r := newReceiver(t)
		r.answer = func(_ int64, w http.ResponseWriter) bool {
			b, _ := proto.Marshal(&coltracepb.ExportTraceServiceResponse{PartialSuccess: &coltracepb.ExportTracePartialSuccess{
				RejectedSpans: 2, ErrorMessage: "too old"}})
			w.Header().Set("Content-Type", "application/x-protobuf")
			_, _ = w.Write(b)
			return true
		}
		err := otlpwire.New(otlpwire.Config{URL: r.URL}).ExportSpans(t.Context(), in)
		if err == nil || !strings.Contains(err.Error(), "rejected 2 spans: too old") {
			t.Fatalf("export with a partial success: %v, want the rejected count and message", err)
		}
	})
}

// The standard variables: endpoint forms, headers, timeout, compression; bad values are refused
// with the variable's name.
func TestConfigFromEnv(t *testing.T) {
	env := func(kv ...string) func(string) string {
		m := map[string]string{}
		for i := 0; i < len(kv); i += 2 {
			m[kv[i]] = kv[i+1]
		}
		return func(k string) string { return m[k] }
	}
	cfg, err := otlpwire.ConfigFromEnv(env("OTEL_EXPORTER_OTLP_ENDPOINT", "http://127.0.0.1:4318/",
		"OTEL_EXPORTER_OTLP_HEADERS", "api-key=s%20ecret, x-tenant = inlay", "OTEL_EXPORTER_OTLP_TRACES_TIMEOUT", "2500",
		"OTEL_EXPORTER_OTLP_COMPRESSION", "gzip"))
	if err != nil {
		t.Fatal(err)
	}
	if cfg.URL != "http://127.0.0.1:4318/v1/traces" || cfg.Headers.Get("Api-Key") != "s ecret" ||
		cfg.Headers.Get("X-Tenant") != "inlay" || cfg.Timeout != 2500*time.Millisecond || !cfg.Gzip {
		t.Fatalf("config %+v", cfg)
	}
	cfg, err = otlpwire.ConfigFromEnv(env("OTEL_EXPORTER_OTLP_ENDPOINT", "http://a:4318",
		"OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", "https://collector.example/custom/path"))
	if err != nil || cfg.URL != "https://collector.example/custom/path" || cfg.Timeout != otlpwire.DefaultTimeout {
		t.Fatalf("traces endpoint: %+v, %v", cfg, err)
	}
	for _, bad := range [][]string{
		{},
		{"OTEL_EXPORTER_OTLP_ENDPOINT", "127.0.0.1:4318"},
		{"OTEL_EXPORTER_OTLP_ENDPOINT", "http://a:4318", "OTEL_EXPORTER_OTLP_TIMEOUT", "soon"},
		{"OTEL_EXPORTER_OTLP_ENDPOINT", "http://a:4318", "OTEL_EXPORTER_OTLP_COMPRESSION", "zstd"},
		{"OTEL_EXPORTER_OTLP_ENDPOINT", "http://a:4318", "OTEL_EXPORTER_OTLP_HEADERS", "novalue"},
		{"OTEL_EXPORTER_OTLP_ENDPOINT", "https://a:4318", "OTEL_EXPORTER_OTLP_CERTIFICATE", "/nonexistent.pem"},
	} {
		if _, err := otlpwire.ConfigFromEnv(env(bad...)); err == nil {
			t.Errorf("ConfigFromEnv(%q) accepted it", bad)
		}
	}

	// Headers and gzip reach the collector.
	r := newReceiver(t)
	cfg, err = otlpwire.ConfigFromEnv(env("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", r.URL, "OTEL_EXPORTER_OTLP_HEADERS", "api-key=k1",
		"OTEL_EXPORTER_OTLP_COMPRESSION", "gzip"))
	if err != nil {
		t.Fatal(err)
	}
	if err := otlpwire.New(cfg).ExportSpans(t.Context(), spans(t)); err != nil {
		t.Fatal(err)
	}
	if n := len(r.next(t).GetResourceSpans()); n != 2 {
		t.Fatalf("gzipped request: %d resources, want 2", n)
	}
	if h := <-r.headers; h.Get("Api-Key") != "k1" || h.Get("Content-Encoding") != "gzip" || h.Get("Content-Type") != "application/x-protobuf" {
		t.Fatalf("request headers %v", h)
	}
}

// The encoder's cost per span, against the SDK exporter's conversion and marshalling of the same
// spans (each to a loopback receiver, as a process exports).
func BenchmarkExport(b *testing.B) {
	var spansIn []sdktrace.ReadOnlySpan
	for range 64 {
		spansIn = append(spansIn, spans(b)[2]) // a fragment span: a name, one attribute, a parent
	}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { _, _ = io.Copy(io.Discard, r.Body) }))
	defer srv.Close()
	b.Run("otlpwire", func(b *testing.B) {
		e := otlpwire.New(otlpwire.Config{URL: srv.URL})
		b.ReportAllocs()
		for b.Loop() {
			if err := e.ExportSpans(b.Context(), spansIn); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("sdk", func(b *testing.B) {
		e, err := otlptracehttp.New(b.Context(), otlptracehttp.WithEndpointURL(srv.URL))
		if err != nil {
			b.Fatal(err)
		}
		b.ReportAllocs()
		for b.Loop() {
			if err := e.ExportSpans(b.Context(), spansIn); err != nil {
				b.Fatal(err)
			}
		}
	})
}

// Exports from several goroutines each arrive whole (the batch processor exports from one, a
// ForceFlush may add another); after Shutdown an export fails instead of sending.
func TestConcurrentExportsAndShutdown(t *testing.T) {
	r := newReceiver(t)
	e := otlpwire.New(otlpwire.Config{URL: r.URL, Gzip: true})
	in := spans(t)
	const n = 8
	errs := make(chan error, n)
	for range n {
		go func() { errs <- e.ExportSpans(t.Context(), in) }()
	}
	for range n {
		if err := <-errs; err != nil {
			t.Fatal(err)
		}
		if got := len(r.next(t).GetResourceSpans()); got != 2 {
			t.Fatalf("a request held %d resources, want 2", got)
		}
	}
	if err := e.Shutdown(t.Context()); err != nil {
		t.Fatal(err)
	}
	if err := e.ExportSpans(t.Context(), in); err == nil {
		t.Fatal("an export after Shutdown succeeded")
	}
	if got := r.count.Load(); got != n {
		t.Fatalf("the receiver saw %d requests, want %d", got, n)
	}
}

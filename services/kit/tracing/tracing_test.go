package tracing_test

import (
	"context"
	"testing"

	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/trace"

	"github.com/inlay-dev/inlay/services/kit/config"
	"github.com/inlay-dev/inlay/services/kit/tracing"
)

func TestSampler(t *testing.T) {
	for _, tc := range []struct {
		name, arg string
		want      string // the sampler's description, "" for an error
	}{
		{"parentbased_traceidratio", "0.1", "ParentBased{root:TraceIDRatioBased{0.1}"},
		{"", "", "ParentBased{root:TraceIDRatioBased{1}"},
		{"always_on", "", "AlwaysOnSampler"},
		{"always_off", "", "AlwaysOffSampler"},
		{"traceidratio", "0", "TraceIDRatioBased{0}"},
		{"parentbased_always_off", "", "ParentBased{root:AlwaysOffSampler"},
		{"traceidratio", "2", ""},
		{"jaeger_remote", "", ""},
	} {
		s, err := tracing.Sampler(tc.name, tc.arg)
		switch {
		case tc.want == "" && err == nil:
			t.Errorf("Sampler(%q, %q) = %s, want an error", tc.name, tc.arg, s.Description())
		case tc.want != "" && err != nil:
			t.Errorf("Sampler(%q, %q): %v", tc.name, tc.arg, err)
		case tc.want != "" && len(s.Description()) < len(tc.want), tc.want != "" && s.Description()[:len(tc.want)] != tc.want:
			t.Errorf("Sampler(%q, %q) = %s, want %s…", tc.name, tc.arg, s.Description(), tc.want)
		}
	}
}

func TestNoEndpointIsNoop(t *testing.T) {
	p, err := tracing.New(context.Background(), "shell", config.Tracing{Sampler: "always_on"})
	if err != nil {
		t.Fatal(err)
	}
	if p.Exporting() {
		t.Fatal("a provider without an endpoint exports")
	}
	// A remote parent (an incoming traceparent) is kept, so it is still passed on.
	const tp = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"
	_, span := p.Tracer("t").Start(tracing.ContextWithTraceparent(context.Background(), tp), "x")
	if span.IsRecording() || tracing.Traceparent(span.SpanContext()) != tp {
		t.Fatalf("noop span recording=%v traceparent=%s", span.IsRecording(), tracing.Traceparent(span.SpanContext()))
	}
	if _, err := tracing.New(context.Background(), "shell", config.Tracing{Endpoint: "http://127.0.0.1:1", Protocol: "grpc"}); err == nil {
		t.Fatal("grpc protocol accepted")
	}
	p, err = tracing.New(context.Background(), "shell", config.Tracing{Endpoint: "http://127.0.0.1:1", Protocol: "http/protobuf", Disabled: true})
	if err != nil || p.Exporting() {
		t.Fatalf("OTEL_SDK_DISABLED: exporting=%v err=%v", p.Exporting(), err)
	}
}

func TestTraceparent(t *testing.T) {
	tp := sdktrace.NewTracerProvider()
	defer func() { _ = tp.Shutdown(context.Background()) }()
	_, span := tp.Tracer("t").Start(context.Background(), "x")
	sc := span.SpanContext()
	want := "00-" + sc.TraceID().String() + "-" + sc.SpanID().String() + "-01"
	if got := tracing.Traceparent(sc); got != want {
		t.Fatalf("Traceparent = %s, want %s", got, want)
	}
	if got := tracing.Traceparent(trace.SpanContext{}); got != "" {
		t.Fatalf("Traceparent(invalid) = %q", got)
	}
	back := trace.SpanContextFromContext(tracing.ContextWithTraceparent(context.Background(), want))
	if back.TraceID() != sc.TraceID() || back.SpanID() != sc.SpanID() || !back.IsRemote() {
		t.Fatalf("round trip: %v", back)
	}
}

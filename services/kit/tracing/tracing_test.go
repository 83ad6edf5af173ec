package tracing_test

import (
	"context"
	"testing"

	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
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

// Under a parent-based sampler, a child of an unsampled span is the parent itself (nothing made);
// a child of a sampled span, a new root and a root are the SDK's.
func TestFollowParent(t *testing.T) {
	exp := tracetest.NewInMemoryExporter()
	sdk := sdktrace.NewTracerProvider(sdktrace.WithSyncer(exp), sdktrace.WithSampler(sdktrace.ParentBased(sdktrace.TraceIDRatioBased(0.5))))
	defer func() { _ = sdk.Shutdown(context.Background()) }()
	tr := tracing.FollowParent(sdk).Tracer("t")
	var sampled, unsampled int
	for i := 0; i < 200 && (sampled == 0 || unsampled == 0); i++ {
		ctx, root := tr.Start(context.Background(), "root")
		cctx, child := tr.Start(ctx, "child")
		if root.SpanContext().IsSampled() {
			sampled++
			if !child.IsRecording() || child.SpanContext().SpanID() == root.SpanContext().SpanID() ||
				child.SpanContext().TraceID() != root.SpanContext().TraceID() {
				t.Fatalf("child of a sampled root: recording=%v, %v under %v", child.IsRecording(), child.SpanContext(), root.SpanContext())
			}
		} else {
			unsampled++
			if !child.SpanContext().Equal(root.SpanContext()) || cctx != ctx {
				t.Fatalf("child of an unsampled root is a new span %v (root %v)", child.SpanContext(), root.SpanContext())
			}
			if _, nr := tr.Start(ctx, "new root", trace.WithNewRoot()); nr.SpanContext().TraceID() == root.SpanContext().TraceID() {
				t.Fatal("WithNewRoot under an unsampled parent kept its trace")
			}
		}
		child.End()
		root.End()
	}
	if sampled == 0 || unsampled == 0 {
		t.Fatalf("%d sampled, %d unsampled roots of 200", sampled, unsampled)
	}
	// A remote unsampled parent (an incoming traceparent with flags 00) is passed on as it came.
	const tp = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-00"
	_, span := tr.Start(tracing.ContextWithTraceparent(context.Background(), tp), "server")
	if span.IsRecording() || tracing.Traceparent(span.SpanContext()) != tp {
		t.Fatalf("under an unsampled remote parent: recording=%v traceparent=%s", span.IsRecording(), tracing.Traceparent(span.SpanContext()))
	}
	for _, s := range exp.GetSpans() {
		if !s.SpanContext.IsSampled() {
			t.Fatalf("exported an unsampled span %s", s.Name)
		}
	}
	if !tracing.ParentBased("") || !tracing.ParentBased("parentbased_always_on") || tracing.ParentBased("always_on") || tracing.ParentBased("traceidratio") {
		t.Fatal("ParentBased names the wrong samplers")
	}
}

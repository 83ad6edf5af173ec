package events

import (
	"context"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"

	"github.com/inlay-dev/inlay/services/kit/tracing"
)

// The relay's publish and the consumer's handling are spans of the trace that wrote the row, named
// and described when it is sampled; a trace that is not sampled gets none.
func TestEventSpans(t *testing.T) {
	t.Parallel()
	env := newEnv(t)
	exp := tracetest.NewInMemoryExporter()
	sdk := sdktrace.NewTracerProvider(sdktrace.WithSyncer(exp)) // parent-based, as deployed
	defer func() { _ = sdk.Shutdown(context.Background()) }()
	tp := tracing.FollowParent(sdk)
	handled := make(chan string, 2)
	env.startConsumer(t, ConsumerOptions{Tracer: tp}, map[string]Handler{
		testType: func(ctx context.Context, tx pgx.Tx, e Event) error {
			handled <- e.Subject
			return record(ctx, tx, e)
		},
	})
	env.startRelay(t, RelayOptions{Tracer: tp})
	const sampled, unsampled = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
		"00-5bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-00"
	env.add(t, ContextWithTraceparent(context.Background(), unsampled), testType, "unsampled", 1, 2)
	env.add(t, ContextWithTraceparent(context.Background(), sampled), testType, "sampled", 2, 3)
	for range 2 {
		select {
		case <-handled:
		case <-time.After(10 * time.Second):
			t.Fatal("events not handled within 10s")
		}
	}
	waitFor(t, 10*time.Second, "the consumer's span", func() bool { return len(exp.GetSpans()) >= 2 })
	spans := exp.GetSpans()
	want := map[string]string{"publish " + testType: "publish", "process " + testType: "process"}
	for _, s := range spans {
		if s.SpanContext.TraceID().String() != "4bf92f3577b34da6a3ce929d0e0e4736" {
			t.Errorf("span %q in trace %s, want only the sampled trace's", s.Name, s.SpanContext.TraceID())
		}
		op, ok := want[s.Name]
		if !ok {
			t.Errorf("span %q, want %v", s.Name, want)
			continue
		}
		delete(want, s.Name)
		attrs := map[string]string{}
		for _, a := range s.Attributes {
			attrs[string(a.Key)] = a.Value.AsString()
		}
		if attrs["messaging.operation.type"] != op || attrs["inlay.event.type"] != testType || attrs["inlay.event.subject"] != "sampled" {
			t.Errorf("span %q attributes %v", s.Name, attrs)
		}
	}
	if len(want) != 0 {
		t.Errorf("no spans %v in %d spans", want, len(spans))
	}
}

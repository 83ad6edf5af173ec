package logging_test

import (
	"bytes"
	"context"
	"encoding/json"
	"log/slog"
	"strings"
	"testing"

	"go.opentelemetry.io/otel/trace"

	"github.com/inlay-dev/inlay/services/kit/logging"
)

func TestContextAttributes(t *testing.T) {
	var buf bytes.Buffer
	log := logging.New(&buf, "decide", slog.LevelInfo)
	ctx := logging.With(context.Background(), slog.String("request_id", "r1"))
	ctx = logging.With(ctx, slog.String("trace_id", "t1"))
	log.InfoContext(ctx, "hello", "k", "v")
	log.DebugContext(ctx, "hidden")

	var rec map[string]any
	if err := json.Unmarshal(buf.Bytes(), &rec); err != nil {
		t.Fatalf("want exactly one JSON record, got %q: %v", buf.String(), err)
	}
	for k, want := range map[string]string{"service": "decide", "request_id": "r1", "trace_id": "t1", "k": "v", "msg": "hello"} {
		if rec[k] != want {
			t.Errorf("%s = %v, want %s", k, rec[k], want)
		}
	}
}

func TestSpanIDs(t *testing.T) {
	tid, _ := trace.TraceIDFromHex("4bf92f3577b34da6a3ce929d0e0e4736")
	sid, _ := trace.SpanIDFromHex("00f067aa0ba902b7")
	ctx := trace.ContextWithSpanContext(context.Background(),
		trace.NewSpanContext(trace.SpanContextConfig{TraceID: tid, SpanID: sid, TraceFlags: trace.FlagsSampled}))

	var buf bytes.Buffer
	logging.New(&buf, "shell", slog.LevelInfo).InfoContext(ctx, "in a span")
	var rec map[string]any
	if err := json.Unmarshal(buf.Bytes(), &rec); err != nil {
		t.Fatal(err)
	}
	if rec["trace_id"] != tid.String() || rec["span_id"] != sid.String() {
		t.Fatalf("record %v lacks the span's ids", rec)
	}

	buf.Reset()
	logging.New(&buf, "shell", slog.LevelInfo).InfoContext(context.Background(), "no span")
	if strings.Contains(buf.String(), "trace_id") {
		t.Fatalf("a record outside a span has a trace id: %s", buf.String())
	}

	buf.Reset()
	logging.NewFormat(&buf, "shell", slog.LevelInfo, "text").InfoContext(ctx, "text")
	if line := buf.String(); !strings.Contains(line, "trace_id="+tid.String()) || !strings.Contains(line, "service=shell") ||
		strings.HasPrefix(line, "{") {
		t.Fatalf("text line %q", line)
	}
}

package logging_test

import (
	"bytes"
	"context"
	"encoding/json"
	"log/slog"
	"testing"

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

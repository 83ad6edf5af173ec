package events

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"
	"go.opentelemetry.io/otel/trace"
)

func TestNewValidates(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, source, typ, subject string
		data                       any
		wantErr                    string
	}{
		{"ok", "decide", "decide.variant.price_changed.v1", "SKU-1", map[string]int{"price": 100}, ""},
		{"raw json", "decide", "decide.product.created.v12", "P-1", json.RawMessage(`{"a":1}`), ""},
		{"bytes", "decide", "decide.product.created.v1", "P-1", []byte(`[1,2]`), ""},
		{"no version", "decide", "decide.product.created", "P-1", 1, "not {context}"},
		{"version zero", "decide", "decide.product.created.v0", "P-1", 1, "not {context}"},
		{"upper case", "decide", "Decide.product.created.v1", "P-1", 1, "not {context}"},
		{"too many words", "decide", "decide.product.x.created.v1", "P-1", 1, "not {context}"},
		{"wildcard", "decide", "decide.*.created.v1", "P-1", 1, "not {context}"},
		{"no source", "", "decide.product.created.v1", "P-1", 1, "source is empty"},
		{"no subject", "decide", "decide.product.created.v1", " ", 1, "subject is empty"},
		{"bad raw json", "decide", "decide.product.created.v1", "P-1", json.RawMessage(`{`), "not valid JSON"},
		{"unmarshalable", "decide", "decide.product.created.v1", "P-1", make(chan int), "marshal"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			e, err := New(tt.source, tt.typ, tt.subject, tt.data)
			if tt.wantErr == "" {
				if err != nil {
					t.Fatalf("New: %v", err)
				}
				if len(e.ID) != 36 || e.Time.IsZero() || e.Type != tt.typ {
					t.Fatalf("event = %+v", e)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("New error = %v, want %q", err, tt.wantErr)
			}
		})
	}
}

func TestTypeVersion(t *testing.T) {
	t.Parallel()
	name, v, err := TypeVersion("checkout.order.placed.v3")
	if err != nil || name != "checkout.order.placed" || v != 3 {
		t.Fatalf("TypeVersion = %q %d %v", name, v, err)
	}
	if _, _, err := TypeVersion("checkout.order.placed"); err == nil {
		t.Fatal("TypeVersion accepted a type without version")
	}
}

func TestDecode(t *testing.T) {
	t.Parallel()
	good, err := New("decide", "decide.product.created.v1", "P-1", map[string]any{"name": "T1"})
	if err != nil {
		t.Fatal(err)
	}
	good.Traceparent = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"
	body, err := good.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	withField := func(k string, v any) []byte {
		var m map[string]any
		if err := json.Unmarshal(body, &m); err != nil {
			t.Fatal(err)
		}
		if v == nil {
			delete(m, k)
		} else {
			m[k] = v
		}
		b, _ := json.Marshal(m)
		return b
	}
	tests := []struct {
		name    string
		body    []byte
		wantErr string
		check   func(t *testing.T, e Event)
	}{
		{name: "valid", body: body, check: func(t *testing.T, e Event) {
			if e.ID != good.ID || !e.Time.Equal(good.Time) || e.Traceparent != good.Traceparent {
				t.Fatalf("decoded %+v, want %+v", e, good)
			}
		}},
		{name: "unknown field in data is kept", body: withField("data", map[string]any{"name": "T1", "new": true}),
			check: func(t *testing.T, e Event) {
				if !strings.Contains(string(e.Data), `"new":true`) {
					t.Fatalf("data = %s", e.Data)
				}
			}},
		{name: "bad traceparent is dropped", body: withField("traceparent", "garbage"), check: func(t *testing.T, e Event) {
			if e.Traceparent != "" {
				t.Fatalf("traceparent = %q", e.Traceparent)
			}
		}},
		{name: "unknown envelope field", body: withField("extra", 1), wantErr: "unknown field"},
		{name: "not json", body: []byte("hello"), wantErr: "malformed envelope"},
		{name: "empty", body: nil, wantErr: "malformed envelope"},
		{name: "trailing data", body: append(append([]byte{}, body...), []byte(`{}`)...), wantErr: "trailing data"},
		{name: "missing id", body: withField("id", nil), wantErr: "UUIDv7"},
		{name: "uuid v4 id", body: withField("id", "9b2f6a7e-3c4d-4e5f-8a9b-0c1d2e3f4a5b"), wantErr: "UUIDv7"},
		{name: "unsupported type", body: withField("type", "decide.product.created"), wantErr: "{context}"},
		{name: "missing time", body: withField("time", nil), wantErr: "time is missing"},
		{name: "bad time", body: withField("time", "yesterday"), wantErr: "malformed envelope"},
		{name: "missing data", body: withField("data", nil), wantErr: "data is missing"},
		{name: "array envelope", body: []byte(`[1]`), wantErr: "malformed envelope"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			e, err := Decode(tt.body)
			if tt.wantErr != "" {
				var de *DecodeError
				if !errors.As(err, &de) || !strings.Contains(de.Reason, tt.wantErr) {
					t.Fatalf("Decode error = %v, want a DecodeError with %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("Decode: %v", err)
			}
			tt.check(t, e)
		})
	}
}

func TestTopicMatch(t *testing.T) {
	t.Parallel()
	tests := []struct {
		pattern, key string
		want         bool
	}{
		{"decide.product.created.v1", "decide.product.created.v1", true},
		{"decide.product.created.v1", "decide.product.created.v2", false},
		{"decide.product.*.v1", "decide.product.updated.v1", true},
		{"decide.*.v1", "decide.product.updated.v1", false},
		{"decide.#", "decide.product.updated.v1", true},
		{"#", "a.b.c.v1", true},
		{"decide.#.v1", "decide.product.updated.v1", true},
		{"decide.#.v1", "decide.product.updated.v2", false},
		{"*.*.*.v1", "x.y.z.v1", true},
	}
	for _, tt := range tests {
		if got := topicMatch(strings.Split(tt.pattern, "."), strings.Split(tt.key, ".")); got != tt.want {
			t.Errorf("topicMatch(%q, %q) = %t, want %t", tt.pattern, tt.key, got, tt.want)
		}
	}
}

func TestHandleRejectsBadKeys(t *testing.T) {
	t.Parallel()
	for _, key := range []string{"", "decide..v1", "decide.prod*.v1", "decide.product.created"} {
		c := NewConsumer(ConsumerOptions{Name: "x", AMQPURL: "amqp://x", Pool: nil})
		c.Handle(key, func(context.Context, pgx.Tx, Event) error { return nil })
		if err := c.Run(context.Background()); err == nil {
			t.Errorf("Run after Handle(%q) did not fail", key)
		}
	}
}

func TestTraceparentRoundTrip(t *testing.T) {
	t.Parallel()
	tp := "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"
	ctx := ContextWithTraceparent(context.Background(), tp)
	if got := TraceparentFrom(ctx); got != tp {
		t.Fatalf("TraceparentFrom = %q, want %q", got, tp)
	}
	if sc := trace.SpanContextFromContext(ctx); sc.TraceID().String() != "4bf92f3577b34da6a3ce929d0e0e4736" {
		t.Fatalf("trace id = %s", sc.TraceID())
	}
	if got := TraceparentFrom(context.Background()); got != "" {
		t.Fatalf("TraceparentFrom(empty) = %q", got)
	}
}

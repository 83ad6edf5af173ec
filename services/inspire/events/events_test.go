package events_test

import (
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/inlay-dev/inlay/services/inspire"
	inspireevents "github.com/inlay-dev/inlay/services/inspire/events"
	"github.com/inlay-dev/inlay/services/inspire/postgres"
	"github.com/inlay-dev/inlay/services/kit/events"
	"github.com/inlay-dev/inlay/services/kit/kittest"
)

// decideExample reads one of decide's example events, the contract inspire's reader must accept.
// It is read as a file, never imported: teams share no code.
func decideExample(t *testing.T, name string) events.Event {
	t.Helper()
	raw, err := os.ReadFile(filepath.Join("..", "..", "decide", "events", "testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	e, err := events.Decode(raw)
	if err != nil {
		t.Fatalf("decide's example %s: %v", name, err)
	}
	return e
}

func withData(t *testing.T, e events.Event, change func(m map[string]any)) events.Event {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(e.Data, &m); err != nil {
		t.Fatal(err)
	}
	change(m)
	b, err := json.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	e.Data = b
	return e
}

type fixture struct {
	t        *testing.T
	store    *postgres.Store
	handlers map[string]events.Handler
	apply    func(e events.Event) error
}

func newFixture(t *testing.T) *fixture {
	t.Helper()
	pool := kittest.Postgres(t, postgres.Migrations())
	store := postgres.NewStore(pool)
	f := &fixture{t: t, store: store, handlers: inspireevents.Handlers(store)}
	f.apply = func(e events.Event) error {
		h, ok := f.handlers[e.Type]
		if !ok {
			t.Fatalf("no handler for %s", e.Type)
		}
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		return pgx.BeginFunc(ctx, pool, func(tx pgx.Tx) error { return h(ctx, tx, e) })
	}
	return f
}

func (f *fixture) variant(sku string) (inspire.Variant, bool) {
	f.t.Helper()
	vs, err := f.store.Variants(context.Background(), []string{sku})
	if err != nil {
		f.t.Fatal(err)
	}
	if len(vs) == 0 {
		return inspire.Variant{}, false
	}
	return vs[0], true
}

func TestDecideExamples(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	created := decideExample(t, "product_created.json")
	if err := f.apply(created); err != nil {
		t.Fatal(err)
	}
	v, ok := f.variant("AU-02-BL")
	if !ok || v.ProductID != "AU-02" || v.ProductName != "SmartFarm Titan" || v.Name != "Cosmic Sapphire" ||
		v.Color != (inspire.RGB{R: 0x2a, G: 0x52, B: 0xbe}) || v.Price != 4000 || v.Image == "" {
		t.Fatalf("after product.created: %+v", v)
	}

	if err := f.apply(decideExample(t, "price_changed.json")); err != nil {
		t.Fatal(err)
	}
	if v, _ := f.variant("AU-02-BL"); v.Price != 4200 || v.Version != 2 {
		t.Errorf("after price_changed: %+v", v)
	}

	if err := f.apply(decideExample(t, "product_updated.json")); err != nil {
		t.Fatal(err)
	}
	if v, _ := f.variant("AU-02-OG"); v.ProductName != "SmartFarm Titan II" || v.Version != 3 {
		t.Errorf("after product.updated: %+v", v)
	}

	// Redelivered, the created event (version 1) must not undo later versions.
	if err := f.apply(created); err != nil {
		t.Fatal(err)
	}
	if v, _ := f.variant("AU-02-OG"); v.ProductName != "SmartFarm Titan II" {
		t.Errorf("a stale product.created was applied: %+v", v)
	}
}

func TestTolerantReader(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	e := withData(t, decideExample(t, "product_created.json"), func(m map[string]any) {
		m["launchYear"] = 2026 // a field inspire does not know
		m["variants"].([]any)[0].(map[string]any)["weight"] = "3t"
	})
	if err := f.apply(e); err != nil {
		t.Fatalf("unknown fields must be ignored: %v", err)
	}
	if _, ok := f.variant("AU-02-OG"); !ok {
		t.Error("variant not stored")
	}
}

func TestBadEventsArePermanent(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	created := decideExample(t, "product_created.json")
	price := decideExample(t, "price_changed.json")
	tests := []struct {
		name string
		e    events.Event
	}{
		{"not an object", func() events.Event { e := created; e.Data = json.RawMessage(`[1]`); return e }()},
		{"no id", withData(t, created, func(m map[string]any) { delete(m, "id") })},
		{"no version", withData(t, created, func(m map[string]any) { delete(m, "version") })},
		{"bad colour", withData(t, created, func(m map[string]any) {
			m["variants"].([]any)[0].(map[string]any)["color"] = "copper"
		})},
		{"variant without sku", withData(t, created, func(m map[string]any) {
			delete(m["variants"].([]any)[0].(map[string]any), "sku")
		})},
		{"price without sku", withData(t, price, func(m map[string]any) { delete(m, "sku") })},
		{"negative price", withData(t, price, func(m map[string]any) { m["price"] = -1 })},
	}
	for _, tt := range tests {
		if err := f.apply(tt.e); !events.IsPermanent(err) {
			t.Errorf("%s: %v, want a permanent error", tt.name, err)
		}
	}
}

func TestPriceOfUnknownVariantIsRetried(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	err := f.apply(decideExample(t, "price_changed.json"))
	if !errors.Is(err, inspireevents.ErrUnknownVariant) || events.IsPermanent(err) {
		t.Fatalf("price before product: %v, want a retryable ErrUnknownVariant", err)
	}
}

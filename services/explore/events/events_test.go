package events_test

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/inlay-dev/inlay/services/explore"
	"github.com/inlay-dev/inlay/services/explore/events"
	"github.com/inlay-dev/inlay/services/explore/postgres"
	"github.com/inlay-dev/inlay/services/explore/seed"
	kitevents "github.com/inlay-dev/inlay/services/kit/events"
	"github.com/inlay-dev/inlay/services/kit/kittest"
	"github.com/inlay-dev/inlay/services/kit/kittest/maintest"
)

// decideExamples is where decide keeps its example events: the contract these tests decode.
const decideExamples = "../../decide/events/testdata"

// mustDecideEvent reads one of decide's example events with the strict envelope decoder.
func mustDecideEvent(t *testing.T, name string) kitevents.Event {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(decideExamples, name))
	if err != nil {
		t.Fatalf("decide's example event: %v", err)
	}
	e, err := kitevents.Decode(b)
	if err != nil {
		t.Fatalf("decode %s: %v", name, err)
	}
	return e
}

// mustExploreDB returns explore's database, migrated (with the event tables) and seeded.
func mustExploreDB(t *testing.T) (*pgxpool.Pool, *postgres.Catalog) {
	t.Helper()
	ctx := context.Background()
	pool := kittest.Postgres(t, postgres.Migrations())
	if err := kitevents.Migrate(ctx, pool); err != nil {
		t.Fatal(err)
	}
	data, err := seed.Load()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := postgres.NewSeeder(pool).Seed(ctx, data.Categories, data.Stores, data.Teasers); err != nil {
		t.Fatal(err)
	}
	return pool, postgres.NewCatalog(pool)
}

func mustHandle(t *testing.T, pool *pgxpool.Pool, h kitevents.Handler, e kitevents.Event) {
	t.Helper()
	if err := pgx.BeginFunc(context.Background(), pool, func(tx pgx.Tx) error { return h(context.Background(), tx, e) }); err != nil {
		t.Fatalf("handle %s: %v", e.Type, err)
	}
}

func mustProduct(t *testing.T, c *postgres.Catalog, id string) explore.ProductSummary {
	t.Helper()
	p, err := c.Product(context.Background(), id)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func TestDecideExamplesInAnyOrder(t *testing.T) {
	t.Parallel()
	created := mustDecideEvent(t, "product_created.json") // AU-02 v1: OG 4100, BL 4000
	price := mustDecideEvent(t, "price_changed.json")     // v2: BL 4000 → 4200
	updated := mustDecideEvent(t, "product_updated.json") // v3: renamed, BL 4000 again
	var thumbnail struct {
		Variants []struct{ Thumbnail string } `json:"variants"`
	}
	if err := json.Unmarshal(created.Data, &thumbnail); err != nil || len(thumbnail.Variants) < 2 {
		t.Fatalf("decide's product example: %v", err)
	}
	for _, tc := range []struct {
		name  string
		order []kitevents.Event
		price int64
		pname string
	}{
		{"created", []kitevents.Event{created}, 4000, "SmartFarm Titan"},
		{"created, price", []kitevents.Event{created, price}, 4100, "SmartFarm Titan"},
		{"in order", []kitevents.Event{created, price, updated}, 4000, "SmartFarm Titan II"},
		{"each twice", []kitevents.Event{created, created, price, price, updated, updated}, 4000, "SmartFarm Titan II"},
		{"price first", []kitevents.Event{price, created}, 4100, "SmartFarm Titan"},
		{"reversed", []kitevents.Event{updated, price, created}, 4000, "SmartFarm Titan II"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			pool, catalog := mustExploreDB(t)
			h := events.NewHandlers(catalog)
			for _, e := range tc.order {
				handler := h.Product
				if e.Type == events.PriceChanged {
					handler = h.Price
				}
				mustHandle(t, pool, handler, e)
			}
			p := mustProduct(t, catalog, "AU-02")
			if p.StartPrice != tc.price || p.Name != tc.pname || p.Category != "autonomous" {
				t.Errorf("%+v, want %s from %d", p, tc.pname, tc.price)
			}
			if p.Image == "" || p.Color == "" {
				t.Errorf("no image or colour: %+v", p)
			}
		})
	}
}

// writerFunc is a Writer whose calls are recorded.
type writerFunc struct {
	product func(explore.ProductChange, int64) error
	price   func(explore.PriceChange, int64) error
}

func (w writerFunc) ApplyProduct(_ context.Context, _ pgx.Tx, p explore.ProductChange, v int64) error {
	return w.product(p, v)
}

func (w writerFunc) ApplyPrice(_ context.Context, _ pgx.Tx, ch explore.PriceChange, v int64) error {
	return w.price(ch, v)
}

func TestTolerantReader(t *testing.T) {
	t.Parallel()
	var gotProduct explore.ProductChange
	var gotPrice explore.PriceChange
	var gotVersion int64
	h := events.NewHandlers(writerFunc{
		product: func(p explore.ProductChange, v int64) error { gotProduct, gotVersion = p, v; return nil },
		price:   func(ch explore.PriceChange, v int64) error { gotPrice, gotVersion = ch, v; return nil },
	})
	ev := func(typ, data string) kitevents.Event {
		return kitevents.Event{ID: "01a207b9-9386-7ac3-83d4-f89df26f476e", Type: typ, Data: json.RawMessage(data)}
	}
	for _, tc := range []struct {
		name      string
		e         kitevents.Event
		permanent bool
		check     func() bool
	}{
		{"unknown fields are ignored", ev(events.ProductCreated,
			`{"id":"X-1","name":"X","category":"classic","future":{"a":1},"variants":[{"sku":"X-1-RD","price":10,"color":"#ff0000","thumbnail":"/t.svg","image":"/i.svg","weight":3}],"version":7}`),
			false, func() bool {
				return gotProduct.ID == "X-1" && gotVersion == 7 && len(gotProduct.Variants) == 1 &&
					gotProduct.Variants[0].Image == "/t.svg" && gotProduct.Variants[0].Price == 10
			}},
		{"the large image when there is no thumbnail", ev(events.ProductUpdated,
			`{"id":"X-1","name":"X","category":"classic","variants":[{"sku":"X-1-RD","price":10,"image":"/i.svg"}],"version":8}`),
			false, func() bool { return gotProduct.Variants[0].Image == "/i.svg" }},
		{"no variant list keeps the variants", ev(events.ProductUpdated, `{"id":"X-1","name":"Y","category":"classic","version":9}`),
			false, func() bool { return gotProduct.Name == "Y" && gotProduct.Variants == nil }},
		{"price change", ev(events.PriceChanged, `{"productId":"X-1","sku":"X-1-RD","oldPrice":10,"price":12,"version":10}`),
			false, func() bool {
				return gotPrice == explore.PriceChange{ProductID: "X-1", SKU: "X-1-RD", Price: 12} && gotVersion == 10
			}},
		{"not json", ev(events.ProductCreated, `{`), true, nil},
		{"product without id", ev(events.ProductCreated, `{"name":"X","variants":[]}`), true, nil},
		{"variant without price", ev(events.ProductCreated, `{"id":"X-1","name":"X","variants":[{"sku":"X-1-RD"}]}`), true, nil},
		{"negative price", ev(events.PriceChanged, `{"productId":"X-1","sku":"X-1-RD","price":-1}`), true, nil},
		{"price without sku", ev(events.PriceChanged, `{"productId":"X-1","price":5}`), true, nil},
	} {
		handler := h.Product
		if tc.e.Type == events.PriceChanged {
			handler = h.Price
		}
		err := handler(context.Background(), nil, tc.e)
		if tc.permanent {
			if !kitevents.IsPermanent(err) {
				t.Errorf("%s: %v, want a permanent error (parked, not retried)", tc.name, err)
			}
			continue
		}
		if err != nil || !tc.check() {
			t.Errorf("%s: %v; product %+v, price %+v, version %d", tc.name, err, gotProduct, gotPrice, gotVersion)
		}
	}
}

func TestStoreErrorsAreRetried(t *testing.T) {
	t.Parallel()
	h := events.NewHandlers(writerFunc{product: func(explore.ProductChange, int64) error { return errors.New("db down") }})
	err := h.Product(context.Background(), nil, mustDecideEvent(t, "product_created.json"))
	if err == nil || kitevents.IsPermanent(err) {
		t.Errorf("%v, want a retryable error", err)
	}
}

// TestPriceChangeThroughRabbitMQ publishes decide's example events through a real outbox, relay and
// RabbitMQ exchange to explore's consumer, and checks the start price follows; the same event
// delivered again changes nothing.
func TestPriceChangeThroughRabbitMQ(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	p := maintest.New(t)
	log := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))

	pool, catalog := mustExploreDB(t)
	type settled struct {
		id, outcome string
	}
	outcomes := make(chan settled, 16)
	consumer := kitevents.NewConsumer(kitevents.ConsumerOptions{Name: events.ConsumerName, Pool: pool,
		AMQPURL: kittest.AMQPURL(), Exchange: p.Exchange, Log: log,
		OnSettled: func(e kitevents.Event, outcome string) { outcomes <- settled{e.ID, outcome} }})
	events.NewHandlers(catalog).Register(consumer)
	p.Consume(ctx, consumer)

	// decide's side: its own outbox in its own database, published by the relay.
	publish := p.Publisher(ctx, "decide").Publish
	expect := func(want ...settled) {
		t.Helper()
		for _, w := range want {
			select {
			case got := <-outcomes:
				if got != w {
					t.Fatalf("settled %+v, want %+v", got, w)
				}
			case <-ctx.Done():
				t.Fatalf("waiting for %+v: %v", w, ctx.Err())
			}
		}
	}

	created := mustDecideEvent(t, "product_created.json")
	price := mustDecideEvent(t, "price_changed.json")
	publish(created)
	expect(settled{created.ID, "applied"})
	if p := mustProduct(t, catalog, "AU-02"); p.StartPrice != 4000 {
		t.Fatalf("after product.created: from %d, want 4000", p.StartPrice)
	}

	publish(price)
	expect(settled{price.ID, "applied"})
	if p := mustProduct(t, catalog, "AU-02"); p.StartPrice != 4100 {
		t.Fatalf("after price_changed (AU-02-BL 4000 → 4200): from %d, want 4100", p.StartPrice)
	}

	// The same event published again, as a relay that died between the broker's confirm and marking
	// the row sent would: the inbox drops it.
	republish := p.Publisher(ctx, "decide").Publish
	republish(price)
	expect(settled{price.ID, "duplicate"})
	if p := mustProduct(t, catalog, "AU-02"); p.StartPrice != 4100 {
		t.Fatalf("after the duplicate: from %d, want 4100", p.StartPrice)
	}
	var inbox int
	if err := pool.QueryRow(ctx, `SELECT count(*) FROM inlay_inbox WHERE event_id = $1`, price.ID).Scan(&inbox); err != nil || inbox != 1 {
		t.Errorf("inbox rows for the price change: %d, %v", inbox, err)
	}
}

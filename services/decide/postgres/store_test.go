package postgres_test

import (
	"context"
	"encoding/json"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/inlay-dev/inlay/services/decide"
	decideevents "github.com/inlay-dev/inlay/services/decide/events"
	"github.com/inlay-dev/inlay/services/decide/postgres"
	"github.com/inlay-dev/inlay/services/decide/seed"
	"github.com/inlay-dev/inlay/services/decide/static"
	"github.com/inlay-dev/inlay/services/kit/errs"
	"github.com/inlay-dev/inlay/services/kit/events"
	"github.com/inlay-dev/inlay/services/kit/kittest"
)

func newStore(t *testing.T) (*postgres.Store, *pgxpool.Pool) {
	t.Helper()
	pool := kittest.Postgres(t, postgres.Migrations())
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := events.Migrate(ctx, pool); err != nil {
		t.Fatal(err)
	}
	return postgres.NewStore(pool, decideevents.NewPublisher(static.New("/static/decide"))), pool
}

func ctx(t *testing.T) context.Context {
	t.Helper()
	c, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	t.Cleanup(cancel)
	return c
}

type outboxRow struct {
	Type, Subject string
	Body          events.Event
}

func outbox(t *testing.T, pool *pgxpool.Pool) []outboxRow {
	t.Helper()
	rows, err := pool.Query(ctx(t), `SELECT type, subject, body FROM inlay_outbox ORDER BY seq`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var out []outboxRow
	for rows.Next() {
		var r outboxRow
		var body []byte
		if err := rows.Scan(&r.Type, &r.Subject, &body); err != nil {
			t.Fatal(err)
		}
		if r.Body, err = events.Decode(body); err != nil {
			t.Fatalf("outbox row is not a valid event: %v", err)
		}
		out = append(out, r)
	}
	return out
}

func mustSeed(t *testing.T, s *postgres.Store, ps []decide.Product) postgres.SeedResult {
	t.Helper()
	res, err := s.Seed(ctx(t), ps)
	if err != nil {
		t.Fatal(err)
	}
	return res
}

func catalog(t *testing.T) []decide.Product {
	t.Helper()
	ps, err := seed.Products()
	if err != nil {
		t.Fatal(err)
	}
	return ps
}

func TestSeedIsIdempotent(t *testing.T) {
	t.Parallel()
	s, pool := newStore(t)
	ps := catalog(t)

	if res := mustSeed(t, s, ps); res != (postgres.SeedResult{Created: 23}) {
		t.Fatalf("first seed: %+v", res)
	}
	rows := outbox(t, pool)
	if len(rows) != 23 {
		t.Fatalf("first seed wrote %d events, want 23", len(rows))
	}
	for i, r := range rows {
		if r.Type != decideevents.ProductCreatedType || r.Subject != ps[i].ID {
			t.Errorf("event %d: %s %s", i, r.Type, r.Subject)
		}
	}
	var created decideevents.Product
	if err := json.Unmarshal(rows[1].Body.Data, &created); err != nil {
		t.Fatal(err)
	}
	if created.ID != "AU-02" || created.Version != 1 || len(created.Variants) != 3 || created.Variants[0].Image == "" {
		t.Errorf("created payload %+v", created)
	}

	if res := mustSeed(t, s, ps); res != (postgres.SeedResult{Unchanged: 23}) {
		t.Fatalf("second seed: %+v", res)
	}
	if n := len(outbox(t, pool)); n != 23 {
		t.Fatalf("second seed wrote events: %d in the outbox", n)
	}
	all, err := s.Products(ctx(t))
	if err != nil {
		t.Fatal(err)
	}
	if len(all) != 23 || all[0].ID != ps[0].ID || all[22].ID != ps[22].ID {
		t.Fatalf("products not in catalog order: %d", len(all))
	}
}

func TestSeedConcurrently(t *testing.T) {
	t.Parallel()
	s, pool := newStore(t)
	ps := catalog(t)
	var wg sync.WaitGroup
	errs := make(chan error, 3)
	for range 3 {
		wg.Go(func() {
			_, err := s.Seed(ctx(t), ps)
			errs <- err
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	if n := len(outbox(t, pool)); n != 23 {
		t.Fatalf("three concurrent seeds wrote %d events, want 23", n)
	}
}

func TestSeedUpdatesChangedEntriesOnly(t *testing.T) {
	t.Parallel()
	s, pool := newStore(t)
	ps := catalog(t)
	mustSeed(t, s, ps)

	// An admin's price change survives a restart with the same catalog.
	if _, err := s.ChangePrice(ctx(t), "AU-01-SI", 1111); err != nil {
		t.Fatal(err)
	}
	if res := mustSeed(t, s, ps); res != (postgres.SeedResult{Unchanged: 23}) {
		t.Fatalf("reseed: %+v", res)
	}
	p, err := s.Product(ctx(t), "AU-01")
	if err != nil {
		t.Fatal(err)
	}
	if p.Variants[0].Price != 1111 || p.Version != 2 {
		t.Fatalf("admin price lost: %+v", p)
	}

	// A changed catalog entry is applied, with its events.
	ps[1].Name = "SmartFarm Titan II"
	ps[1].Variants[0].Price = 4500
	before := len(outbox(t, pool))
	if res := mustSeed(t, s, ps); res != (postgres.SeedResult{Updated: 1, Unchanged: 22}) {
		t.Fatalf("seed of a changed catalog: %+v", res)
	}
	rows := outbox(t, pool)[before:]
	if len(rows) != 2 || rows[0].Type != decideevents.ProductUpdatedType || rows[1].Type != decideevents.PriceChangedType {
		t.Fatalf("events of the change: %+v", rows)
	}
	var pc decideevents.PriceChanged
	if err := json.Unmarshal(rows[1].Body.Data, &pc); err != nil {
		t.Fatal(err)
	}
	if pc != (decideevents.PriceChanged{ProductID: "AU-02", SKU: "AU-02-OG", OldPrice: 4100, Price: 4500, Version: 2}) {
		t.Errorf("price changed payload %+v", pc)
	}
	if res := mustSeed(t, s, ps); res != (postgres.SeedResult{Unchanged: 23}) {
		t.Fatalf("seed again: %+v", res)
	}
}

func TestChangePrice(t *testing.T) {
	t.Parallel()
	s, pool := newStore(t)
	mustSeed(t, s, catalog(t))
	base := len(outbox(t, pool))

	ch, err := s.ChangePrice(ctx(t), "AU-02-BL", 4242)
	if err != nil {
		t.Fatal(err)
	}
	if ch != (decide.PriceChange{ProductID: "AU-02", SKU: "AU-02-BL", Old: 4000, New: 4242, Version: 2}) {
		t.Errorf("change %+v", ch)
	}
	rows := outbox(t, pool)[base:]
	if len(rows) != 1 || rows[0].Type != decideevents.PriceChangedType || rows[0].Subject != "AU-02" {
		t.Fatalf("events %+v", rows)
	}
	p, err := s.ProductBySKU(ctx(t), "AU-02-BL")
	if err != nil {
		t.Fatal(err)
	}
	if v, _ := p.Variant("AU-02-BL"); v.Price != 4242 || p.Version != 2 {
		t.Errorf("stored %+v version %d", v, p.Version)
	}

	// The same price again changes nothing and publishes nothing.
	if ch, err := s.ChangePrice(ctx(t), "AU-02-BL", 4242); err != nil || ch.Version != 2 {
		t.Fatalf("same price: %+v, %v", ch, err)
	}
	if n := len(outbox(t, pool)); n != base+1 {
		t.Errorf("same price wrote an event")
	}

	tests := []struct {
		sku   string
		price int64
		code  string
	}{
		{"NOPE", 1, errs.ENOTFOUND},
		{"AU-02-BL", -1, errs.EINVALID},
	}
	for _, tt := range tests {
		if _, err := s.ChangePrice(ctx(t), tt.sku, tt.price); errs.Code(err) != tt.code {
			t.Errorf("ChangePrice(%s, %d) = %v, want %s", tt.sku, tt.price, err, tt.code)
		}
	}
}

func TestConcurrentPriceChangesGetDistinctVersions(t *testing.T) {
	t.Parallel()
	s, pool := newStore(t)
	mustSeed(t, s, catalog(t))
	base := len(outbox(t, pool))
	var wg sync.WaitGroup
	for i := range 8 {
		wg.Go(func() {
			if _, err := s.ChangePrice(ctx(t), "AU-03-TQ", int64(2000+i)); err != nil {
				t.Error(err)
			}
		})
	}
	wg.Wait()
	versions := map[int64]bool{}
	for _, r := range outbox(t, pool)[base:] {
		var pc decideevents.PriceChanged
		if err := json.Unmarshal(r.Body.Data, &pc); err != nil {
			t.Fatal(err)
		}
		if versions[pc.Version] {
			t.Errorf("version %d published twice", pc.Version)
		}
		versions[pc.Version] = true
	}
	p, err := s.Product(ctx(t), "AU-03")
	if err != nil {
		t.Fatal(err)
	}
	if len(versions) != 8 || p.Version != 9 {
		t.Errorf("%d events, product version %d; want 8 and 9", len(versions), p.Version)
	}
}

func TestReads(t *testing.T) {
	t.Parallel()
	s, _ := newStore(t)
	mustSeed(t, s, catalog(t))
	if _, err := s.Product(ctx(t), "NOPE"); errs.Code(err) != errs.ENOTFOUND {
		t.Errorf("unknown product: %v", err)
	}
	if _, err := s.ProductBySKU(ctx(t), "NOPE"); errs.Code(err) != errs.ENOTFOUND {
		t.Errorf("unknown sku: %v", err)
	}
	p, err := s.Product(ctx(t), "AU-03")
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"AU-03-TQ", "AU-03-PL", "AU-03-RD", "AU-03-YE"}
	if len(p.Variants) != len(want) || len(p.Highlights) != 3 {
		t.Fatalf("AU-03: %+v", p)
	}
	for i, v := range p.Variants {
		if v.SKU != want[i] {
			t.Errorf("variant %d = %s, want %s (catalog order)", i, v.SKU, want[i])
		}
	}
}

func TestUpdate(t *testing.T) {
	t.Parallel()
	s, pool := newStore(t)
	mustSeed(t, s, catalog(t))
	base := len(outbox(t, pool))
	p, _, err := s.Update(ctx(t), "AU-01", func(p *decide.Product) error {
		p.Highlights = append(p.Highlights, "Now with cup holder.")
		p.Variants = append(p.Variants, decide.Variant{SKU: "AU-01-BK", Name: "Black", Color: "#000000", Price: 1200})
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if p.Version != 2 || len(p.Variants) != 2 {
		t.Fatalf("updated %+v", p)
	}
	rows := outbox(t, pool)[base:]
	if len(rows) != 1 || rows[0].Type != decideevents.ProductUpdatedType {
		t.Fatalf("events %+v", rows)
	}
	if got, err := s.ProductBySKU(ctx(t), "AU-01-BK"); err != nil || got.ID != "AU-01" {
		t.Errorf("new variant: %v %v", got.ID, err)
	}
	_, _, err = s.Update(ctx(t), "AU-01", func(p *decide.Product) error { p.ID = "AU-99"; return nil })
	if errs.Code(err) != errs.EINVALID {
		t.Errorf("changing the id: %v", err)
	}
	_, _, err = s.Update(ctx(t), "AU-01", func(p *decide.Product) error { p.Variants = nil; return nil })
	if errs.Code(err) != errs.EINVALID {
		t.Errorf("removing every variant: %v", err)
	}
	if n := len(outbox(t, pool)); n != base+1 {
		t.Errorf("failed updates wrote events")
	}
}

func TestRepublish(t *testing.T) {
	t.Parallel()
	s, pool := newStore(t)
	mustSeed(t, s, catalog(t))
	n, err := s.Republish(ctx(t))
	if err != nil || n != 23 {
		t.Fatalf("Republish = %d, %v", n, err)
	}
	rows := outbox(t, pool)
	if len(rows) != 46 || rows[23].Type != decideevents.ProductUpdatedType {
		t.Fatalf("outbox after republish: %d rows", len(rows))
	}
}

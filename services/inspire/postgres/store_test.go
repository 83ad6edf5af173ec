package postgres_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/inlay-dev/inlay/services/inspire"
	"github.com/inlay-dev/inlay/services/inspire/postgres"
	"github.com/inlay-dev/inlay/services/kit/kittest"
)

func ctx(t *testing.T) context.Context {
	t.Helper()
	c, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	t.Cleanup(cancel)
	return c
}

func newStore(t *testing.T) (*postgres.Store, *pgxpool.Pool) {
	t.Helper()
	pool := kittest.Postgres(t, postgres.Migrations())
	return postgres.NewStore(pool), pool
}

func inTx(t *testing.T, pool *pgxpool.Pool, fn func(tx pgx.Tx) error) {
	t.Helper()
	if err := pgx.BeginFunc(ctx(t), pool, fn); err != nil {
		t.Fatal(err)
	}
}

func variant(product, sku, hex string, price int64) inspire.Variant {
	c, err := inspire.ParseColor(hex)
	if err != nil {
		panic(err)
	}
	return inspire.Variant{SKU: sku, ProductID: product, ProductName: "Product " + product, Name: "Variant " + sku,
		Color: c, Price: price, Image: "/img/" + sku + ".svg"}
}

func get(t *testing.T, s *postgres.Store, sku string) (inspire.Variant, bool) {
	t.Helper()
	vs, err := s.Variants(ctx(t), []string{sku})
	if err != nil {
		t.Fatal(err)
	}
	if len(vs) == 0 {
		return inspire.Variant{}, false
	}
	return vs[0], true
}

func TestApplyProductIsIdempotentAndVersionGuarded(t *testing.T) {
	t.Parallel()
	s, pool := newStore(t)
	v1 := []inspire.Variant{variant("AU-02", "AU-02-OG", "#dd5219", 4100), variant("AU-02", "AU-02-BL", "#2a52be", 4000)}
	for range 2 { // the same event twice
		inTx(t, pool, func(tx pgx.Tx) error { return s.ApplyProduct(ctx(t), tx, "AU-02", 1, v1) })
	}
	if got, ok := get(t, s, "AU-02-BL"); !ok || got.Price != 4000 || got.Version != 1 || got.ProductName != "Product AU-02" ||
		got.Color != (inspire.RGB{R: 0x2a, G: 0x52, B: 0xbe}) || got.Image != "/img/AU-02-BL.svg" {
		t.Fatalf("after created: %+v", got)
	}

	// Version 3 drops a variant and renames another.
	v3 := []inspire.Variant{variant("AU-02", "AU-02-BL", "#2a52be", 3900)}
	v3[0].Name = "Sapphire"
	inTx(t, pool, func(tx pgx.Tx) error { return s.ApplyProduct(ctx(t), tx, "AU-02", 3, v3) })
	// A stale version 2 arriving late changes nothing.
	inTx(t, pool, func(tx pgx.Tx) error { return s.ApplyProduct(ctx(t), tx, "AU-02", 2, v1) })

	if _, ok := get(t, s, "AU-02-OG"); ok {
		t.Error("a variant removed in version 3 came back")
	}
	if got, _ := get(t, s, "AU-02-BL"); got.Price != 3900 || got.Name != "Sapphire" || got.Version != 3 {
		t.Errorf("after a stale event: %+v", got)
	}
	if n, err := s.Count(ctx(t)); err != nil || n != 1 {
		t.Errorf("Count = %d, %v", n, err)
	}
}

func TestApplyPrice(t *testing.T) {
	t.Parallel()
	s, pool := newStore(t)
	inTx(t, pool, func(tx pgx.Tx) error {
		return s.ApplyProduct(ctx(t), tx, "CL-01", 1, []inspire.Variant{variant("CL-01", "CL-01-GY", "#808080", 5000)})
	})
	tests := []struct {
		name           string
		sku            string
		price, version int64
		known          bool
		wantPrice      int64
	}{
		{"newer", "CL-01-GY", 5200, 2, true, 5200},
		{"again", "CL-01-GY", 5200, 2, true, 5200},
		{"stale", "CL-01-GY", 4800, 1, true, 5200},
		{"unknown", "CL-99-XX", 1, 5, false, 5200},
	}
	for _, tt := range tests {
		var known bool
		inTx(t, pool, func(tx pgx.Tx) error {
			var err error
			known, err = s.ApplyPrice(ctx(t), tx, tt.sku, tt.price, tt.version)
			return err
		})
		got, _ := get(t, s, "CL-01-GY")
		if known != tt.known || got.Price != tt.wantPrice {
			t.Errorf("%s: known %v, price %d; want %v, %d", tt.name, known, got.Price, tt.known, tt.wantPrice)
		}
	}
}

// TestNearestMatchesDomain checks the SQL ordering against inspire.Nearest on random colours.
func TestNearestMatchesDomain(t *testing.T) {
	t.Parallel()
	s, pool := newStore(t)
	r := rand.New(rand.NewPCG(7, 11))
	var all []inspire.Variant
	for p := range 60 {
		id := fmt.Sprintf("P-%02d", p)
		var vs []inspire.Variant
		for i := range 3 {
			hex := fmt.Sprintf("#%02x%02x%02x", r.IntN(256), r.IntN(256), r.IntN(256))
			if p%10 == 0 {
				hex = "#404040" // equal distances, ordered by sku
			}
			vs = append(vs, variant(id, fmt.Sprintf("%s-%d", id, i), hex, 100))
		}
		inTx(t, pool, func(tx pgx.Tx) error { return s.ApplyProduct(ctx(t), tx, id, 1, vs) })
		all = append(all, vs...)
	}
	for i := range 25 {
		target := inspire.RGB{R: uint8(r.IntN(256)), G: uint8(r.IntN(256)), B: uint8(r.IntN(256))}
		if i == 0 {
			target = inspire.RGB{R: 0x40, G: 0x40, B: 0x40}
		}
		exclude := []string{all[r.IntN(len(all))].SKU, "P-00-0"}
		got, err := s.Nearest(ctx(t), target, exclude, inspire.MaxRecommendations)
		if err != nil {
			t.Fatal(err)
		}
		want := inspire.Nearest(all, target, exclude, inspire.MaxRecommendations)
		if !slices.Equal(skusOf(got), skusOf(want)) {
			t.Errorf("target %v: store %v, domain %v", target, skusOf(got), skusOf(want))
		}
	}
	if got, err := s.Nearest(ctx(t), inspire.RGB{}, nil, 2); err != nil || len(got) != 2 {
		t.Errorf("without exclusions: %v, %v", got, err)
	}
}

func skusOf(vs []inspire.Variant) []string {
	out := make([]string, 0, len(vs))
	for _, v := range vs {
		out = append(out, v.SKU)
	}
	return out
}

func BenchmarkNearest(b *testing.B) {
	s, pool := newStoreB(b)
	r := rand.New(rand.NewPCG(1, 2))
	err := pgx.BeginFunc(context.Background(), pool, func(tx pgx.Tx) error {
		for p := range 5000 {
			id := fmt.Sprintf("P-%05d", p)
			vs := []inspire.Variant{
				variant(id, id+"-A", fmt.Sprintf("#%06x", r.IntN(1<<24)), 100),
				variant(id, id+"-B", fmt.Sprintf("#%06x", r.IntN(1<<24)), 100),
			}
			if err := s.ApplyProduct(context.Background(), tx, id, 1, vs); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := s.Nearest(context.Background(), inspire.RGB{R: 10, G: 200, B: 30}, []string{"P-00001-A"}, 4); err != nil {
			b.Fatal(err)
		}
	}
}

func newStoreB(b *testing.B) (*postgres.Store, *pgxpool.Pool) {
	b.Helper()
	pool := kittest.Postgres(b, postgres.Migrations())
	return postgres.NewStore(pool), pool
}

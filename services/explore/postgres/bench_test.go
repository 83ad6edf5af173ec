package postgres_test

import (
	"context"
	"fmt"
	"testing"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/inlay-dev/inlay/services/explore"
	"github.com/inlay-dev/inlay/services/explore/postgres"
)

// BenchmarkSearch measures one search against the storefront catalog (23 products) and against it
// plus 20,000 generated products, with an exact name, a typo and a term nothing matches.
func BenchmarkSearch(b *testing.B) {
	for _, generated := range []int{0, 20000} {
		c, pool := mustCatalog(b)
		mustLoadCatalog(b, pool, c)
		mustGenerate(b, pool, c, generated)
		for _, q := range []string{"verde voyager", "tracter", "xqzjw"} {
			b.Run(fmt.Sprintf("products=%d/q=%s", 23+generated, q), func(b *testing.B) {
				b.ReportAllocs()
				ctx := context.Background()
				for b.Loop() {
					if _, err := c.Search(ctx, q, 48); err != nil {
						b.Fatal(err)
					}
				}
			})
		}
	}
}

// BenchmarkProducts measures listing one category of the storefront catalog.
func BenchmarkProducts(b *testing.B) {
	c, pool := mustCatalog(b)
	mustLoadCatalog(b, pool, c)
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		if _, err := c.Products(ctx, "classic", 240); err != nil {
			b.Fatal(err)
		}
	}
}

// mustGenerate adds n generated products of two variants each, named from a small vocabulary, and
// refreshes the planner's statistics.
func mustGenerate(b *testing.B, pool *pgxpool.Pool, c *postgres.Catalog, n int) {
	b.Helper()
	if n == 0 {
		return
	}
	words := []string{"Harvest", "Field", "Titan", "Rover", "Plough", "Meadow", "Thunder", "Valley", "Ridge", "Comet"}
	ctx := context.Background()
	err := pgx.BeginFunc(ctx, pool, func(tx pgx.Tx) error {
		for i := range n {
			p := explore.ProductChange{ID: fmt.Sprintf("GEN-%05d", i),
				Name:     fmt.Sprintf("%s %s %d", words[i%len(words)], words[(i/len(words))%len(words)], i),
				Category: []string{"classic", "autonomous"}[i%2],
				Variants: []explore.Variant{
					{SKU: fmt.Sprintf("GEN-%05d-RD", i), Name: "Red", Color: "#ff0000", Price: int64(1000 + i%9000)},
					{SKU: fmt.Sprintf("GEN-%05d-BL", i), Name: "Blue", Color: "#0000ff", Price: int64(1500 + i%9000)},
				}}
			if err := c.ApplyProduct(ctx, tx, p, 1); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		b.Fatal(err)
	}
	if _, err := pool.Exec(ctx, "VACUUM ANALYZE"); err != nil {
		b.Fatal(err)
	}
}

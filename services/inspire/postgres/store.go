package postgres

import (
	"context"
	"fmt"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/inlay-dev/inlay/services/inspire"
	inspireevents "github.com/inlay-dev/inlay/services/inspire/events"
)

// Store is inspire's read model of variants. Reads use the pool; writes run inside the transaction
// of the event being handled, so a change and its inbox row commit together.
type Store struct {
	pool *pgxpool.Pool
}

var (
	_ inspire.VariantStore    = (*Store)(nil)
	_ inspireevents.ReadModel = (*Store)(nil)
)

// NewStore returns a Store on pool, migrated with Migrations.
func NewStore(pool *pgxpool.Pool) *Store { return &Store{pool: pool} }

const columns = `sku, product_id, product_name, name, r, g, b, price, image, version`

func scanVariant(row pgx.CollectableRow) (inspire.Variant, error) {
	var v inspire.Variant
	err := row.Scan(&v.SKU, &v.ProductID, &v.ProductName, &v.Name, &v.Color.R, &v.Color.G, &v.Color.B,
		&v.Price, &v.Image, &v.Version)
	return v, err
}

// Variants returns those of skus the read model holds, ordered by sku.
func (s *Store) Variants(ctx context.Context, skus []string) ([]inspire.Variant, error) {
	rows, err := s.pool.Query(ctx, `SELECT `+columns+` FROM variants WHERE sku = ANY($1) ORDER BY sku`, skus)
	if err != nil {
		return nil, fmt.Errorf("read variants: %w", err)
	}
	vs, err := pgx.CollectRows(rows, scanVariant)
	if err != nil {
		return nil, fmt.Errorf("read variants: %w", err)
	}
	return vs, nil
}

// Nearest returns up to n variants nearest in colour to target, leaving out exclude; equal distances
// are ordered by sku (as inspire.SortByDistance). It scans the read model, which holds one row per
// variant: thousands of rows take a millisecond or two.
func (s *Store) Nearest(ctx context.Context, target inspire.RGB, exclude []string, n int) ([]inspire.Variant, error) {
	if exclude == nil {
		exclude = []string{}
	}
	rows, err := s.pool.Query(ctx, `SELECT `+columns+` FROM variants WHERE sku <> ALL($4)
		ORDER BY (r - $1) * (r - $1) + (g - $2) * (g - $2) + (b - $3) * (b - $3), sku LIMIT $5`,
		int(target.R), int(target.G), int(target.B), exclude, n)
	if err != nil {
		return nil, fmt.Errorf("nearest variants: %w", err)
	}
	vs, err := pgx.CollectRows(rows, scanVariant)
	if err != nil {
		return nil, fmt.Errorf("nearest variants: %w", err)
	}
	return vs, nil
}

// Count returns how many variants the read model holds.
func (s *Store) Count(ctx context.Context) (int, error) {
	var n int
	if err := s.pool.QueryRow(ctx, `SELECT count(*) FROM variants`).Scan(&n); err != nil {
		return 0, fmt.Errorf("count variants: %w", err)
	}
	return n, nil
}

// ApplyProduct makes the read model hold exactly variants for the product id at version, in tx,
// unless it already holds a newer version of that product: variants are upserted, variants of the
// product missing from the list are removed. Applying the same version again changes nothing.
func (s *Store) ApplyProduct(ctx context.Context, tx pgx.Tx, id string, version int64, variants []inspire.Variant) error {
	// Lock the product's rows so two versions applied at once cannot interleave.
	var newest int64
	if err := tx.QueryRow(ctx, `SELECT coalesce(max(version), 0) FROM
		(SELECT version FROM variants WHERE product_id = $1 FOR UPDATE) v`, id).Scan(&newest); err != nil {
		return fmt.Errorf("product %s version: %w", id, err)
	}
	if newest > version {
		return nil // a newer state is already here
	}
	skus := make([]string, 0, len(variants))
	for _, v := range variants {
		skus = append(skus, v.SKU)
	}
	if _, err := tx.Exec(ctx, `DELETE FROM variants WHERE product_id = $1 AND sku <> ALL($2)`, id, skus); err != nil {
		return fmt.Errorf("remove variants of %s: %w", id, err)
	}
	for _, v := range variants {
		_, err := tx.Exec(ctx, `
			INSERT INTO variants (sku, product_id, product_name, name, color, r, g, b, price, image, version)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)
			ON CONFLICT (sku) DO UPDATE SET product_id = excluded.product_id, product_name = excluded.product_name,
				name = excluded.name, color = excluded.color, r = excluded.r, g = excluded.g, b = excluded.b,
				price = excluded.price, image = excluded.image, version = excluded.version
			WHERE variants.version <= excluded.version`,
			v.SKU, id, v.ProductName, v.Name, v.Color.Hex(), int(v.Color.R), int(v.Color.G), int(v.Color.B),
			v.Price, v.Image, version)
		if err != nil {
			return fmt.Errorf("upsert variant %s: %w", v.SKU, err)
		}
	}
	return nil
}

// ApplyPrice sets the price of sku as of version, in tx, unless the read model holds a newer version.
// It reports whether the read model holds sku at all.
func (s *Store) ApplyPrice(ctx context.Context, tx pgx.Tx, sku string, price, version int64) (bool, error) {
	var exists bool
	err := tx.QueryRow(ctx, `WITH u AS (UPDATE variants SET price = $2, version = $3 WHERE sku = $1 AND version <= $3 RETURNING 1)
		SELECT EXISTS (SELECT 1 FROM u) OR EXISTS (SELECT 1 FROM variants WHERE sku = $1)`, sku, price, version).Scan(&exists)
	if err != nil {
		return false, fmt.Errorf("change price of %s: %w", sku, err)
	}
	return exists, nil
}

// Package postgres stores explore's data in its own PostgreSQL database: categories, stores and
// teasers (seeded), product summaries (from decide's events) and the search index.
package postgres

import (
	"context"
	"fmt"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/inlay-dev/inlay/services/explore"
)

// Seeder writes explore's own data.
type Seeder struct{ db *pgxpool.Pool }

// NewSeeder returns a Seeder on db.
func NewSeeder(db *pgxpool.Pool) *Seeder { return &Seeder{db: db} }

// Seed upserts the categories, stores and teasers in one transaction, in the given order. Running it
// again changes nothing, so every start may seed.
func (s *Seeder) Seed(ctx context.Context, categories []explore.Category, stores []explore.Store, teasers []explore.Teaser) error {
	return pgx.BeginFunc(ctx, s.db, func(tx pgx.Tx) error {
		b := &pgx.Batch{}
		for i, c := range categories {
			b.Queue(`INSERT INTO categories (key, name, title, position) VALUES ($1, $2, $3, $4)
				ON CONFLICT (key) DO UPDATE SET name = excluded.name, title = excluded.title, position = excluded.position`,
				c.Key, c.Name, c.Title, i)
		}
		for i, st := range stores {
			b.Queue(`INSERT INTO stores (id, name, street, city, position) VALUES ($1, $2, $3, $4, $5)
				ON CONFLICT (id) DO UPDATE SET name = excluded.name, street = excluded.street, city = excluded.city,
				position = excluded.position`, st.ID, st.Name, st.Street, st.City, i)
		}
		for i, t := range teasers {
			b.Queue(`INSERT INTO teasers (category, title, url, position) VALUES ($1, $2, $3, $4)
				ON CONFLICT (category) DO UPDATE SET title = excluded.title, url = excluded.url, position = excluded.position`,
				t.Category, t.Title, t.URL, i)
		}
		if err := tx.SendBatch(ctx, b).Close(); err != nil {
			return fmt.Errorf("seed explore: %w", err)
		}
		return nil
	})
}

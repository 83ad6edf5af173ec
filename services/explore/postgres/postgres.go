// Package postgres stores explore's data in its own PostgreSQL database: categories, stores and
// teasers (seeded; a store's change is published as explore.store.changed through the outbox),
// product summaries (from decide's events) and the search index.
package postgres

import (
	"context"
	"errors"
	"fmt"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/inlay-dev/inlay/services/explore"
	exploreevents "github.com/inlay-dev/inlay/services/explore/events"
	kitevents "github.com/inlay-dev/inlay/services/kit/events"
)

// Seeder writes explore's own data. A store's change commits with its store.changed event in the
// outbox.
type Seeder struct {
	db     *pgxpool.Pool
	outbox *kitevents.Outbox
}

// NewSeeder returns a Seeder on db (migrated, with the events tables of kit/events.Migrate).
func NewSeeder(db *pgxpool.Pool) *Seeder {
	return &Seeder{db: db, outbox: kitevents.NewOutbox(exploreevents.Source)}
}

// Seed upserts the categories, stores and teasers in one transaction, in the given order, and adds a
// store.changed event for every store that is new or changed, or was never published (version 0: seeded
// before explore published its stores); it returns how many. Running it again
// changes nothing, so every start may seed.
func (s *Seeder) Seed(ctx context.Context, categories []explore.Category, stores []explore.Store, teasers []explore.Teaser) (changed int, err error) {
	err = pgx.BeginFunc(ctx, s.db, func(tx pgx.Tx) error {
		b := &pgx.Batch{}
		for i, c := range categories {
			b.Queue(`INSERT INTO categories (key, name, title, position) VALUES ($1, $2, $3, $4)
				ON CONFLICT (key) DO UPDATE SET name = excluded.name, title = excluded.title, position = excluded.position`,
				c.Key, c.Name, c.Title, i)
		}
		for i, t := range teasers {
			b.Queue(`INSERT INTO teasers (category, title, url, position) VALUES ($1, $2, $3, $4)
				ON CONFLICT (category) DO UPDATE SET title = excluded.title, url = excluded.url, position = excluded.position`,
				t.Category, t.Title, t.URL, i)
		}
		if err := tx.SendBatch(ctx, b).Close(); err != nil {
			return fmt.Errorf("seed explore: %w", err)
		}
		changed = 0
		for i, st := range stores {
			var version int64
			err := tx.QueryRow(ctx, `INSERT INTO stores (id, name, street, city, position, version) VALUES ($1, $2, $3, $4, $5, 1)
				ON CONFLICT (id) DO UPDATE SET name = excluded.name, street = excluded.street, city = excluded.city,
				position = excluded.position, version = stores.version + 1
				WHERE (stores.name, stores.street, stores.city) IS DISTINCT FROM (excluded.name, excluded.street, excluded.city)
					OR stores.version = 0
				RETURNING version`, st.ID, st.Name, st.Street, st.City, i).Scan(&version)
			if errors.Is(err, pgx.ErrNoRows) { // unchanged; only its position may have moved
				if _, err := tx.Exec(ctx, `UPDATE stores SET position = $2 WHERE id = $1`, st.ID, i); err != nil {
					return fmt.Errorf("seed store %s: %w", st.ID, err)
				}
				continue
			}
			if err != nil {
				return fmt.Errorf("seed store %s: %w", st.ID, err)
			}
			if err := s.publish(ctx, tx, st, version); err != nil {
				return err
			}
			changed++
		}
		return nil
	})
	return changed, err
}

// RepublishStores adds a store.changed event of every store, at its current version, to the outbox:
// for consumers whose queue did not exist when the stores were first published. Consumers that hold
// a store's version ignore the repeat. It returns how many.
func (s *Seeder) RepublishStores(ctx context.Context) (int, error) {
	n := 0
	err := pgx.BeginFunc(ctx, s.db, func(tx pgx.Tx) error {
		rows, err := tx.Query(ctx, `SELECT id, name, street, city, version FROM stores ORDER BY position, id`)
		if err != nil {
			return fmt.Errorf("read stores: %w", err)
		}
		type versioned struct {
			explore.Store
			version int64
		}
		list, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (versioned, error) {
			var v versioned
			err := r.Scan(&v.ID, &v.Name, &v.Street, &v.City, &v.version)
			return v, err
		})
		if err != nil {
			return fmt.Errorf("read stores: %w", err)
		}
		for _, v := range list {
			if err := s.publish(ctx, tx, v.Store, max(v.version, 1)); err != nil {
				return err
			}
		}
		n = len(list)
		return nil
	})
	return n, err
}

func (s *Seeder) publish(ctx context.Context, tx pgx.Tx, st explore.Store, version int64) error {
	e, err := exploreevents.StoreChangedEvent(st, version)
	if err != nil {
		return err
	}
	if err := s.outbox.Add(ctx, tx, e); err != nil {
		return fmt.Errorf("store %s changed: %w", st.ID, err)
	}
	return nil
}

package postgres

import (
	"context"
	"errors"
	"fmt"
	"slices"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/inlay-dev/inlay/services/decide"
	decideevents "github.com/inlay-dev/inlay/services/decide/events"
	"github.com/inlay-dev/inlay/services/kit/errs"
	"github.com/inlay-dev/inlay/services/kit/events"
)

// Store keeps products and variants. Every change commits together with its events in the outbox.
type Store struct {
	pool   *pgxpool.Pool
	pub    *decideevents.Publisher
	outbox *events.Outbox
}

var (
	_ decide.ProductReader = (*Store)(nil)
	_ decide.PriceChanger  = (*Store)(nil)
)

// NewStore returns a Store on pool (migrated with Migrations and events.Migrate) whose events are
// built by pub.
func NewStore(pool *pgxpool.Pool, pub *decideevents.Publisher) *Store {
	return &Store{pool: pool, pub: pub, outbox: events.NewOutbox(decideevents.Source)}
}

// querier is what both the pool and a transaction offer for reads.
type querier interface {
	Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error)
	QueryRow(ctx context.Context, sql string, args ...any) pgx.Row
}

// Products returns every product in catalog order.
func (s *Store) Products(ctx context.Context) ([]decide.Product, error) {
	products, err := loadProducts(ctx, s.pool, "", false)
	if err != nil {
		return nil, fmt.Errorf("list products: %w", err)
	}
	return products, nil
}

// Product returns the product with id, or decide.ErrProductNotFound.
func (s *Store) Product(ctx context.Context, id string) (decide.Product, error) {
	return loadProduct(ctx, s.pool, id, false)
}

// ProductBySKU returns the product that has the variant sku, or decide.ErrVariantNotFound.
func (s *Store) ProductBySKU(ctx context.Context, sku string) (decide.Product, error) {
	var id string
	err := s.pool.QueryRow(ctx, `SELECT product_id FROM variants WHERE sku = $1`, sku).Scan(&id)
	if errors.Is(err, pgx.ErrNoRows) {
		return decide.Product{}, decide.ErrVariantNotFound(sku)
	}
	if err != nil {
		return decide.Product{}, fmt.Errorf("find variant %s: %w", sku, err)
	}
	p, err := loadProduct(ctx, s.pool, id, false)
	if errs.Code(err) == errs.ENOTFOUND { // deleted in between
		return decide.Product{}, decide.ErrVariantNotFound(sku)
	}
	return p, err
}

// Update changes the product id with fn inside one transaction that holds the product's row lock,
// then writes the new state and its events: product.updated when more than prices changed, and
// variant.price_changed for every changed price. When fn changes nothing, nothing is written. It
// returns the product's state after the change; decide.ErrProductNotFound for an unknown id,
// EINVALID when fn leaves the product invalid or changes its id.
func (s *Store) Update(ctx context.Context, id string, fn func(p *decide.Product) error) (decide.Product, []decide.PriceChange, error) {
	var (
		next    decide.Product
		changes []decide.PriceChange
	)
	err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		var err error
		next, changes, err = s.update(ctx, tx, id, fn, nil)
		return err
	})
	if err != nil {
		return decide.Product{}, nil, fmt.Errorf("update product %s: %w", id, err)
	}
	return next, changes, nil
}

func (s *Store) update(ctx context.Context, tx pgx.Tx, id string, fn func(p *decide.Product) error, seedHash *string) (decide.Product, []decide.PriceChange, error) {
	prev, err := loadProduct(ctx, tx, id, true)
	if err != nil {
		return decide.Product{}, nil, err
	}
	next := clone(prev)
	if err := fn(&next); err != nil {
		return decide.Product{}, nil, err
	}
	if next.ID != prev.ID {
		return decide.Product{}, nil, errs.Errorf(errs.EINVALID, "product %s: the id cannot change", prev.ID)
	}
	if err := next.Validate(); err != nil {
		return decide.Product{}, nil, err
	}
	details, changes := decide.Diff(prev, next)
	if !details && len(changes) == 0 {
		if seedHash != nil {
			_, err := tx.Exec(ctx, `UPDATE products SET seed_hash = $2 WHERE id = $1`, id, *seedHash)
			return prev, nil, err
		}
		return prev, nil, nil
	}
	next.Version = prev.Version + 1
	if err := writeProduct(ctx, tx, next, seedHash); err != nil {
		return decide.Product{}, nil, err
	}
	var es []events.Event
	if details {
		e, err := s.pub.ProductUpdated(next)
		if err != nil {
			return decide.Product{}, nil, err
		}
		es = append(es, e)
	}
	for i := range changes {
		changes[i].Version = next.Version
		e, err := s.pub.PriceChanged(changes[i])
		if err != nil {
			return decide.Product{}, nil, err
		}
		es = append(es, e)
	}
	for _, e := range es {
		if err := s.outbox.Add(ctx, tx, e); err != nil {
			return decide.Product{}, nil, err
		}
	}
	return next, changes, nil
}

// ChangePrice sets the price of the variant sku and publishes variant.price_changed in the same
// transaction. Setting the price it already has changes nothing and publishes nothing (Version is
// then the product's current version). decide.ErrVariantNotFound for an unknown sku, EINVALID for a
// negative price.
func (s *Store) ChangePrice(ctx context.Context, sku string, price int64) (decide.PriceChange, error) {
	if price < 0 {
		return decide.PriceChange{}, errs.Errorf(errs.EINVALID, "price %d is negative", price)
	}
	var id string
	err := s.pool.QueryRow(ctx, `SELECT product_id FROM variants WHERE sku = $1`, sku).Scan(&id)
	if errors.Is(err, pgx.ErrNoRows) {
		return decide.PriceChange{}, decide.ErrVariantNotFound(sku)
	}
	if err != nil {
		return decide.PriceChange{}, fmt.Errorf("find variant %s: %w", sku, err)
	}
	var old int64
	next, changes, err := s.Update(ctx, id, func(p *decide.Product) error {
		i := slices.IndexFunc(p.Variants, func(v decide.Variant) bool { return v.SKU == sku })
		if i < 0 { // moved to another product in between
			return decide.ErrVariantNotFound(sku)
		}
		old = p.Variants[i].Price
		p.Variants[i].Price = price
		return nil
	})
	if err != nil {
		return decide.PriceChange{}, fmt.Errorf("change price of %s: %w", sku, err)
	}
	for _, c := range changes {
		if c.SKU == sku {
			return c, nil
		}
	}
	return decide.PriceChange{ProductID: id, SKU: sku, Old: old, New: price, Version: next.Version}, nil
}

// SeedResult counts what Seed did.
type SeedResult struct {
	Created, Updated, Unchanged int
}

// Seed makes the store hold products, in one transaction that also writes their events: a product
// that does not exist is created (product.created); one whose catalog entry changed since it was last
// seeded is updated to it (product.updated and price_changed as Update); one whose entry did not change
// is left alone, so later changes (an admin's price change) survive a restart. Running it again with
// the same products writes nothing. Concurrent seeds (several replicas starting) run one at a time.
func (s *Store) Seed(ctx context.Context, products []decide.Product) (SeedResult, error) {
	var res SeedResult
	err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		res = SeedResult{}
		if _, err := tx.Exec(ctx, `SELECT pg_advisory_xact_lock(hashtextextended('decide.seed', 0))`); err != nil {
			return fmt.Errorf("lock: %w", err)
		}
		hashes := map[string]string{}
		rows, err := tx.Query(ctx, `SELECT id, seed_hash FROM products`)
		if err != nil {
			return fmt.Errorf("read seed hashes: %w", err)
		}
		for rows.Next() {
			var id, h string
			if err := rows.Scan(&id, &h); err != nil {
				return err
			}
			hashes[id] = h
		}
		if err := rows.Err(); err != nil {
			return fmt.Errorf("read seed hashes: %w", err)
		}
		var created []events.Event
		for i, p := range products {
			if err := p.Validate(); err != nil {
				return err
			}
			h := decide.ContentHash(p)
			old, exists := hashes[p.ID]
			switch {
			case !exists:
				p.Version = 1
				if err := writeProduct(ctx, tx, p, &h); err != nil {
					return err
				}
				if _, err := tx.Exec(ctx, `UPDATE products SET position = $2 WHERE id = $1`, p.ID, i); err != nil {
					return fmt.Errorf("position %s: %w", p.ID, err)
				}
				e, err := s.pub.ProductCreated(p)
				if err != nil {
					return err
				}
				created = append(created, e)
				res.Created++
			case old == h:
				res.Unchanged++
			default:
				if _, _, err := s.update(ctx, tx, p.ID, func(cur *decide.Product) error {
					v := cur.Version
					*cur = clone(p)
					cur.Version = v
					return nil
				}, &h); err != nil {
					return err
				}
				res.Updated++
			}
		}
		if len(created) > 0 {
			return s.outbox.AddBatch(ctx, tx, created)
		}
		return nil
	})
	if err != nil {
		return SeedResult{}, fmt.Errorf("seed products: %w", err)
	}
	return res, nil
}

// Republish writes a product.updated event with the current state of every product (same versions),
// in one transaction. Consumers that already hold a product ignore it; one that missed events (its
// queue did not exist yet) catches up. It returns the number of events written.
func (s *Store) Republish(ctx context.Context) (int, error) {
	n := 0
	err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		products, err := loadProducts(ctx, tx, "", false)
		if err != nil {
			return err
		}
		es := make([]events.Event, 0, len(products))
		for _, p := range products {
			e, err := s.pub.ProductUpdated(p)
			if err != nil {
				return err
			}
			es = append(es, e)
		}
		n = len(es)
		if n == 0 {
			return nil
		}
		return s.outbox.AddBatch(ctx, tx, es)
	})
	if err != nil {
		return 0, fmt.Errorf("republish products: %w", err)
	}
	return n, nil
}

func clone(p decide.Product) decide.Product {
	p.Highlights = slices.Clone(p.Highlights)
	p.Variants = slices.Clone(p.Variants)
	return p
}

// loadProduct reads one product; forUpdate locks its row for the transaction.
func loadProduct(ctx context.Context, q querier, id string, forUpdate bool) (decide.Product, error) {
	ps, err := loadProducts(ctx, q, id, forUpdate)
	if err != nil {
		return decide.Product{}, fmt.Errorf("load product %s: %w", id, err)
	}
	if len(ps) == 0 {
		return decide.Product{}, decide.ErrProductNotFound(id)
	}
	return ps[0], nil
}

// loadProducts reads the product id, or every product when id is empty, with their variants.
func loadProducts(ctx context.Context, q querier, id string, forUpdate bool) ([]decide.Product, error) {
	sql := `SELECT id, name, category, highlights, version FROM products WHERE ($1 = '' OR id = $1) ORDER BY position, id`
	if forUpdate {
		sql += ` FOR UPDATE`
	}
	rows, err := q.Query(ctx, sql, id)
	if err != nil {
		return nil, err
	}
	products, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (decide.Product, error) {
		var p decide.Product
		err := row.Scan(&p.ID, &p.Name, &p.Category, &p.Highlights, &p.Version)
		return p, err
	})
	if err != nil {
		return nil, err
	}
	if len(products) == 0 {
		return nil, nil
	}
	index := make(map[string]int, len(products))
	for i, p := range products {
		index[p.ID] = i
	}
	rows, err = q.Query(ctx, `SELECT product_id, sku, name, color, price FROM variants
		WHERE ($1 = '' OR product_id = $1) ORDER BY product_id, position, sku`, id)
	if err != nil {
		return nil, err
	}
	var (
		pid string
		v   decide.Variant
	)
	_, err = pgx.ForEachRow(rows, []any{&pid, &v.SKU, &v.Name, &v.Color, &v.Price}, func() error {
		if i, ok := index[pid]; ok {
			products[i].Variants = append(products[i].Variants, v)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return products, nil
}

// writeProduct upserts p and makes its variants exactly p.Variants, in order; seedHash, when not nil,
// is recorded as the catalog entry p came from.
func writeProduct(ctx context.Context, tx pgx.Tx, p decide.Product, seedHash *string) error {
	highlights := p.Highlights
	if highlights == nil {
		highlights = []string{}
	}
	_, err := tx.Exec(ctx, `
		INSERT INTO products (id, name, category, highlights, version, seed_hash)
		VALUES ($1, $2, $3, $4, $5, coalesce($6, ''))
		ON CONFLICT (id) DO UPDATE SET name = excluded.name, category = excluded.category,
			highlights = excluded.highlights, version = excluded.version,
			seed_hash = coalesce($6, products.seed_hash), updated_at = now()`,
		p.ID, p.Name, p.Category, highlights, p.Version, seedHash)
	if err != nil {
		return fmt.Errorf("write product %s: %w", p.ID, err)
	}
	skus := make([]string, 0, len(p.Variants))
	for _, v := range p.Variants {
		skus = append(skus, v.SKU)
	}
	if _, err := tx.Exec(ctx, `DELETE FROM variants WHERE product_id = $1 AND sku <> ALL($2)`, p.ID, skus); err != nil {
		return fmt.Errorf("remove variants of %s: %w", p.ID, err)
	}
	for i, v := range p.Variants {
		_, err := tx.Exec(ctx, `
			INSERT INTO variants (sku, product_id, position, name, color, price) VALUES ($1, $2, $3, $4, $5, $6)
			ON CONFLICT (sku) DO UPDATE SET product_id = excluded.product_id, position = excluded.position,
				name = excluded.name, color = excluded.color, price = excluded.price`,
			v.SKU, p.ID, i, v.Name, v.Color, v.Price)
		if err != nil {
			return fmt.Errorf("write variant %s: %w", v.SKU, err)
		}
	}
	return nil
}

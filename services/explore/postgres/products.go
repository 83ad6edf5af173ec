package postgres

import (
	"context"
	"errors"
	"fmt"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/inlay-dev/inlay/services/explore"
	"github.com/inlay-dev/inlay/services/explore/events"
)

// Catalog reads and writes explore's catalog: categories, product summaries, stores and teasers.
// Writes of product summaries take the caller's transaction, so an event handler's work commits
// together with its inbox row.
type Catalog struct{ db *pgxpool.Pool }

var _ events.Writer = (*Catalog)(nil)

// NewCatalog returns a Catalog on db.
func NewCatalog(db *pgxpool.Pool) *Catalog { return &Catalog{db: db} }

// Categories returns every category in display order.
func (c *Catalog) Categories(ctx context.Context) ([]explore.Category, error) {
	rows, err := c.db.Query(ctx, `SELECT key, name, title FROM categories ORDER BY position, key`)
	if err != nil {
		return nil, fmt.Errorf("list categories: %w", err)
	}
	cats, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (explore.Category, error) {
		var cat explore.Category
		return cat, r.Scan(&cat.Key, &cat.Name, &cat.Title)
	})
	if err != nil {
		return nil, fmt.Errorf("list categories: %w", err)
	}
	return cats, nil
}

// Products returns the first limit summaries of the products in category ("" for every category)
// that have a price, sorted by start price, highest first (then by name and id, as
// explore.SortByStartPrice does), and how many there are. An unknown category is an ENOTFOUND error.
func (c *Catalog) Products(ctx context.Context, category string, limit int) (explore.Listing, error) {
	return c.ProductsPage(ctx, category, 0, limit)
}

// ProductsPage is Products from the offset-th product on: the page's limit summaries and how many
// products the category has.
func (c *Catalog) ProductsPage(ctx context.Context, category string, offset, limit int) (explore.Listing, error) {
	// COLLATE "C" orders names byte-wise, as Go does, so the first page is the one SortByStartPrice
	// would cut.
	rows, err := c.db.Query(ctx, `SELECT p.id, p.name, p.category, CASE WHEN p.image <> '' THEN p.image ELSE p.variant_image END,
			p.color, p.start_price, p.start_sku, count(*) OVER ()
		FROM products p JOIN categories c ON c.key = p.category
		WHERE p.start_price IS NOT NULL AND ($1 = '' OR p.category = $1)
		ORDER BY p.start_price DESC, p.name COLLATE "C", p.id COLLATE "C"
		LIMIT $2 OFFSET $3`, category, limit, offset)
	if err != nil {
		return explore.Listing{}, fmt.Errorf("list products of %q: %w", category, err)
	}
	var total int
	products, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (explore.ProductSummary, error) {
		var p explore.ProductSummary
		var price *int64
		if err := r.Scan(&p.ID, &p.Name, &p.Category, &p.Image, &p.Color, &price, &p.StartSKU, &total); err != nil {
			return p, err
		}
		if price != nil {
			p.StartPrice = *price
		}
		return p, nil
	})
	if err != nil {
		return explore.Listing{}, fmt.Errorf("list products of %q: %w", category, err)
	}
	if len(products) == 0 && (category != "" || offset > 0) {
		// Nothing listed: an empty category, one that does not exist, or a page past the end (whose
		// window counted nothing).
		var exists bool
		if err := c.db.QueryRow(ctx, `SELECT $1 = '' OR EXISTS (SELECT 1 FROM categories WHERE key = $1)`, category).Scan(&exists); err != nil {
			return explore.Listing{}, fmt.Errorf("find category %s: %w", category, err)
		}
		if !exists {
			return explore.Listing{}, explore.ErrCategoryNotFound(category)
		}
		if offset > 0 {
			if err := c.db.QueryRow(ctx, `SELECT count(*) FROM products p JOIN categories c ON c.key = p.category
				WHERE p.start_price IS NOT NULL AND ($1 = '' OR p.category = $1)`, category).Scan(&total); err != nil {
				return explore.Listing{}, fmt.Errorf("count products of %q: %w", category, err)
			}
		}
	}
	return explore.Listing{Products: products, Total: total}, nil
}

// Overview returns every category in display order with the first perCategory summaries of its
// products (sorted as Products sorts them) and how many it has, in one query.
func (c *Catalog) Overview(ctx context.Context, perCategory int) ([]explore.CategoryListing, error) {
	cats, err := c.Categories(ctx)
	if err != nil {
		return nil, err
	}
	out := make([]explore.CategoryListing, len(cats))
	index := make(map[string]int, len(cats))
	for i, cat := range cats {
		out[i] = explore.CategoryListing{Category: cat, Listing: explore.Listing{Products: []explore.ProductSummary{}}}
		index[cat.Key] = i
	}
	rows, err := c.db.Query(ctx, `SELECT id, name, category, image, color, start_price, start_sku, total, n FROM (
			SELECT p.id, p.name, p.category, CASE WHEN p.image <> '' THEN p.image ELSE p.variant_image END AS image,
				p.color, p.start_price, p.start_sku,
				count(*) OVER (PARTITION BY p.category) AS total,
				row_number() OVER (PARTITION BY p.category
					ORDER BY p.start_price DESC, p.name COLLATE "C", p.id COLLATE "C") AS n
			FROM products p JOIN categories c ON c.key = p.category
			WHERE p.start_price IS NOT NULL) ranked
		WHERE n <= GREATEST($1, 1) ORDER BY category, n`, perCategory)
	if err != nil {
		return nil, fmt.Errorf("overview of categories: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var p explore.ProductSummary
		var total, n int
		if err := rows.Scan(&p.ID, &p.Name, &p.Category, &p.Image, &p.Color, &p.StartPrice, &p.StartSKU, &total, &n); err != nil {
			return nil, fmt.Errorf("overview of categories: %w", err)
		}
		if i, ok := index[p.Category]; ok {
			out[i].Total = total
			if n <= perCategory {
				out[i].Products = append(out[i].Products, p)
			}
		}
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("overview of categories: %w", err)
	}
	return out, nil
}

// Product returns one product's summary, or an ENOTFOUND error.
func (c *Catalog) Product(ctx context.Context, id string) (explore.ProductSummary, error) {
	rows, err := c.db.Query(ctx, `SELECT p.id, p.name, p.category, CASE WHEN p.image <> '' THEN p.image ELSE p.variant_image END, p.color, p.start_price,
			p.start_sku FROM products p WHERE p.id = $1`, id)
	if err != nil {
		return explore.ProductSummary{}, fmt.Errorf("get product %s: %w", id, err)
	}
	p, err := pgx.CollectExactlyOneRow(rows, scanSummary)
	if errors.Is(err, pgx.ErrNoRows) {
		return explore.ProductSummary{}, explore.ErrProductNotFound(id)
	}
	if err != nil {
		return explore.ProductSummary{}, fmt.Errorf("get product %s: %w", id, err)
	}
	return p, nil
}

func scanSummary(r pgx.CollectableRow) (explore.ProductSummary, error) {
	var p explore.ProductSummary
	var price *int64
	if err := r.Scan(&p.ID, &p.Name, &p.Category, &p.Image, &p.Color, &price, &p.StartSKU); err != nil {
		return p, err
	}
	if price != nil {
		p.StartPrice = *price
	}
	return p, nil
}

// Stores returns every store in display order.
func (c *Catalog) Stores(ctx context.Context) ([]explore.Store, error) {
	rows, err := c.db.Query(ctx, `SELECT id, name, street, city FROM stores ORDER BY position, id`)
	if err != nil {
		return nil, fmt.Errorf("list stores: %w", err)
	}
	stores, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (explore.Store, error) {
		var s explore.Store
		return s, r.Scan(&s.ID, &s.Name, &s.Street, &s.City)
	})
	if err != nil {
		return nil, fmt.Errorf("list stores: %w", err)
	}
	return stores, nil
}

// Teasers returns the home teasers in display order.
func (c *Catalog) Teasers(ctx context.Context) ([]explore.Teaser, error) {
	rows, err := c.db.Query(ctx, `SELECT category, title, url FROM teasers ORDER BY position, category`)
	if err != nil {
		return nil, fmt.Errorf("list teasers: %w", err)
	}
	teasers, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (explore.Teaser, error) {
		var t explore.Teaser
		return t, r.Scan(&t.Category, &t.Title, &t.URL)
	})
	if err != nil {
		return nil, fmt.Errorf("list teasers: %w", err)
	}
	return teasers, nil
}

// ApplyProduct records a product's state at version (decide's product version, increasing with every
// change), inside tx. A state older than the one already applied is ignored, and so is each variant
// price older than the variant's last price change, so events may arrive twice or out of order.
func (c *Catalog) ApplyProduct(ctx context.Context, tx pgx.Tx, p explore.ProductChange, version int64) error {
	tag, err := tx.Exec(ctx, `INSERT INTO products (id, name, category, image, highlights, version)
		VALUES ($1, $2, $3, $4, $5, $6)
		ON CONFLICT (id) DO UPDATE SET name = excluded.name, category = excluded.category, image = excluded.image,
			highlights = excluded.highlights, version = excluded.version
		WHERE products.version <= excluded.version`,
		p.ID, p.Name, p.Category, p.Image, nonNil(p.Highlights), version)
	if err != nil {
		return fmt.Errorf("apply product %s: %w", p.ID, err)
	}
	if tag.RowsAffected() == 0 {
		return nil // a newer state is already recorded
	}
	if p.Variants != nil {
		skus := make([]string, len(p.Variants))
		b := &pgx.Batch{}
		for i, v := range p.Variants {
			skus[i] = v.SKU
			b.Queue(`INSERT INTO variants (sku, product_id, position, name, color, image, price, price_version)
				VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
				ON CONFLICT (sku) DO UPDATE SET product_id = excluded.product_id, position = excluded.position,
					name = excluded.name, color = excluded.color, image = excluded.image,
					price = CASE WHEN variants.price_version <= excluded.price_version THEN excluded.price ELSE variants.price END,
					price_version = greatest(variants.price_version, excluded.price_version)`,
				v.SKU, p.ID, i, v.Name, v.Color, v.Image, v.Price, version)
		}
		b.Queue(`DELETE FROM variants WHERE product_id = $1 AND sku <> ALL($2)`, p.ID, skus)
		if err := tx.SendBatch(ctx, b).Close(); err != nil {
			return fmt.Errorf("apply variants of %s: %w", p.ID, err)
		}
	}
	return c.refresh(ctx, tx, p.ID)
}

// ApplyPrice records a variant's new price at version (its product's version after the change),
// inside tx, and recomputes the product's start price. A price older than the variant's last recorded
// price is ignored.
//
// Locks are taken in ApplyProduct's order — the product's row, then its variants, then search terms
// in word order — so that a price change and a product change of the same product, handled by two
// consumer workers at once, queue behind each other instead of deadlocking (SQLSTATE 40P01).
func (c *Catalog) ApplyPrice(ctx context.Context, tx pgx.Tx, ch explore.PriceChange, version int64) error {
	if _, err := tx.Exec(ctx, `SELECT 1 FROM products WHERE id = $1 FOR UPDATE`, ch.ProductID); err != nil {
		return fmt.Errorf("apply price of %s: lock product %s: %w", ch.SKU, ch.ProductID, err)
	}
	if _, err := tx.Exec(ctx, `INSERT INTO variants (sku, product_id, price, price_version) VALUES ($1, $2, $3, $4)
		ON CONFLICT (sku) DO UPDATE SET price = excluded.price, price_version = excluded.price_version
		WHERE variants.price_version <= excluded.price_version`, ch.SKU, ch.ProductID, ch.Price, version); err != nil {
		return fmt.Errorf("apply price of %s: %w", ch.SKU, err)
	}
	productID := ch.ProductID
	if err := tx.QueryRow(ctx, `SELECT product_id FROM variants WHERE sku = $1`, ch.SKU).Scan(&productID); err != nil {
		return fmt.Errorf("apply price of %s: %w", ch.SKU, err)
	}
	return c.refresh(ctx, tx, productID)
}

// refresh derives a product's start price, image, colour and search document from its variants and
// its category, and adds its words to the search terms.
func (c *Catalog) refresh(ctx context.Context, tx pgx.Tx, productID string) error {
	b := &pgx.Batch{}
	b.Queue(`UPDATE products p SET start_price = cheapest.price, color = coalesce(cheapest.color, ''),
			variant_image = coalesce(cheapest.image, ''), start_sku = coalesce(cheapest.sku, '')
		FROM (SELECT 1) AS one
		LEFT JOIN LATERAL (SELECT price, color, image, sku FROM variants WHERE product_id = $1
			ORDER BY price, position, sku LIMIT 1) cheapest ON true
		WHERE p.id = $1`, productID)
	const text = `p.name || ' ' || coalesce((SELECT c.name || ' ' || c.title FROM categories c WHERE c.key = p.category), '')
		|| ' ' || p.category || ' ' || coalesce((SELECT string_agg(v.name, ' ') FROM variants v WHERE v.product_id = p.id), '')
		|| ' ' || array_to_string(p.highlights, ' ')`
	b.Queue(`UPDATE products p SET search =
			setweight(to_tsvector('english', p.name), 'A') ||
			setweight(to_tsvector('english', coalesce((SELECT c.name || ' ' || c.title FROM categories c WHERE c.key = p.category), '') || ' ' || p.category), 'B') ||
			setweight(to_tsvector('english', coalesce((SELECT string_agg(v.name, ' ') FROM variants v WHERE v.product_id = p.id), '')), 'C') ||
			setweight(to_tsvector('english', array_to_string(p.highlights, ' ')), 'D')
		WHERE p.id = $1`, productID)
	// Search terms are shared between products: two consumer workers, each applying a batch of
	// products in one transaction, would insert the same new words in different orders and deadlock
	// (40P01, seen at start-up when the whole catalogue arrives). One transaction-scoped advisory lock
	// serializes the term inserts of concurrent transactions; workers never share a product row
	// (events of one product go to one worker), so no other lock can close a cycle with it.
	b.Queue(`SELECT pg_advisory_xact_lock($1)`, searchTermsLock)
	b.Queue(`INSERT INTO search_terms (word)
		SELECT DISTINCT w FROM products p, LATERAL regexp_split_to_table(lower(`+text+`), '[^[:alnum:]]+') AS w
		WHERE p.id = $1 AND length(w) >= 3
		ORDER BY w
		ON CONFLICT (word) DO NOTHING`, productID) // in word order: two products sharing words lock them alike
	if err := tx.SendBatch(ctx, b).Close(); err != nil {
		return fmt.Errorf("refresh product %s: %w", productID, err)
	}
	return nil
}

// searchTermsLock is the advisory lock key of explore's search-term inserts.
const searchTermsLock int64 = 0x6578706c6f7265 // "explore"

func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

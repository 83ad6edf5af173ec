package postgres

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/jackc/pgx/v5"

	"github.com/inlay-dev/inlay/services/explore"
)

// alternativesPerTerm bounds how many spelling corrections one query term may expand to.
const alternativesPerTerm = 3

// Search finds products matching q, best first, at most limit. Each term of q matches as a prefix of
// a word (full-text, English stemming) or through the known words nearest to it by trigram
// similarity, so "tracter" finds tractors; every term must match. A product whose name is similar to
// the whole query matches too, ranked below full-text matches (word similarity is computed only for
// those: it is the expensive part when a query matches much of a large catalog). An empty query
// finds nothing.
func (c *Catalog) Search(ctx context.Context, q string, limit int) ([]explore.ProductSummary, error) {
	return c.SearchPage(ctx, q, 0, limit)
}

// SearchPage is Search from the offset-th match on. A query that is a product's id or a variant's
// sku ("AU-02", "au-02-bl": the codes a shopper may have noted) finds that product alone, showing
// that variant.
func (c *Catalog) SearchPage(ctx context.Context, q string, offset, limit int) ([]explore.ProductSummary, error) {
	terms := explore.QueryTerms(q)
	if len(terms) == 0 || limit <= 0 {
		return nil, nil
	}
	if code := strings.ToUpper(strings.TrimSpace(q)); looksLikeCode(code) {
		p, ok, err := c.byCode(ctx, code)
		if err != nil {
			return nil, err
		}
		if ok {
			if offset > 0 {
				return nil, nil
			}
			return []explore.ProductSummary{p}, nil
		}
	}
	alternatives, err := c.corrections(ctx, terms)
	if err != nil {
		return nil, err
	}
	// hits ranks and pages the products first; mv, the first variant whose own name matches a term of
	// the query (a colour: "hamster magenta"), is then looked up for the page's hits alone, so the
	// tile can show and link to it without a lookup for every match of a large catalogue.
	rows, err := c.db.Query(ctx, `WITH hits AS (
			SELECT p.id, p.name, p.category, CASE WHEN p.image <> '' THEN p.image ELSE p.variant_image END AS image,
				p.color, p.start_price, p.start_sku,
				CASE WHEN p.search @@ query THEN ts_rank(p.search, query) ELSE word_similarity($2, p.name) / 10 END AS rank
			FROM products p JOIN categories c ON c.key = p.category CROSS JOIN to_tsquery('english', $1) AS query
			WHERE p.start_price IS NOT NULL AND (p.search @@ query OR $2 <% p.name)
			ORDER BY rank DESC, p.start_price DESC, p.id
			LIMIT $3 OFFSET $4)
		SELECT h.id, h.name, h.category, CASE WHEN mv.image <> '' THEN mv.image ELSE h.image END,
			coalesce(nullif(mv.color, ''), h.color), h.start_price, coalesce(mv.sku, ''), coalesce(mv.name, ''),
			coalesce(mv.price, 0), h.start_sku
		FROM hits h LEFT JOIN LATERAL (SELECT v.sku, v.name, v.image, v.color, v.price FROM variants v
			WHERE v.product_id = h.id AND v.name <> '' AND to_tsvector('english', v.name) @@ to_tsquery('english', $5)
			ORDER BY v.position, v.sku LIMIT 1) mv ON true
		ORDER BY h.rank DESC, h.start_price DESC, h.id`, tsquery(terms, alternatives, " & "), strings.Join(terms, " "),
		limit, offset, tsquery(terms, alternatives, " | "))
	if err != nil {
		return nil, fmt.Errorf("search %q: %w", q, err)
	}
	// A hit always has a start price (the WHERE above): no NULL to allow for, unlike a listing's row.
	products, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (p explore.ProductSummary, err error) {
		err = r.Scan(&p.ID, &p.Name, &p.Category, &p.Image, &p.Color, &p.StartPrice, &p.SKU, &p.VariantName, &p.VariantPrice, &p.StartSKU)
		return p, err
	})
	if err != nil {
		return nil, fmt.Errorf("search %q: %w", q, err)
	}
	return products, nil
}

// looksLikeCode reports whether an upper-cased query could be a product id or a sku: one word of
// letters and digits around dashes, at most 64 bytes ("AU-02", "AU-02-BL").
func looksLikeCode(q string) bool {
	if len(q) < 3 || len(q) > 64 || !strings.Contains(q, "-") || q[0] == '-' || q[len(q)-1] == '-' {
		return false
	}
	for i := 0; i < len(q); i++ {
		if ch := q[i]; !(ch >= 'A' && ch <= 'Z' || ch >= '0' && ch <= '9' || ch == '-') {
			return false
		}
	}
	return true
}

// byCode is the listed product whose id is code, or that has a variant whose sku is code (then
// shown as that variant); ok=false when there is none.
func (c *Catalog) byCode(ctx context.Context, code string) (explore.ProductSummary, bool, error) {
	var p explore.ProductSummary
	err := c.db.QueryRow(ctx, `SELECT p.id, p.name, p.category,
			CASE WHEN coalesce(v.image, '') <> '' THEN v.image WHEN p.image <> '' THEN p.image ELSE p.variant_image END,
			coalesce(nullif(v.color, ''), p.color), p.start_price, coalesce(v.sku, ''), coalesce(v.name, ''), coalesce(v.price, 0),
			p.start_sku
		FROM products p JOIN categories c ON c.key = p.category
		LEFT JOIN variants v ON v.product_id = p.id AND v.sku = $1
		WHERE p.start_price IS NOT NULL AND (p.id = $1 OR v.sku IS NOT NULL)
		LIMIT 1`, code).Scan(&p.ID, &p.Name, &p.Category, &p.Image, &p.Color, &p.StartPrice, &p.SKU, &p.VariantName, &p.VariantPrice, &p.StartSKU)
	if errors.Is(err, pgx.ErrNoRows) {
		return p, false, nil
	}
	if err != nil {
		return p, false, fmt.Errorf("search code %q: %w", code, err)
	}
	return p, true, nil
}

// corrections returns, for each term, the known words most similar to it (pg_trgm's % operator, at
// its similarity threshold), best first.
func (c *Catalog) corrections(ctx context.Context, terms []string) (map[string][]string, error) {
	rows, err := c.db.Query(ctx, `SELECT t.term, s.word FROM unnest($1::text[]) AS t(term)
		CROSS JOIN LATERAL (SELECT word FROM search_terms WHERE word % t.term AND word <> t.term
			ORDER BY similarity(word, t.term) DESC, word LIMIT $2) s`, terms, alternativesPerTerm)
	if err != nil {
		return nil, fmt.Errorf("search corrections: %w", err)
	}
	defer rows.Close()
	alternatives := make(map[string][]string, len(terms))
	for rows.Next() {
		var term, word string
		if err := rows.Scan(&term, &word); err != nil {
			return nil, fmt.Errorf("search corrections: %w", err)
		}
		alternatives[term] = append(alternatives[term], word)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("search corrections: %w", err)
	}
	return alternatives, nil
}

// tsquery builds a to_tsquery expression: every term (as a prefix) or one of its alternatives,
// joined by op (" & ": all the terms; " | ": any of them). Terms and known words hold only letters
// and digits (explore.QueryTerms, the search_terms split), so they need no quoting.
func tsquery(terms []string, alternatives map[string][]string, op string) string {
	var b strings.Builder
	for i, t := range terms {
		if i > 0 {
			b.WriteString(op)
		}
		b.WriteString("(")
		b.WriteString(t)
		b.WriteString(":*")
		for _, a := range alternatives[t] {
			b.WriteString(" | ")
			b.WriteString(a)
		}
		b.WriteString(")")
	}
	return b.String()
}

// Package search serves the Search fragment (`/search?q=`): a search form and the products matching q,
// typo-tolerant (see postgres.Catalog.Search), with distinct empty-query and no-result states.
package search

import (
	"context"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/gofiber/fiber/v2"

	"github.com/inlay-dev/inlay/fragments"
	"github.com/inlay-dev/inlay/services/explore"
	"github.com/inlay-dev/inlay/services/explore/ui/tile"
)

// Name is the fragment's name in explore's manifest.
const Name = "search"

// Param is the query parameter holding the search query.
const Param = "q"

// Limit is the most results shown.
const Limit = 48

// MaxQueryLength bounds the query kept from the request, in runes.
const MaxQueryLength = 200

// MaxAge is how long a result may be cached.
const MaxAge = 10 * time.Second

// Searcher finds products.
type Searcher interface {
	Search(ctx context.Context, q string, limit int) ([]explore.ProductSummary, error)
}

// State is which of the fragment's states to show.
type State int

// States of the search fragment.
const (
	StateEmptyQuery State = iota // nothing asked yet
	StateNoResults               // asked, nothing found
	StateResults
)

// ViewModel is what the search fragment shows.
type ViewModel struct {
	Query   string
	State   State
	Summary string // "3 results for “tracter”"
	Tiles   []tile.Tile
}

// NewViewModel builds the view of products found for q.
func NewViewModel(q string, products []explore.ProductSummary) ViewModel {
	m := ViewModel{Query: q}
	switch {
	case strings.TrimSpace(q) == "":
		m.State = StateEmptyQuery
	case len(explore.QueryTerms(q)) == 0:
		// Asked, but nothing to search for in it ("*", "';--"): nothing found, not "what are you looking for?".
		m.State = StateNoResults
		m.Summary = "No machines found for “" + q + "”."
	case len(products) == 0:
		m.State = StateNoResults
		m.Summary = "No machines found for “" + q + "”."
	default:
		m.State = StateResults
		m.Tiles = tile.FromSummaries(products)
		n := "results"
		if len(products) == 1 {
			n = "result"
		}
		m.Summary = strconv.Itoa(len(products)) + " " + n + " for “" + q + "”"
	}
	return m
}

// Title is the search page's title for query q: "Search" without one.
func Title(q string) string {
	if q = strings.TrimSpace(q); q == "" {
		return "Search"
	}
	return "Search: " + q
}

// Handler serves the results for the q query parameter.
func Handler(s Searcher, opts ...fragments.RenderOption) fiber.Handler {
	opts = slices.Clip(opts)
	return func(c *fiber.Ctx) error {
		q := c.Query(Param)
		if r := []rune(q); len(r) > MaxQueryLength {
			q = string(r[:MaxQueryLength])
		}
		var products []explore.ProductSummary
		if len(explore.QueryTerms(q)) > 0 {
			var err error
			if products, err = s.Search(c.UserContext(), q, Limit); err != nil {
				return fmt.Errorf("search: %w", err)
			}
		}
		if len(products) == 0 {
			// Nothing found — a typo, junk — is not kept by the shell or a browser: every such query
			// would be a cache entry of its own, and a loop of them would push the popular ones out.
			return fragments.Render(c, View(NewViewModel(q, products)), fragments.Private,
				append(opts, fragments.Title(Title(q)))...)
		}
		return fragments.Render(c, View(NewViewModel(q, products)), fragments.Public,
			append(opts, fragments.MaxAge(MaxAge), fragments.Tags(productTags(products)...), fragments.Title(Title(q)))...)
	}
}

// productTags are the cache tags of a listing: one per product it shows, so a price change purges
// every listing that shows the product, and no other.
func productTags(products []explore.ProductSummary) []string {
	tags := make([]string, 0, len(products))
	for _, p := range products {
		tags = append(tags, fragments.ProductTag(p.ID))
	}
	return tags
}

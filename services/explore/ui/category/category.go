// Package category serves the Category fragment: "All Machines" or a category's name, the number of
// products, the filter (All, then each category; the active entry is not a link) and the product tiles,
// highest start price first. An unknown category answers 404 with a not-found message, and the shell
// gives the page that status.
package category

import (
	"context"
	"fmt"
	"slices"
	"strconv"
	"time"

	"github.com/gofiber/fiber/v2"

	"github.com/inlay-dev/inlay/fragments"
	"github.com/inlay-dev/inlay/services/explore"
	"github.com/inlay-dev/inlay/services/explore/ui/tile"
	"github.com/inlay-dev/inlay/services/kit/errs"
)

// Name is the fragment's name in explore's manifest.
const Name = "category"

// Param is the query parameter naming the category; empty or absent for all products.
const Param = "category"

// MaxAge is how long a category may be cached: prices change through decide's events, so it is short.
const MaxAge = 10 * time.Second

// Catalog reads categories and their products.
type Catalog interface {
	Categories(ctx context.Context) ([]explore.Category, error)
	// Products returns the first limit products of category ("" for all) sorted for display and
	// how many there are, or an ENOTFOUND error for an unknown category.
	Products(ctx context.Context, category string, limit int) (explore.Listing, error)
}

// MaxTiles bounds the tiles of one category page, so a very large catalog cannot make a page of
// megabytes; the count still says how many products there are.
const MaxTiles = 240

// ViewModel is what the category fragment shows.
type ViewModel struct {
	Title   string
	Count   string // "23 products"
	Filters []explore.FilterEntry
	Tiles   []tile.Tile
	More    string // "Showing the first 240." when there are more, else ""
}

// AllTitle is the title of the page listing every product.
const AllTitle = "All Machines"

// NewViewModel builds the view of the listing of category key ("" for all).
func NewViewModel(categories []explore.Category, key string, l explore.Listing) ViewModel {
	title := AllTitle
	for _, c := range categories {
		if c.Key == key {
			title = c.Name
		}
	}
	m := ViewModel{Title: title, Count: Count(l.Total), Filters: explore.Filters(categories, key),
		Tiles: tile.FromSummaries(l.Products)}
	if l.Total > len(l.Products) {
		m.More = "Showing the first " + strconv.Itoa(len(l.Products)) + "."
	}
	return m
}

// Count is "1 product" or "N products".
func Count(n int) string {
	if n == 1 {
		return "1 product"
	}
	return strconv.Itoa(n) + " products"
}

// Handler serves the category named by the category query parameter.
func Handler(catalog Catalog, opts ...fragments.RenderOption) fiber.Handler {
	opts = append([]fragments.RenderOption{fragments.MaxAge(MaxAge)}, opts...)
	notFound := append([]fragments.RenderOption{fragments.Status(fiber.StatusNotFound)}, opts...)
	return func(c *fiber.Ctx) error {
		ctx := c.UserContext()
		key := c.Query(Param)
		listing, err := catalog.Products(ctx, key, MaxTiles)
		if errs.Code(err) == errs.ENOTFOUND {
			return fragments.Render(c, NotFound(key), fragments.Public, append(slices.Clip(notFound), fragments.Title("Category not found"))...)
		}
		if err != nil {
			return fmt.Errorf("category %q: %w", key, err)
		}
		categories, err := catalog.Categories(ctx)
		if err != nil {
			return fmt.Errorf("category %q: %w", key, err)
		}
		m := NewViewModel(categories, key, listing)
		return fragments.Render(c, View(m), fragments.Public,
			append(slices.Clip(opts), fragments.Tags(productTags(listing.Products)...), fragments.Title(m.Title))...)
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

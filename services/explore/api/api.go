// Package api is explore's /v1 JSON API for the backends-for-frontend (never exposed by the shell):
//
//	GET /v1/categories?limit=4                    every category with its first limit (0-24) products
//	GET /v1/categories/{key}?limit=24&offset=0     one category's products, a page of limit (1-100)
//	GET /v1/stores                                the stores an order may be picked up at
//	GET /v1/search?q=tractor&limit=20&offset=0     products matching q, best first, a page of limit
//	                                               (1-50) from offset (0-500)
//
// Everything it answers is explore's own data (categories, stores) and its read model of decide's
// products, filled by decide's events. Errors are RFC 9457 problem details (kit/server.Problem): 400
// for a bad parameter, 404 for an unknown category. Public catalog data: no Inlay-Context needed.
package api

import (
	"context"
	"net/url"
	"unicode/utf8"

	"github.com/gofiber/fiber/v2"

	"github.com/inlay-dev/inlay/services/explore"
	"github.com/inlay-dev/inlay/services/kit/errs"
	"github.com/inlay-dev/inlay/services/kit/server"
)

// Paging bounds.
const (
	DefaultOverview = 4   // products per category in the list
	MaxOverview     = 24  //
	DefaultPage     = 24  // products of a category page
	MaxPage         = 100 //
	DefaultResults  = 20  // search results per page
	MaxResults      = 50  //
	MaxOffset       = 500 // how deep a search or a category may be paged
	MaxQueryLength  = 200 // bytes of q
)

// Product is a product summary: what a tile shows. Image is empty when decide published none; draw
// the tractor in Color then.
type Product struct {
	ID         string `json:"id"`
	Name       string `json:"name"`
	Category   string `json:"category"`
	Image      string `json:"image"`
	Color      string `json:"color"`
	StartPrice int64  `json:"startPrice"`
	URL        string `json:"url"`
}

// Category is a category with the first products of the page and how many it has.
type Category struct {
	Key      string    `json:"key"`
	Name     string    `json:"name"`
	Title    string    `json:"title"`
	URL      string    `json:"url"`
	Total    int       `json:"total"`
	Products []Product `json:"products"`
}

// Categories is GET /v1/categories' answer.
type Categories struct {
	Categories []Category `json:"categories"`
}

// CategoryPage is GET /v1/categories/{key}'s answer.
type CategoryPage struct {
	Category
	Limit  int `json:"limit"`
	Offset int `json:"offset"`
}

// Store is a store.
type Store struct {
	ID     string `json:"id"`
	Name   string `json:"name"`
	Street string `json:"street"`
	City   string `json:"city"`
}

// Stores is GET /v1/stores' answer.
type Stores struct {
	Stores []Store `json:"stores"`
}

// SearchResult is GET /v1/search's answer; More says a next page (offset+limit) has results.
type SearchResult struct {
	Query    string    `json:"query"`
	Limit    int       `json:"limit"`
	Offset   int       `json:"offset"`
	More     bool      `json:"more"`
	Products []Product `json:"products"`
}

// Catalog is what the API reads (postgres.Catalog).
type Catalog interface {
	Categories(ctx context.Context) ([]explore.Category, error)
	Overview(ctx context.Context, perCategory int) ([]explore.CategoryListing, error)
	ProductsPage(ctx context.Context, category string, offset, limit int) (explore.Listing, error)
	Stores(ctx context.Context) ([]explore.Store, error)
	SearchPage(ctx context.Context, q string, offset, limit int) ([]explore.ProductSummary, error)
}

// Handler serves the API.
type Handler struct{ catalog Catalog }

// New returns the API on catalog.
func New(catalog Catalog) *Handler { return &Handler{catalog: catalog} }

// Mount adds the /v1 routes to r.
func (h *Handler) Mount(r fiber.Router) {
	v1 := r.Group("/v1", server.API(0))
	v1.Get("/categories", h.categories)
	v1.Get("/categories/:key", h.category)
	v1.Get("/stores", h.stores)
	v1.Get("/search", h.search)
}

func (h *Handler) categories(c *fiber.Ctx) error {
	limit, err := server.QueryInt(c, "limit", DefaultOverview, 0, MaxOverview)
	if err != nil {
		return err
	}
	list, err := h.catalog.Overview(c.UserContext(), limit)
	if err != nil {
		return err
	}
	out := Categories{Categories: make([]Category, 0, len(list))}
	for _, l := range list {
		out.Categories = append(out.Categories, category(l.Category, l.Listing))
	}
	return c.JSON(out)
}

func (h *Handler) category(c *fiber.Ctx) error {
	limit, err := server.QueryInt(c, "limit", DefaultPage, 1, MaxPage)
	if err != nil {
		return err
	}
	offset, err := server.QueryInt(c, "offset", 0, 0, MaxOffset)
	if err != nil {
		return err
	}
	key := c.Params("key")
	cats, err := h.catalog.Categories(c.UserContext())
	if err != nil {
		return err
	}
	var cat *explore.Category
	for i := range cats {
		if cats[i].Key == key {
			cat = &cats[i]
		}
	}
	if cat == nil {
		return explore.ErrCategoryNotFound(key)
	}
	l, err := h.catalog.ProductsPage(c.UserContext(), key, offset, limit)
	if err != nil {
		return err
	}
	return c.JSON(CategoryPage{Category: category(*cat, l), Limit: limit, Offset: offset})
}

func (h *Handler) stores(c *fiber.Ctx) error {
	list, err := h.catalog.Stores(c.UserContext())
	if err != nil {
		return err
	}
	out := Stores{Stores: make([]Store, 0, len(list))}
	for _, s := range list {
		out.Stores = append(out.Stores, Store(s))
	}
	return c.JSON(out)
}

func (h *Handler) search(c *fiber.Ctx) error {
	q := c.Query("q")
	switch {
	case len(c.Context().QueryArgs().PeekMulti("q")) > 1:
		return errs.Invalid("q is given more than once", map[string]string{"q": "must be given once"})
	case q == "":
		return errs.Invalid("q is required", map[string]string{"q": "is required"})
	case len(q) > MaxQueryLength || !utf8.ValidString(q):
		return errs.Invalid("q is too long", map[string]string{"q": "must be at most 200 bytes"})
	}
	limit, err := server.QueryInt(c, "limit", DefaultResults, 1, MaxResults)
	if err != nil {
		return err
	}
	offset, err := server.QueryInt(c, "offset", 0, 0, MaxOffset)
	if err != nil {
		return err
	}
	// One more than the page tells whether there is a next page.
	found, err := h.catalog.SearchPage(c.UserContext(), q, offset, limit+1)
	if err != nil {
		return err
	}
	out := SearchResult{Query: q, Limit: limit, Offset: offset, More: len(found) > limit, Products: products(found[:min(limit, len(found))])}
	return c.JSON(out)
}

func category(cat explore.Category, l explore.Listing) Category {
	return Category{Key: cat.Key, Name: cat.Name, Title: cat.Title, URL: "/products/" + url.PathEscape(cat.Key), Total: l.Total,
		Products: products(l.Products)}
}

func products(ps []explore.ProductSummary) []Product {
	out := make([]Product, 0, len(ps))
	for _, p := range ps {
		// The link goes to the variant the image shows: one a search named, else the cheapest.
		out = append(out, Product{ID: p.ID, Name: p.Name, Category: p.Category, Image: p.Image, Color: p.Color,
			StartPrice: p.StartPrice, URL: p.URL()})
	}
	return out
}

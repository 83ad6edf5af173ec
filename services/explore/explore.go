// Package explore is the language of the explore context: the storefront's categories with explore's
// own product summaries, the stores, the home teasers and search. Product summaries are a read model
// filled only from decide's events; categories, stores and teasers are explore's own data.
//
// Adapters live in sub-packages: postgres (stores and search), events (the consumer of decide's
// events), ui/* (one package per fragment), static (content-hashed assets), cmd/explored (the process).
package explore

import (
	"cmp"
	"net/url"
	"slices"
	"strings"
	"unicode"

	"github.com/inlay-dev/inlay/services/kit/errs"
)

// Category is a product category: its key is the URL segment (/products/{key}).
type Category struct {
	Key   string `json:"key"`
	Name  string `json:"name"`  // "Classics", the filter label and page title
	Title string `json:"title"` // "Classic Tractors", the teaser and search text
}

// Store is a physical store a customer may pick up an order from.
type Store struct {
	ID     string `json:"id"`
	Name   string `json:"name"`
	Street string `json:"street"`
	City   string `json:"city"`
}

// Teaser is a home page teaser linking to a category.
type Teaser struct {
	Category string `json:"category"`
	Title    string `json:"title"`
	URL      string `json:"url"`
}

// ProductSummary is explore's copy of a product: what a tile shows.
type ProductSummary struct {
	ID       string
	Name     string
	Category string
	// Image is the URL of the product's image as decide published it; empty when decide sent none.
	Image string
	// Color is the colour (#rrggbb) of the variant the start price belongs to, used to draw a
	// tractor when there is no Image.
	Color string
	// StartPrice is the lowest price of the product's variants, in Ø.
	StartPrice int64
	// SKU is, in a search result, the variant the query named ("magenta": the Tulip Magenta one), whose
	// image and colour Image and Color then are; empty when the query named none (and in a listing).
	// VariantName and VariantPrice are that variant's.
	SKU          string
	VariantName  string
	VariantPrice int64
	// StartSKU is the variant StartPrice belongs to (the cheapest, then the first), whose image and
	// colour a listing shows when the product has no image of its own; empty when unknown.
	StartSKU string
}

// URL is the product page of what p's tile shows: the variant a search named (SKU), else the one
// the start price belongs to (StartSKU), else the product (its first variant).
func (p ProductSummary) URL() string {
	u := ProductURL(p.ID)
	if sku := cmp.Or(p.SKU, p.StartSKU); sku != "" {
		u += "?sku=" + url.QueryEscape(sku)
	}
	return u
}

// Listing is one page of a category: the products shown, in display order, and how many there are.
type Listing struct {
	Products []ProductSummary
	Total    int
}

// CategoryListing is a category with the first page of its products.
type CategoryListing struct {
	Category
	Listing
}

// Variant is what explore keeps of a variant: enough to compute its product's start price and to
// find the product by the variant's name.
type Variant struct {
	SKU   string
	Name  string // "Silver"
	Color string // "#C0C0C0"
	Image string // URL, empty when decide sent none
	Price int64  // Ø
}

// ProductChange is a product's state as decide published it (created or updated).
type ProductChange struct {
	ID         string
	Name       string
	Category   string
	Image      string // empty when decide sent none
	Highlights []string
	// Variants, when not nil, is the product's complete variant list: variants missing from it are
	// removed. nil leaves the variants as they are.
	Variants []Variant
}

// PriceChange is a new price for one variant.
type PriceChange struct {
	ProductID string
	SKU       string
	Price     int64
}

// ErrCategoryNotFound is returned (wrapped) for a category explore does not have.
func ErrCategoryNotFound(key string) error {
	return errs.Errorf(errs.ENOTFOUND, "category %q not found", key)
}

// ErrProductNotFound is returned (wrapped) for a product explore has no summary of.
func ErrProductNotFound(id string) error {
	return errs.Errorf(errs.ENOTFOUND, "product %q not found", id)
}

// StartPrice returns the variant with the lowest price (the first of equals), and false when there
// are no variants.
func StartPrice(variants []Variant) (Variant, bool) {
	if len(variants) == 0 {
		return Variant{}, false
	}
	return slices.MinFunc(variants, func(a, b Variant) int { return cmp.Compare(a.Price, b.Price) }), true
}

// SortByStartPrice orders products by start price, highest first; equal prices by name, then id, so
// the order is stable across requests.
func SortByStartPrice(products []ProductSummary) {
	slices.SortFunc(products, func(a, b ProductSummary) int {
		if c := cmp.Compare(b.StartPrice, a.StartPrice); c != 0 {
			return c
		}
		if c := cmp.Compare(a.Name, b.Name); c != 0 {
			return c
		}
		return cmp.Compare(a.ID, b.ID)
	})
}

// FilterEntry is one entry of the category filter.
type FilterEntry struct {
	Label  string
	URL    string
	Active bool // the active entry is shown, not linked
}

// Filters builds the category filter: "All" then each category, with the entry for active ("" for
// all products) marked.
func Filters(categories []Category, active string) []FilterEntry {
	entries := make([]FilterEntry, 0, len(categories)+1)
	entries = append(entries, FilterEntry{Label: "All", URL: "/products", Active: active == ""})
	for _, c := range categories {
		entries = append(entries, FilterEntry{Label: c.Name, URL: "/products/" + c.Key, Active: active == c.Key})
	}
	return entries
}

// ProductURL is the storefront URL of a product's page.
func ProductURL(id string) string { return "/product/" + url.PathEscape(id) }

// Search query limits: longer queries are cut, so a request cannot make the database work hard.
const (
	MaxQueryTerms = 8
	MaxTermLength = 40
)

// QueryTerms splits a search query into lower-case terms of letters and digits, at most
// MaxQueryTerms of at most MaxTermLength runes each. Anything else separates terms, so the terms are
// safe to put into a tsquery.
func QueryTerms(q string) []string {
	words := strings.FieldsFunc(strings.ToLower(q), func(r rune) bool {
		return !isTermRune(r)
	})
	terms := make([]string, 0, min(len(words), MaxQueryTerms))
	seen := make(map[string]bool, len(words))
	for _, w := range words {
		if r := []rune(w); len(r) > MaxTermLength {
			w = string(r[:MaxTermLength])
		}
		if seen[w] {
			continue
		}
		seen[w] = true
		terms = append(terms, w)
		if len(terms) == MaxQueryTerms {
			break
		}
	}
	return terms
}

func isTermRune(r rune) bool { return unicode.IsLetter(r) || unicode.IsDigit(r) }

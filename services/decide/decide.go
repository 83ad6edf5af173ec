// Package decide is the language of the decide context: products, their variants, highlights and
// prices. decide is the storefront's source of truth for them; every other context keeps its own copy,
// filled from decide's events.
//
// Adapters live in sub-packages: postgres (the product store and its outbox), events (what decide
// publishes), api (the /v1 JSON API), ui/product (the Product page's fragment), static (content-hashed
// assets and the tractor images), seed (the catalog decide starts from) and cmd/decided (the process).
package decide

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/url"
	"slices"
	"strings"

	"github.com/inlay-dev/inlay/services/kit/errs"
)

// Product is a tractor model with its variants. Version increases with every change to the product or
// one of its variants.
type Product struct {
	ID         string
	Name       string
	Category   string
	Highlights []string
	Variants   []Variant
	Version    int64
}

// Variant is one colour of a product, the unit customers buy.
type Variant struct {
	SKU   string
	Name  string
	Color string // #rrggbb, lower case
	Price int64  // in Ø
}

// ErrProductNotFound is returned (wrapped) for an unknown product id.
func ErrProductNotFound(id string) error {
	return errs.Errorf(errs.ENOTFOUND, "We have no tractor “%s”.", id)
}

// ErrVariantNotFound is returned (wrapped) for an unknown sku.
func ErrVariantNotFound(sku string) error {
	return errs.Errorf(errs.ENOTFOUND, "This tractor does not come in “%s”.", sku)
}

// ProductReader reads products.
type ProductReader interface {
	// Products returns every product in catalog order.
	Products(ctx context.Context) ([]Product, error)
	// Product returns the product with id, or ErrProductNotFound.
	Product(ctx context.Context, id string) (Product, error)
	// ProductBySKU returns the product one of whose variants has sku, or ErrVariantNotFound.
	ProductBySKU(ctx context.Context, sku string) (Product, error)
}

// PriceChanger changes prices.
type PriceChanger interface {
	// ChangePrice sets the price of the variant sku and publishes the change; ErrVariantNotFound for
	// an unknown sku, EINVALID for a negative price.
	ChangePrice(ctx context.Context, sku string, price int64) (PriceChange, error)
}

// ImageSize is one of the two sizes a variant's image is drawn in.
type ImageSize string

// Image sizes: small for tiles, lists and recommendations, large for the product page.
const (
	ImageSmall ImageSize = "small"
	ImageLarge ImageSize = "large"
)

// Images gives the public URLs of variant images.
type Images interface {
	// ImageURL is the content-hashed URL of the tractor drawn in color at size.
	ImageURL(color string, size ImageSize) string
}

// Variant returns the variant with sku: the first variant when sku is empty, ErrVariantNotFound when
// the product has no such variant.
func (p Product) Variant(sku string) (Variant, error) {
	if sku == "" {
		if len(p.Variants) == 0 {
			return Variant{}, ErrVariantNotFound(sku)
		}
		return p.Variants[0], nil
	}
	i := slices.IndexFunc(p.Variants, func(v Variant) bool { return v.SKU == sku })
	if i < 0 {
		return Variant{}, ErrVariantNotFound(sku)
	}
	return p.Variants[i], nil
}

// Validate reports the first thing that makes p unusable, as an EINVALID error.
func (p Product) Validate() error {
	switch {
	case strings.TrimSpace(p.ID) == "":
		return errs.Errorf(errs.EINVALID, "product id is empty")
	case strings.TrimSpace(p.Name) == "":
		return errs.Errorf(errs.EINVALID, "product %s: name is empty", p.ID)
	case len(p.Variants) == 0:
		return errs.Errorf(errs.EINVALID, "product %s: no variants", p.ID)
	}
	seen := make(map[string]bool, len(p.Variants))
	for _, v := range p.Variants {
		if strings.TrimSpace(v.SKU) == "" {
			return errs.Errorf(errs.EINVALID, "product %s: a variant has no sku", p.ID)
		}
		if seen[v.SKU] {
			return errs.Errorf(errs.EINVALID, "product %s: sku %s appears twice", p.ID, v.SKU)
		}
		seen[v.SKU] = true
		if _, err := ParseColor(v.Color); err != nil {
			return errs.Errorf(errs.EINVALID, "variant %s: %v", v.SKU, err)
		}
		if v.Price < 0 {
			return errs.Errorf(errs.EINVALID, "variant %s: price %d is negative", v.SKU, v.Price)
		}
	}
	return nil
}

// ParseColor normalises a colour written as #rgb or #rrggbb (any case) to #rrggbb in lower case.
func ParseColor(s string) (string, error) {
	h := strings.ToLower(strings.TrimSpace(s))
	if !strings.HasPrefix(h, "#") {
		return "", fmt.Errorf("colour %q does not start with #", s)
	}
	h = h[1:]
	if len(h) == 3 {
		h = string([]byte{h[0], h[0], h[1], h[1], h[2], h[2]})
	}
	if len(h) != 6 {
		return "", fmt.Errorf("colour %q is not #rgb or #rrggbb", s)
	}
	if _, err := hex.DecodeString(h); err != nil {
		return "", fmt.Errorf("colour %q is not hexadecimal", s)
	}
	return "#" + h, nil
}

// PriceChange is a variant's price moving from Old to New; Version is the product's version after it.
type PriceChange struct {
	ProductID string
	SKU       string
	Old       int64
	New       int64
	Version   int64
}

// Diff compares two states of one product: details is true when anything but prices changed (name,
// category, highlights, the variants, their names or colours); prices lists the variants, present in
// both, whose price changed, in next's order.
func Diff(prev, next Product) (details bool, prices []PriceChange) {
	details = prev.Name != next.Name || prev.Category != next.Category ||
		!slices.Equal(prev.Highlights, next.Highlights) || len(prev.Variants) != len(next.Variants)
	old := make(map[string]Variant, len(prev.Variants))
	for _, v := range prev.Variants {
		old[v.SKU] = v
	}
	for i, v := range next.Variants {
		o, ok := old[v.SKU]
		if !ok || (i < len(prev.Variants) && prev.Variants[i].SKU != v.SKU) || o.Name != v.Name || o.Color != v.Color {
			details = true
		}
		if ok && o.Price != v.Price {
			prices = append(prices, PriceChange{ProductID: next.ID, SKU: v.SKU, Old: o.Price, New: v.Price})
		}
	}
	return details, prices
}

// ContentHash is a stable hash of everything in p but its version: two products with the same
// content hash the same. The seed uses it to tell a changed catalog entry from an unchanged one.
func ContentHash(p Product) string {
	p.Version = 0
	b, err := json.Marshal(p)
	if err != nil {
		panic(err) // unreachable: Product holds only strings, slices and integers
	}
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:16])
}

// ProductURL is the storefront page of a product (its first variant).
func ProductURL(id string) string { return "/product/" + url.PathEscape(id) }

// VariantURL is the storefront page of a product showing the variant sku.
func VariantURL(id, sku string) string {
	return ProductURL(id) + "?sku=" + url.QueryEscape(sku)
}

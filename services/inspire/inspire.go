// Package inspire is the language of the inspire context: recommendations. inspire keeps its own read
// model of decide's variants (sku, names, colour, price, image), filled only from decide's events, and
// recommends the variants nearest in colour to what a customer looks at.
//
// Adapters live in sub-packages: postgres (the read model), events (the handlers of decide's events),
// ui/recommendations (the fragment), static (content-hashed assets) and cmd/inspired (the process).
package inspire

import (
	"cmp"
	"context"
	"encoding/hex"
	"fmt"
	"math"
	"net/url"
	"slices"
	"strings"
)

// MaxRecommendations is how many variants Recommend returns at most.
const MaxRecommendations = 4

// MaxSKUs bounds how many skus one recommendation request may name.
const MaxSKUs = 32

// RGB is a colour.
type RGB struct{ R, G, B uint8 }

// ParseColor reads #rrggbb or #rgb (any case).
func ParseColor(s string) (RGB, error) {
	h := strings.ToLower(strings.TrimSpace(s))
	h, ok := strings.CutPrefix(h, "#")
	if !ok {
		return RGB{}, fmt.Errorf("colour %q does not start with #", s)
	}
	if len(h) == 3 {
		h = string([]byte{h[0], h[0], h[1], h[1], h[2], h[2]})
	}
	b, err := hex.DecodeString(h)
	if err != nil || len(b) != 3 {
		return RGB{}, fmt.Errorf("colour %q is not #rgb or #rrggbb", s)
	}
	return RGB{b[0], b[1], b[2]}, nil
}

// Hex writes c as #rrggbb.
func (c RGB) Hex() string { return "#" + hex.EncodeToString([]byte{c.R, c.G, c.B}) }

// SquaredDistance is the square of the Euclidean distance between a and b in RGB space; it orders
// colours by distance exactly, without rounding.
func SquaredDistance(a, b RGB) int {
	dr, dg, db := int(a.R)-int(b.R), int(a.G)-int(b.G), int(a.B)-int(b.B)
	return dr*dr + dg*dg + db*db
}

// Distance is the Euclidean distance between a and b in RGB space.
func Distance(a, b RGB) float64 { return math.Sqrt(float64(SquaredDistance(a, b))) }

// Average is the mean of colours, each channel rounded to the nearest integer; false when there are
// none.
func Average(colors []RGB) (RGB, bool) {
	if len(colors) == 0 {
		return RGB{}, false
	}
	var r, g, b int
	for _, c := range colors {
		r, g, b = r+int(c.R), g+int(c.G), b+int(c.B)
	}
	n := len(colors)
	avg := func(sum int) uint8 { return uint8((2*sum + n) / (2 * n)) } // the mean of uint8 values fits a uint8; rounds half up
	return RGB{avg(r), avg(g), avg(b)}, true
}

// Variant is inspire's copy of one of decide's variants.
type Variant struct {
	SKU         string
	ProductID   string
	ProductName string
	Name        string
	Color       RGB
	Price       int64
	Image       string // URL of the variant's small image
	Version     int64  // the product version it was last updated from
}

// URL is the storefront page of the variant.
func (v Variant) URL() string {
	return "/product/" + url.PathEscape(v.ProductID) + "?sku=" + url.QueryEscape(v.SKU)
}

// Nearest returns up to n of candidates nearest in colour to target, nearest first (equal distances
// by sku), leaving out the skus in exclude.
func Nearest(candidates []Variant, target RGB, exclude []string, n int) []Variant {
	out := make([]Variant, 0, len(candidates))
	for _, v := range candidates {
		if !slices.Contains(exclude, v.SKU) {
			out = append(out, v)
		}
	}
	SortByDistance(out, target)
	return out[:min(n, len(out))]
}

// SortByDistance orders vs by colour distance to target, nearest first, equal distances by sku.
func SortByDistance(vs []Variant, target RGB) {
	slices.SortFunc(vs, func(a, b Variant) int {
		if c := cmp.Compare(SquaredDistance(a.Color, target), SquaredDistance(b.Color, target)); c != 0 {
			return c
		}
		return cmp.Compare(a.SKU, b.SKU)
	})
}

// ParseSKUs reads a comma-separated list of skus: blanks dropped, duplicates removed, at most MaxSKUs.
func ParseSKUs(s string) []string {
	var skus []string
	for _, sku := range strings.Split(s, ",") {
		sku = strings.TrimSpace(sku)
		if sku == "" || slices.Contains(skus, sku) {
			continue
		}
		skus = append(skus, sku)
		if len(skus) == MaxSKUs {
			break
		}
	}
	return skus
}

// VariantStore reads inspire's read model.
type VariantStore interface {
	// Variants returns those of skus inspire knows, in any order; unknown skus are left out.
	Variants(ctx context.Context, skus []string) ([]Variant, error)
	// Nearest returns up to n variants nearest in colour to target, leaving out exclude, ordered as
	// SortByDistance orders them.
	Nearest(ctx context.Context, target RGB, exclude []string, n int) ([]Variant, error)
}

// Recommend returns up to MaxRecommendations variants nearest in colour to the average colour of
// skus, leaving skus themselves out. Unknown skus are ignored; when none is known there are no
// recommendations.
func Recommend(ctx context.Context, store VariantStore, skus []string) ([]Variant, error) {
	if len(skus) == 0 {
		return nil, nil
	}
	known, err := store.Variants(ctx, skus)
	if err != nil {
		return nil, fmt.Errorf("recommend for %v: %w", skus, err)
	}
	colors := make([]RGB, 0, len(known))
	for _, v := range known {
		colors = append(colors, v.Color)
	}
	target, ok := Average(colors)
	if !ok {
		return nil, nil
	}
	vs, err := store.Nearest(ctx, target, skus, MaxRecommendations)
	if err != nil {
		return nil, fmt.Errorf("recommend for %v: %w", skus, err)
	}
	return vs, nil
}

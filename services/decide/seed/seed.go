// Package seed holds decide's own copy of the storefront catalog (catalog.json, embedded) and turns it
// into products. It is the data decide starts from; everything else learns the catalog from decide's
// events.
package seed

import (
	"bytes"
	_ "embed"
	"encoding/json"
	"fmt"

	"github.com/inlay-dev/inlay/services/decide"
)

//go:embed catalog.json
var catalog []byte

// catalogFile is the part of catalog.json decide reads; categories, stores, teasers and inventory
// belong to other contexts.
type catalogFile struct {
	Products []struct {
		ID         string   `json:"id"`
		Name       string   `json:"name"`
		Category   string   `json:"category"`
		Highlights []string `json:"highlights"`
		Variants   []struct {
			SKU   string `json:"sku"`
			Name  string `json:"name"`
			Color string `json:"color"`
			Price int64  `json:"price"`
		} `json:"variants"`
	} `json:"products"`
}

// Products returns the embedded catalog's products in catalog order.
func Products() ([]decide.Product, error) { return Parse(catalog) }

// Parse reads products from a catalog file, normalising colours and validating every product.
func Parse(data []byte) ([]decide.Product, error) {
	var f catalogFile
	if err := json.NewDecoder(bytes.NewReader(data)).Decode(&f); err != nil {
		return nil, fmt.Errorf("parse catalog: %w", err)
	}
	products := make([]decide.Product, 0, len(f.Products))
	seen := map[string]string{}
	ids := map[string]bool{}
	for _, fp := range f.Products {
		if ids[fp.ID] {
			return nil, fmt.Errorf("catalog: product %s appears twice", fp.ID)
		}
		ids[fp.ID] = true
		p := decide.Product{ID: fp.ID, Name: fp.Name, Category: fp.Category, Highlights: fp.Highlights}
		if p.Highlights == nil {
			p.Highlights = []string{}
		}
		for _, fv := range fp.Variants {
			color, err := decide.ParseColor(fv.Color)
			if err != nil {
				return nil, fmt.Errorf("catalog variant %s: %w", fv.SKU, err)
			}
			p.Variants = append(p.Variants, decide.Variant{SKU: fv.SKU, Name: fv.Name, Color: color, Price: fv.Price})
			if other, dup := seen[fv.SKU]; dup {
				return nil, fmt.Errorf("catalog: sku %s in both %s and %s", fv.SKU, other, fp.ID)
			}
			seen[fv.SKU] = fp.ID
		}
		if err := p.Validate(); err != nil {
			return nil, fmt.Errorf("catalog: %w", err)
		}
		products = append(products, p)
	}
	return products, nil
}

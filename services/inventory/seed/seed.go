// Package seed holds inventory's own copy of the storefront catalog (catalog.json, embedded) and
// reads the stock on hand of every variant from it: the stock inventory starts from. Products, prices
// and the rest belong to other contexts.
package seed

import (
	"bytes"
	_ "embed"
	"encoding/json"
	"fmt"

	"github.com/inlay-dev/inlay/services/inventory"
)

//go:embed catalog.json
var catalog []byte

// catalogFile is the part of catalog.json inventory reads.
type catalogFile struct {
	Products []struct {
		Variants []struct {
			SKU       string `json:"sku"`
			Inventory *int   `json:"inventory"`
		} `json:"variants"`
	} `json:"products"`
}

// Stock returns the embedded catalog's stock per sku, in catalog order.
func Stock() ([]inventory.Stock, error) { return Parse(catalog) }

// Parse reads the stock per sku from a catalog file; every variant needs a sku (once) and an
// inventory between 0 and inventory.MaxQuantity.
func Parse(data []byte) ([]inventory.Stock, error) {
	var f catalogFile
	if err := json.NewDecoder(bytes.NewReader(data)).Decode(&f); err != nil {
		return nil, fmt.Errorf("parse catalog: %w", err)
	}
	var out []inventory.Stock
	seen := map[string]bool{}
	for _, p := range f.Products {
		for _, v := range p.Variants {
			if v.SKU == "" {
				return nil, fmt.Errorf("catalog: a variant has no sku")
			}
			if seen[v.SKU] {
				return nil, fmt.Errorf("catalog: sku %s appears twice", v.SKU)
			}
			seen[v.SKU] = true
			if v.Inventory == nil {
				return nil, fmt.Errorf("catalog: sku %s has no inventory", v.SKU)
			}
			if err := inventory.ValidateQuantity(*v.Inventory); err != nil {
				return nil, fmt.Errorf("catalog: sku %s: %w", v.SKU, err)
			}
			out = append(out, inventory.Stock{SKU: v.SKU, Quantity: *v.Inventory})
		}
	}
	return out, nil
}

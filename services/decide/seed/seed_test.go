package seed_test

import (
	"strings"
	"testing"

	"github.com/inlay-dev/inlay/services/decide/seed"
)

func TestProducts(t *testing.T) {
	t.Parallel()
	ps, err := seed.Products()
	if err != nil {
		t.Fatal(err)
	}
	variants := 0
	for _, p := range ps {
		variants += len(p.Variants)
		for _, v := range p.Variants {
			if v.Color != strings.ToLower(v.Color) {
				t.Errorf("%s: colour %s not normalised", v.SKU, v.Color)
			}
		}
	}
	if len(ps) != 23 || variants != 47 {
		t.Errorf("catalog has %d products with %d variants, want 23 with 47", len(ps), variants)
	}
	if ps[0].ID != "AU-01" || ps[0].Variants[0].Color != "#c0c0c0" || ps[0].Variants[0].Price != 1000 {
		t.Errorf("first product %+v", ps[0])
	}
}

func TestParseRejects(t *testing.T) {
	t.Parallel()
	tests := map[string]string{
		"malformed":     `{"products": [`,
		"bad colour":    `{"products": [{"id": "A", "name": "A", "variants": [{"sku": "A-1", "color": "blue", "price": 1}]}]}`,
		"no variants":   `{"products": [{"id": "A", "name": "A", "variants": []}]}`,
		"duplicate sku": `{"products": [{"id": "A", "name": "A", "variants": [{"sku": "S", "color": "#000", "price": 1}]}, {"id": "B", "name": "B", "variants": [{"sku": "S", "color": "#000", "price": 1}]}]}`,
		"duplicate id":  `{"products": [{"id": "A", "name": "A", "variants": [{"sku": "S", "color": "#000", "price": 1}]}, {"id": "A", "name": "B", "variants": [{"sku": "T", "color": "#000", "price": 1}]}]}`,
		"negative":      `{"products": [{"id": "A", "name": "A", "variants": [{"sku": "A-1", "color": "#000", "price": -5}]}]}`,
	}
	for name, data := range tests {
		if _, err := seed.Parse([]byte(data)); err == nil {
			t.Errorf("%s: Parse accepted it", name)
		}
	}
}

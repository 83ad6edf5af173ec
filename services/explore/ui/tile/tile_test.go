package tile

import (
	"testing"

	"github.com/inlay-dev/inlay/services/explore"
)

// TestFromSummary: a product's tile links to the product from its start price; a search hit that
// named a variant links to that variant, at its price, and says which variant the image shows.
func TestFromSummary(t *testing.T) {
	t.Parallel()
	p := explore.ProductSummary{ID: "CL-08", Name: "Holland Hamster", StartPrice: 7750, Color: "#123456"}
	if got := FromSummary(p); got.URL != "/product/CL-08" || got.Price != "from 7750 Ø" || got.alt() != "Holland Hamster" {
		t.Errorf("product tile %+v", got)
	}
	p.SKU, p.VariantName, p.VariantPrice = "CL-08-PI", "Tulip Magenta", 7900
	if got := FromSummary(p); got.URL != "/product/CL-08?sku=CL-08-PI" || got.Price != "7900 Ø" || got.alt() != "Holland Hamster in Tulip Magenta" {
		t.Errorf("variant tile %+v", got)
	}
}

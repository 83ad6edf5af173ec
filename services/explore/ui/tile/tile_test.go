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

// TestTileLinksToTheVariantItShows: a listing's tile shows the variant its start price belongs to
// (image, colour, "from" price) and links to it, not to the product's first variant; a search hit
// that named a variant links to that one.
func TestTileLinksToTheVariantItShows(t *testing.T) {
	t.Parallel()
	p := explore.ProductSummary{ID: "AU-04", Name: "Atlas", StartPrice: 8500, StartSKU: "AU-04-BK", Image: "/i/AU-04-BK.svg"}
	if got := FromSummary(p).URL; got != "/product/AU-04?sku=AU-04-BK" {
		t.Errorf("listing tile links to %s", got)
	}
	p.SKU, p.VariantName, p.VariantPrice = "AU-04-RD", "Red", 8700
	if got := FromSummary(p).URL; got != "/product/AU-04?sku=AU-04-RD" {
		t.Errorf("search tile links to %s", got)
	}
	if got := FromSummary(explore.ProductSummary{ID: "AU-09"}).URL; got != "/product/AU-09" {
		t.Errorf("a tile without a known variant links to %s", got)
	}
}

package seed_test

import (
	"strings"
	"testing"

	"github.com/inlay-dev/inlay/services/inventory/seed"
)

func TestStock(t *testing.T) {
	t.Parallel()
	stock, err := seed.Stock()
	if err != nil {
		t.Fatal(err)
	}
	if len(stock) < 20 {
		t.Fatalf("%d skus, want the whole catalog", len(stock))
	}
	if stock[0].SKU != "AU-01-SI" || stock[0].Quantity != 8 {
		t.Errorf("first sku %+v, want AU-01-SI with 8", stock[0])
	}
}

func TestParseErrors(t *testing.T) {
	t.Parallel()
	for name, data := range map[string]string{
		"not json":     `{`,
		"no sku":       `{"products":[{"variants":[{"inventory":1}]}]}`,
		"twice":        `{"products":[{"variants":[{"sku":"A","inventory":1}]},{"variants":[{"sku":"A","inventory":1}]}]}`,
		"no inventory": `{"products":[{"variants":[{"sku":"A"}]}]}`,
		"negative":     `{"products":[{"variants":[{"sku":"A","inventory":-1}]}]}`,
	} {
		if _, err := seed.Parse([]byte(data)); err == nil || !strings.Contains(err.Error(), "catalog") {
			t.Errorf("%s: %v, want a catalog error", name, err)
		}
	}
}

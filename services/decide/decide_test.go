package decide_test

import (
	"testing"

	"github.com/inlay-dev/inlay/services/decide"
	"github.com/inlay-dev/inlay/services/kit/errs"
)

func TestParseColor(t *testing.T) {
	t.Parallel()
	tests := []struct {
		in, want string
		ok       bool
	}{
		{"#C0C0C0", "#c0c0c0", true},
		{"#dd5219", "#dd5219", true},
		{" #AbC ", "#aabbcc", true},
		{"c0c0c0", "", false},
		{"#c0c0c", "", false},
		{"#gggggg", "", false},
		{"", "", false},
	}
	for _, tt := range tests {
		got, err := decide.ParseColor(tt.in)
		if (err == nil) != tt.ok || got != tt.want {
			t.Errorf("ParseColor(%q) = %q, %v; want %q, ok=%v", tt.in, got, err, tt.want, tt.ok)
		}
	}
}

func product() decide.Product {
	return decide.Product{ID: "AU-02", Name: "SmartFarm Titan", Category: "autonomous", Version: 4,
		Highlights: []string{"a", "b"},
		Variants: []decide.Variant{
			{SKU: "AU-02-OG", Name: "Sunset Copper", Color: "#dd5219", Price: 4100},
			{SKU: "AU-02-BL", Name: "Cosmic Sapphire", Color: "#2a52be", Price: 4000},
		}}
}

func TestProductVariant(t *testing.T) {
	t.Parallel()
	tests := []struct {
		sku, want string
		found     bool
	}{
		{"", "AU-02-OG", true},
		{"AU-02-BL", "AU-02-BL", true},
		{"AU-03-BL", "", false},
	}
	for _, tt := range tests {
		v, err := product().Variant(tt.sku)
		if tt.found != (err == nil) || v.SKU != tt.want {
			t.Errorf("Variant(%q) = %q, %v", tt.sku, v.SKU, err)
		}
		if err != nil && errs.Code(err) != errs.ENOTFOUND {
			t.Errorf("Variant(%q): code %s, want not_found", tt.sku, errs.Code(err))
		}
	}
	if _, err := (decide.Product{ID: "X"}).Variant(""); err == nil {
		t.Error("a product without variants has no first variant")
	}
}

func TestValidate(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		change func(p *decide.Product)
		ok     bool
	}{
		{"valid", func(*decide.Product) {}, true},
		{"no id", func(p *decide.Product) { p.ID = " " }, false},
		{"no name", func(p *decide.Product) { p.Name = "" }, false},
		{"no variants", func(p *decide.Product) { p.Variants = nil }, false},
		{"empty sku", func(p *decide.Product) { p.Variants[0].SKU = "" }, false},
		{"duplicate sku", func(p *decide.Product) { p.Variants[1].SKU = p.Variants[0].SKU }, false},
		{"bad colour", func(p *decide.Product) { p.Variants[0].Color = "red" }, false},
		{"negative price", func(p *decide.Product) { p.Variants[0].Price = -1 }, false},
		{"free", func(p *decide.Product) { p.Variants[0].Price = 0 }, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := product()
			tt.change(&p)
			err := p.Validate()
			if (err == nil) != tt.ok {
				t.Fatalf("Validate() = %v, want ok=%v", err, tt.ok)
			}
			if err != nil && errs.Code(err) != errs.EINVALID {
				t.Errorf("code %s, want invalid", errs.Code(err))
			}
		})
	}
}

func TestDiff(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		change  func(p *decide.Product)
		details bool
		prices  []decide.PriceChange
	}{
		{"nothing", func(*decide.Product) {}, false, nil},
		{"price", func(p *decide.Product) { p.Variants[1].Price = 4200 }, false,
			[]decide.PriceChange{{ProductID: "AU-02", SKU: "AU-02-BL", Old: 4000, New: 4200}}},
		{"name", func(p *decide.Product) { p.Name = "Titan" }, true, nil},
		{"category", func(p *decide.Product) { p.Category = "classic" }, true, nil},
		{"highlights", func(p *decide.Product) { p.Highlights = []string{"a"} }, true, nil},
		{"variant name", func(p *decide.Product) { p.Variants[0].Name = "Copper" }, true, nil},
		{"variant colour", func(p *decide.Product) { p.Variants[0].Color = "#000000" }, true, nil},
		{"variant order", func(p *decide.Product) { p.Variants[0], p.Variants[1] = p.Variants[1], p.Variants[0] }, true, nil},
		{"variant added", func(p *decide.Product) {
			p.Variants = append(p.Variants, decide.Variant{SKU: "AU-02-GG", Name: "Green", Color: "#005a04", Price: 1})
		}, true, nil},
		{"variant removed", func(p *decide.Product) { p.Variants = p.Variants[:1] }, true, nil},
		{"name and price", func(p *decide.Product) { p.Name = "Titan"; p.Variants[0].Price = 1 }, true,
			[]decide.PriceChange{{ProductID: "AU-02", SKU: "AU-02-OG", Old: 4100, New: 1}}},
		{"version only", func(p *decide.Product) { p.Version = 9 }, false, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			prev := product()
			next := product()
			tt.change(&next)
			details, prices := decide.Diff(prev, next)
			if details != tt.details {
				t.Errorf("details = %v, want %v", details, tt.details)
			}
			if len(prices) != len(tt.prices) {
				t.Fatalf("prices = %+v, want %+v", prices, tt.prices)
			}
			for i := range prices {
				if prices[i] != tt.prices[i] {
					t.Errorf("prices[%d] = %+v, want %+v", i, prices[i], tt.prices[i])
				}
			}
		})
	}
}

func TestContentHash(t *testing.T) {
	t.Parallel()
	a, b := product(), product()
	b.Version = 99
	if decide.ContentHash(a) != decide.ContentHash(b) {
		t.Error("the version must not change the content hash")
	}
	b.Variants[0].Price++
	if decide.ContentHash(a) == decide.ContentHash(b) {
		t.Error("a changed price must change the content hash")
	}
}

func TestURLs(t *testing.T) {
	t.Parallel()
	if got := decide.VariantURL("AU-02", "AU-02-BL"); got != "/product/AU-02?sku=AU-02-BL" {
		t.Errorf("VariantURL = %q", got)
	}
	if got := decide.VariantURL("a b", "c&d"); got != "/product/a%20b?sku=c%26d" {
		t.Errorf("VariantURL escapes: %q", got)
	}
}

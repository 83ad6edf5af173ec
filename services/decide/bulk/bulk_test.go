package bulk

import (
	"github.com/inlay-dev/inlay/services/decide"

	"slices"
	"strings"
	"testing"
)

func TestCatalog(t *testing.T) {
	ps, err := Catalog(1000, 5, 1)
	if err != nil {
		t.Fatal(err)
	}
	if len(ps) != 1000 {
		t.Fatalf("%d products, want 1000", len(ps))
	}
	ids, skus, names := map[string]bool{}, map[string]bool{}, map[string]bool{}
	cats := map[string]int{}
	for _, p := range ps {
		if err := p.Validate(); err != nil {
			t.Fatal(err)
		}
		if !strings.HasPrefix(p.ID, IDPrefix) || ids[p.ID] {
			t.Errorf("product id %q: not %s… or repeated", p.ID, IDPrefix)
		}
		ids[p.ID] = true
		names[p.Name] = true
		cats[p.Category]++
		if len(p.Variants) != 5 || len(p.Highlights) != 3 {
			t.Errorf("%s: %d variants, %d highlights; want 5, 3", p.ID, len(p.Variants), len(p.Highlights))
		}
		for _, v := range p.Variants {
			if skus[v.SKU] {
				t.Errorf("sku %s repeated", v.SKU)
			}
			skus[v.SKU] = true
		}
	}
	if cats["classic"] != 500 || cats["autonomous"] != 500 {
		t.Errorf("categories %v, want 500 each", cats)
	}
	if len(names) < 900 {
		t.Errorf("only %d distinct names of 1000", len(names))
	}
	again, err := Catalog(1000, 5, 1)
	if err != nil || !slices.EqualFunc(ps, again, func(a, b decide.Product) bool { return a.Name == b.Name && slices.Equal(a.Variants, b.Variants) }) {
		t.Error("the same n and seed gave another catalogue")
	}
	for _, bad := range [][2]int{{0, 5}, {10, 0}, {10, 21}} {
		if _, err := Catalog(bad[0], bad[1], 1); err == nil {
			t.Errorf("Catalog(%d, %d) made a catalogue", bad[0], bad[1])
		}
	}
}

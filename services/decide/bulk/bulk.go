// Package bulk generates a large catalogue for load tests: N products with generated names,
// highlights, colours (which are their images: decide draws each variant's tractor in its colour) and
// prices, in the storefront's two categories. The same n and seed always give the same catalogue.
// cmd/decidebulk writes it through decide's store, so every other team learns it from the same events
// as the real catalogue.
package bulk

import (
	"fmt"
	"math/rand/v2"

	"github.com/inlay-dev/inlay/services/decide"
)

// IDPrefix starts every generated product id ("BK-000001"), so the generated catalogue never collides
// with the real one.
const IDPrefix = "BK-"

var (
	brands = []string{"TerraFirma", "AgriMax", "FieldKing", "SmartFarm", "Harvest", "Prairie", "Meadow", "IronOx",
		"Greenacre", "Sowmaster", "Furrow", "Tillwell", "Ploughman", "Orchard", "Haymaker", "Cropline"}
	models = []string{"Titan", "Pioneer", "Ranger", "Atlas", "Vanguard", "Nomad", "Summit", "Comet", "Falcon", "Bison",
		"Mustang", "Heritage", "Voyager", "Zephyr", "Colt", "Goliath", "Sprinter", "Workhorse"}
	kinds = map[string][]string{
		"classic":    {"Tractor", "Compact Tractor", "Utility Tractor", "Row Crop Tractor", "Vintage Tractor"},
		"autonomous": {"AutoCultivator", "Robo Harvester", "Drone Tractor", "AI Seeder", "Autonomous Tiller"},
	}
	highlights = []string{
		"Precision GPS mapping optimizes field coverage.",
		"Hybrid engine ensures eco-friendly extended operation.",
		"Rugged steel frame built for decades of work.",
		"Comfortable cab with panoramic visibility.",
		"Low fuel consumption for long days in the field.",
		"Smart obstacle detection and terrain adaptation.",
		"Quick-attach implements for every season.",
		"Whisper-quiet drivetrain.",
	}
	colours = []string{"Crimson", "Forest", "Sky", "Sunset", "Midnight", "Silver", "Copper", "Lemon", "Olive", "Plum",
		"Sand", "Slate", "Teal", "Ruby", "Ivory", "Graphite", "Moss", "Rust", "Azure", "Amber"}
	categories = []string{"classic", "autonomous"}
)

// Catalog returns n products with variants variants each (1..len(colours)), ids BK-000001 onwards,
// generated from seed.
func Catalog(n, variants int, seed uint64) ([]decide.Product, error) {
	if n < 1 || variants < 1 || variants > len(colours) {
		return nil, fmt.Errorf("bulk catalogue: %d products of %d variants: want at least one product and 1..%d variants", n, variants, len(colours))
	}
	r := rand.New(rand.NewPCG(seed, 0x5eed)) //nolint:gosec // G404: a repeatable catalogue, not a secret
	products := make([]decide.Product, 0, n)
	for i := range n {
		cat := categories[i%len(categories)]
		id := fmt.Sprintf("%s%06d", IDPrefix, i+1)
		p := decide.Product{
			ID:       id,
			Name:     fmt.Sprintf("%s %s %s %d", pick(r, brands), pick(r, models), pick(r, kinds[cat]), 100+r.IntN(900)),
			Category: cat,
		}
		for _, h := range r.Perm(len(highlights))[:3] {
			p.Highlights = append(p.Highlights, highlights[h])
		}
		base := int64(500 + 100*r.IntN(60))
		for j, c := range r.Perm(len(colours))[:variants] {
			p.Variants = append(p.Variants, decide.Variant{
				SKU:   fmt.Sprintf("%s-%02d", id, j+1),
				Name:  colours[c],
				Color: fmt.Sprintf("#%02x%02x%02x", r.IntN(256), r.IntN(256), r.IntN(256)),
				Price: base + int64(50*j),
			})
		}
		if err := p.Validate(); err != nil {
			return nil, fmt.Errorf("bulk catalogue: %w", err)
		}
		products = append(products, p)
	}
	return products, nil
}

func pick[T any](r *rand.Rand, xs []T) T { return xs[r.IntN(len(xs))] }

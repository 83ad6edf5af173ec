package events_test

import (
	"flag"
	"path/filepath"
	"testing"

	"github.com/inlay-dev/inlay/services/decide"
	decideevents "github.com/inlay-dev/inlay/services/decide/events"
	"github.com/inlay-dev/inlay/services/decide/static"
	"github.com/inlay-dev/inlay/services/kit/events"
	"github.com/inlay-dev/inlay/services/kit/events/eventstest"
)

var update = flag.Bool("update", false, "rewrite testdata/*.json from the current payloads")

func exampleProduct() decide.Product {
	return decide.Product{
		ID: "AU-02", Name: "SmartFarm Titan", Category: "autonomous", Version: 1,
		Highlights: []string{
			"Advanced autopilot technology for precise farming operations.",
			"Eco-friendly solar-assisted power system for sustainable use.",
		},
		Variants: []decide.Variant{
			{SKU: "AU-02-OG", Name: "Sunset Copper", Color: "#dd5219", Price: 4100},
			{SKU: "AU-02-BL", Name: "Cosmic Sapphire", Color: "#2a52be", Price: 4000},
		},
	}
}

// TestExamples keeps testdata/*.json — the examples other contexts' tests decode — equal to what
// decide publishes (apart from id and time). Run with -update after a deliberate change.
func TestExamples(t *testing.T) {
	pub := decideevents.NewPublisher(static.New("/static/decide"))
	p := exampleProduct()
	updated := p
	updated.Version = 3
	updated.Name = "SmartFarm Titan II"
	build := map[string]func() (events.Event, error){
		"product_created.json": func() (events.Event, error) { return pub.ProductCreated(p) },
		"product_updated.json": func() (events.Event, error) { return pub.ProductUpdated(updated) },
		"price_changed.json": func() (events.Event, error) {
			return pub.PriceChanged(decide.PriceChange{ProductID: "AU-02", SKU: "AU-02-BL", Old: 4000, New: 4200, Version: 2})
		},
	}
	for name, fn := range build {
		t.Run(name, func(t *testing.T) {
			e, err := fn()
			if err != nil {
				t.Fatal(err)
			}
			eventstest.Example(t, filepath.Join("testdata", name), e, *update)
		})
	}
}

func TestPayloads(t *testing.T) {
	pub := decideevents.NewPublisher(static.New("/static/decide"))
	got := pub.ProductPayload(decide.Product{ID: "X-1", Name: "X", Variants: []decide.Variant{{SKU: "X-1-A", Color: "#000000"}}})
	if got.Highlights == nil {
		t.Error("highlights must be [] not null")
	}
	v := got.Variants[0]
	if v.URL != "/product/X-1?sku=X-1-A" || v.Image == "" || v.Thumbnail == "" || v.Image == v.Thumbnail {
		t.Errorf("variant payload %+v", v)
	}
	for _, typ := range []string{decideevents.ProductCreatedType, decideevents.ProductUpdatedType, decideevents.PriceChangedType} {
		if err := events.ValidateType(typ); err != nil {
			t.Error(err)
		}
	}
}

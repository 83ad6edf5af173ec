package events_test

import (
	"flag"
	"path/filepath"
	"testing"

	"github.com/inlay-dev/inlay/services/checkout"
	"github.com/inlay-dev/inlay/services/checkout/events"
	kitevents "github.com/inlay-dev/inlay/services/kit/events"
	"github.com/inlay-dev/inlay/services/kit/events/eventstest"
)

var update = flag.Bool("update", false, "rewrite testdata/*.json from the current payloads")

// exampleOrder is the order of the examples: the one payments' and inventory's examples name.
var exampleOrder = checkout.Order{
	ID: "0193a2c4-5b6d-7e8f-9a0b-1c2d3e4f5a6b", Status: checkout.Pending, StoreID: "store-a", CardLast: "4242",
	Lines: []checkout.OrderLine{
		{SKU: "AU-02-OG", ProductID: "AU-02", ProductName: "SmartFarm Titan", Name: "Sunset Copper", Quantity: 2, UnitPrice: 4100},
		{SKU: "CL-01-GY", ProductID: "CL-01", ProductName: "Heritage Workhorse", Name: "Verdant Field", Quantity: 1, UnitPrice: 5700},
	},
	Total: 2*4100 + 5700,
}

// TestExamples keeps testdata/*.json — the examples payments' and inventory's tests decode — equal to
// what checkout publishes (apart from id and time). Run with -update after a deliberate change.
func TestExamples(t *testing.T) {
	t.Parallel()
	confirmed := exampleOrder
	confirmed.Status = checkout.Confirmed
	cancelled := exampleOrder
	cancelled.Status, cancelled.Reason = checkout.Cancelled, "card declined"
	for name, fn := range map[string]func() (kitevents.Event, error){
		"order_placed.json":    func() (kitevents.Event, error) { return events.OrderPlaced(exampleOrder, "4242424242424242") },
		"order_confirmed.json": func() (kitevents.Event, error) { return events.OrderConfirmed(confirmed) },
		"order_cancelled.json": func() (kitevents.Event, error) { return events.OrderCancelled(cancelled) },
	} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			e, err := fn()
			if err != nil {
				t.Fatal(err)
			}
			eventstest.Example(t, filepath.Join("testdata", name), e, *update)
		})
	}
}

func TestTypes(t *testing.T) {
	t.Parallel()
	for _, typ := range []string{events.OrderPlacedType, events.OrderConfirmedType, events.OrderCancelledType} {
		if err := kitevents.ValidateType(typ); err != nil {
			t.Error(err)
		}
	}
}

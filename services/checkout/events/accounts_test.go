package events_test

import (
	"context"
	"path/filepath"
	"testing"

	"github.com/inlay-dev/inlay/services/checkout/events"
	"github.com/inlay-dev/inlay/services/checkout/internal/checkouttest"
	"github.com/inlay-dev/inlay/services/checkout/postgres"
	kitevents "github.com/inlay-dev/inlay/services/kit/events"
	"github.com/inlay-dev/inlay/services/kit/events/eventstest"
)

// accountsEvent reads one of accounts' example events, the contract accounts keeps equal to what it
// publishes.
func accountsEvent(t *testing.T, name string) kitevents.Event {
	t.Helper()
	return eventstest.Read(t, filepath.Join("..", "..", "accounts", "events", "testdata", name))
}

// TestAccountsExamplesInAnyOrder: checkout's customer copy ends with the address whichever of the
// two examples comes first, and a replay changes nothing.
func TestAccountsExamplesInAnyOrder(t *testing.T) {
	t.Parallel()
	registered, changed := accountsEvent(t, "customer_registered.json"), accountsEvent(t, "address_changed.json")
	for _, order := range [][]kitevents.Event{{registered, changed}, {changed, registered}, {registered, changed, registered, changed}} {
		pool := checkouttest.DB(t)
		s := postgres.NewStore(pool)
		h := events.NewAccountHandlers(s)
		for _, e := range order {
			fn := h.Registered
			if e.Type == events.AddressChanged {
				fn = h.AddressChanged
			}
			if err := handle(t, pool, fn, e); err != nil {
				t.Fatal(err)
			}
		}
		c, ok, err := s.CustomerCopy(context.Background(), registered.Subject)
		if err != nil || !ok {
			t.Fatalf("copy: %v %v", ok, err)
		}
		if c.Email != "ada@example.com" || c.Name != "Ada Lovelace" || c.Address.City != "London" || c.Address.Postcode != "NW1 6XE" {
			t.Errorf("order %d events: copy %+v", len(order), c)
		}
	}
	pool := checkouttest.DB(t)
	bad := event(t, "accounts", events.AddressChanged, "x", map[string]any{"customerId": "", "version": 1})
	if err := handle(t, pool, events.NewAccountHandlers(postgres.NewStore(pool)).AddressChanged, bad); !kitevents.IsPermanent(err) {
		t.Errorf("event without a customer id: %v, want a permanent error", err)
	}
}

package events_test

import (
	"flag"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/inlay-dev/inlay/services/accounts"
	accountsevents "github.com/inlay-dev/inlay/services/accounts/events"
	"github.com/inlay-dev/inlay/services/kit/events"
	"github.com/inlay-dev/inlay/services/kit/events/eventstest"
)

var update = flag.Bool("update", false, "rewrite testdata/*.json from the current payloads")

func exampleCustomer() accounts.Customer {
	return accounts.Customer{
		ID: "0b5c1d2e-3f40-4a51-8b62-7c8d9eaf0b1c", Email: "ada@example.com", Name: "Ada Lovelace",
		PasswordHash: "$argon2id$v=19$m=19456,t=2,p=1$c2VjcmV0$c2VjcmV0",
		CreatedAt:    time.Date(2026, 11, 29, 10, 0, 0, 0, time.UTC),
		Address:      accounts.Address{Street: "Ada Street 1", City: "London", Postcode: "NW1 6XE", Country: "United Kingdom"},
	}
}

// TestExamples keeps testdata/*.json — the examples other contexts' tests decode — equal to what
// accounts publishes (apart from id and time). Run with -update after a deliberate change.
func TestExamples(t *testing.T) {
	c := exampleCustomer()
	build := map[string]func() (events.Event, error){
		"customer_registered.json": func() (events.Event, error) { return accountsevents.CustomerRegisteredEvent(c, 1) },
		"address_changed.json":     func() (events.Event, error) { return accountsevents.AddressChangedEvent(c, 2) },
	}
	for name, fn := range build {
		t.Run(name, func(t *testing.T) {
			e, err := fn()
			if err != nil {
				t.Fatal(err)
			}
			if strings.Contains(string(e.Data), "argon2id") {
				t.Fatal("an event carries the password hash")
			}
			eventstest.Example(t, filepath.Join("testdata", name), e, *update)
		})
	}
}

func TestTypes(t *testing.T) {
	for _, typ := range []string{accountsevents.CustomerRegisteredType, accountsevents.AddressChangedType} {
		if err := events.ValidateType(typ); err != nil {
			t.Error(err)
		}
	}
}

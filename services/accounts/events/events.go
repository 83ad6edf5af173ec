// Package events defines what accounts publishes: the event types, their payloads (the JSON other
// contexts read; the examples in testdata/*.json are the contract their tests decode) and the
// functions that build them from accounts' domain values. Every event's subject is the customer id,
// so one customer's events arrive in order; Version (the customer row's version after the change)
// lets a consumer ignore a stale event.
package events

import (
	"fmt"
	"time"

	"github.com/inlay-dev/inlay/services/accounts"
	"github.com/inlay-dev/inlay/services/kit/events"
)

// Source is the context accounts' events come from.
const Source = "accounts"

// Event types (routing keys) accounts publishes.
const (
	// CustomerRegisteredType: a visitor signed up. Data: CustomerRegistered.
	CustomerRegisteredType = "accounts.customer.registered.v1"
	// AddressChangedType: a customer set or changed their address. Data: AddressChanged.
	AddressChangedType = "accounts.address.changed.v1"
)

// CustomerRegistered is the payload of customer.registered. It never carries credentials.
type CustomerRegistered struct {
	CustomerID   string    `json:"customerId"`
	Email        string    `json:"email"`
	Name         string    `json:"name"`
	RegisteredAt time.Time `json:"registeredAt"`
	Version      int64     `json:"version"`
}

// Address is an address inside a payload.
type Address struct {
	Street   string `json:"street"`
	City     string `json:"city"`
	Postcode string `json:"postcode"`
	Country  string `json:"country"`
}

// AddressChanged is the payload of address.changed: the customer's address after the change, with
// the customer's e-mail and name so a consumer's copy needs no other event to be useful.
type AddressChanged struct {
	CustomerID string  `json:"customerId"`
	Email      string  `json:"email"`
	Name       string  `json:"name"`
	Address    Address `json:"address"`
	Version    int64   `json:"version"`
}

// CustomerRegisteredEvent is the customer.registered event of c at version.
func CustomerRegisteredEvent(c accounts.Customer, version int64) (events.Event, error) {
	return build(CustomerRegisteredType, c.ID, CustomerRegistered{CustomerID: c.ID, Email: c.Email, Name: c.Name,
		RegisteredAt: c.CreatedAt.UTC(), Version: version})
}

// AddressChangedEvent is the address.changed event of c (its address after the change) at version.
func AddressChangedEvent(c accounts.Customer, version int64) (events.Event, error) {
	a := c.Address
	return build(AddressChangedType, c.ID, AddressChanged{CustomerID: c.ID, Email: c.Email, Name: c.Name,
		Address: Address{Street: a.Street, City: a.City, Postcode: a.Postcode, Country: a.Country}, Version: version})
}

func build(typ, subject string, data any) (events.Event, error) {
	e, err := events.New(Source, typ, subject, data)
	if err != nil {
		return events.Event{}, fmt.Errorf("%s %s: %w", typ, subject, err)
	}
	return e, nil
}

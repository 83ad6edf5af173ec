package events

import (
	"context"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/inlay-dev/inlay/services/checkout"
	kitevents "github.com/inlay-dev/inlay/services/kit/events"
)

// accounts' events checkout keeps its customer copy with (see services/accounts/events/testdata).
const (
	CustomerRegistered = "accounts.customer.registered.v1"
	AddressChanged     = "accounts.address.changed.v1"
)

// CustomerWriter keeps checkout's copy of accounts' customers (postgres.Store).
type CustomerWriter interface {
	// ApplyCustomer writes the copy unless it holds version or newer; address false keeps the stored
	// address.
	ApplyCustomer(ctx context.Context, tx pgx.Tx, c checkout.CustomerCopy, address bool, version int64) error
}

// AccountHandlers handle accounts' events.
type AccountHandlers struct{ w CustomerWriter }

// NewAccountHandlers returns the handlers writing through w.
func NewAccountHandlers(w CustomerWriter) *AccountHandlers { return &AccountHandlers{w: w} }

// Register routes accounts' events on c to the handlers.
func (h *AccountHandlers) Register(c *kitevents.Consumer) {
	c.Handle(CustomerRegistered, h.Registered)
	c.Handle(AddressChanged, h.AddressChanged)
}

// customer is what checkout reads of accounts' payloads (tolerant reader).
type customer struct {
	CustomerID string `json:"customerId"`
	Email      string `json:"email"`
	Name       string `json:"name"`
	Address    struct {
		Street   string `json:"street"`
		City     string `json:"city"`
		Postcode string `json:"postcode"`
		Country  string `json:"country"`
	} `json:"address"`
	RegisteredAt time.Time `json:"registeredAt"`
	Version      int64     `json:"version"`
}

func decodeCustomer(e kitevents.Event) (checkout.CustomerCopy, int64, error) {
	var p customer
	if err := e.DecodeData(&p); err != nil {
		return checkout.CustomerCopy{}, 0, kitevents.Permanent(fmt.Errorf("%s: %w", e.Type, err))
	}
	if p.CustomerID == "" || len(p.CustomerID) > 64 || p.Version <= 0 {
		return checkout.CustomerCopy{}, 0, kitevents.Permanent(fmt.Errorf("%s: no customer id or version", e.Type))
	}
	a := p.Address
	return checkout.CustomerCopy{ID: p.CustomerID, Email: p.Email, Name: p.Name, RegisteredAt: p.RegisteredAt,
		Address: checkout.Address{Street: a.Street, City: a.City, Postcode: a.Postcode, Country: a.Country}}, p.Version, nil
}

// Registered stores a new customer's e-mail and name.
func (h *AccountHandlers) Registered(ctx context.Context, tx pgx.Tx, e kitevents.Event) error {
	c, v, err := decodeCustomer(e)
	if err != nil {
		return err
	}
	return h.w.ApplyCustomer(ctx, tx, c, false, v)
}

// AddressChanged stores a customer's address (with their e-mail and name).
func (h *AccountHandlers) AddressChanged(ctx context.Context, tx pgx.Tx, e kitevents.Event) error {
	c, v, err := decodeCustomer(e)
	if err != nil {
		return err
	}
	return h.w.ApplyCustomer(ctx, tx, c, true, v)
}

// Package orderhistory serves the Order History fragment: the signed-in customer's latest orders, for
// accounts' Account page; guests see a hint to sign in.
package orderhistory

import (
	"context"
	"fmt"
	"time"

	"github.com/gofiber/fiber/v2"

	"github.com/inlay-dev/inlay/fragments"
	"github.com/inlay-dev/inlay/services/checkout"
)

// Name is the fragment's name in checkout's manifest.
const Name = "order-history"

// Length is how many orders the Order History shows.
const Length = 20

// Lister lists a customer's latest orders (at most limit, newest first), without their lines; none
// for an empty customer id.
type Lister interface {
	OrdersOf(ctx context.Context, customerID string, limit int) ([]checkout.Order, error)
}

// Entry is what the history shows of an order: its date (linking to the order page), status and total.
type Entry struct {
	ID      string
	Status  checkout.Status
	Created time.Time
	Total   int64
}

// NewEntries are the history's entries of orders.
func NewEntries(orders []checkout.Order) []Entry {
	out := make([]Entry, len(orders))
	for i, o := range orders {
		out[i] = Entry{ID: o.ID, Status: o.Status, Created: o.Created, Total: o.Total}
	}
	return out
}

// Handler serves the order history of the request's customer.
func Handler(orders Lister, opts ...fragments.RenderOption) fiber.Handler {
	return func(c *fiber.Ctx) error {
		fc := fragments.ContextFrom(c.UserContext())
		list, err := orders.OrdersOf(c.UserContext(), fc.CustomerID, Length)
		if err != nil {
			return fmt.Errorf("order history: %w", err)
		}
		return fragments.Render(c, OrderHistoryView(NewEntries(list), fc.Guest()), fragments.Private, opts...)
	}
}

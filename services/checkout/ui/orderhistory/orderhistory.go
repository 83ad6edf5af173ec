// Package orderhistory serves the Order History fragment: the signed-in customer's latest orders, for
// accounts' Account page; guests see a hint to sign in.
package orderhistory

import (
	"context"
	"fmt"

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

// Handler serves the order history of the request's customer.
func Handler(orders Lister, opts ...fragments.RenderOption) fiber.Handler {
	return func(c *fiber.Ctx) error {
		fc := fragments.ContextFrom(c.UserContext())
		list, err := orders.OrdersOf(c.UserContext(), fc.CustomerID, Length)
		if err != nil {
			return fmt.Errorf("order history: %w", err)
		}
		return fragments.Render(c, OrderHistoryView(list, fc.Guest()), fragments.Private, opts...)
	}
}

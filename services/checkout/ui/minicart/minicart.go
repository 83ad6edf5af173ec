// Package minicart serves the Mini Cart fragment: the cart's total quantity, linking to the cart
// page. checkout's script refreshes it from GET /ui/mini-cart, the same handler.
package minicart

import (
	"context"
	"fmt"
	"strconv"

	"github.com/gofiber/fiber/v2"

	"github.com/inlay-dev/inlay/fragments"
	"github.com/inlay-dev/inlay/services/checkout"
)

// Name is the fragment's name in checkout's manifest.
const Name = "mini-cart"

// LineReader reads a cart's lines (none for an unknown cart).
type LineReader interface {
	Lines(ctx context.Context, cartID string) ([]checkout.CartLine, error)
}

// Handler serves the mini cart of the request's cart.
func Handler(carts LineReader, opts ...fragments.RenderOption) fiber.Handler {
	return func(c *fiber.Ctx) error {
		ctx := c.UserContext()
		n := 0
		if id := fragments.ContextFrom(ctx).CartID; id != "" {
			lines, err := carts.Lines(ctx, id)
			if err != nil {
				return fmt.Errorf("mini cart: %w", err)
			}
			n = checkout.Units(lines)
		}
		return fragments.Render(c, MiniCartView(n), fragments.Private, opts...)
	}
}

// Unknown is MiniCartView's quantity when it is not known: the fallback.
const Unknown = -1

// miniCartLabel is the Mini Cart link's accessible name: its icon and count alone say nothing to a
// screen reader.
func miniCartLabel(quantity int) string {
	switch {
	case quantity < 0:
		return "Basket"
	case quantity == 0:
		return "Basket, empty"
	case quantity == 1:
		return "Basket, 1 item"
	}
	return "Basket, " + strconv.Itoa(quantity) + " items"
}

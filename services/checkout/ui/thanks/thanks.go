// Package thanks serves the Thanks fragment: the thank-you page's content after an order is placed,
// the order with its live status. Only the order's owner sees it.
package thanks

import (
	"fmt"
	"slices"

	"github.com/gofiber/fiber/v2"

	"github.com/inlay-dev/inlay/fragments"
	"github.com/inlay-dev/inlay/services/checkout"
	"github.com/inlay-dev/inlay/services/checkout/ui/fallback"
	"github.com/inlay-dev/inlay/services/checkout/ui/order"
	"github.com/inlay-dev/inlay/services/kit/errs"
)

// Name is the fragment's name in checkout's manifest.
const Name = "thanks"

// CancelledHeading is the thank-you page's heading once its order is cancelled (checkout.js writes
// the same when it sees the status change).
const CancelledHeading = "Your order was cancelled"

// ThanksModel is what the thank-you page's content shows.
type ThanksModel struct {
	Order order.View
}

// Handler serves the thank-you page's content for ?order=; 404 with a short message when the order
// is not the visitor's.
func Handler(orders order.Reader, opts ...fragments.RenderOption) fiber.Handler {
	notFound := append(slices.Clip(opts), fragments.Status(fiber.StatusNotFound), fragments.Title("Order not found"))
	return func(c *fiber.Ctx) error {
		o, err := order.Own(c.UserContext(), orders, c.Query("order"))
		if errs.Code(err) == errs.ENOTFOUND {
			return fragments.Render(c, fallback.OrderNotFound("checkout-thanks", fragments.ContextFrom(c.UserContext()).CustomerID != ""), fragments.Private, notFound...)
		}
		if err != nil {
			return fmt.Errorf("thanks: %w", err)
		}
		v := order.NewView(o)
		v.CSRF = fragments.ContextFrom(c.UserContext()).CSRF
		ro := opts
		if o.Status == checkout.Cancelled {
			// The tab says what the heading says.
			ro = append(slices.Clip(opts), fragments.Title(CancelledHeading))
		}
		return fragments.Render(c, ThanksView(ThanksModel{Order: v}), fragments.Private, ro...)
	}
}

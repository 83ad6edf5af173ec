// Package order serves the Order fragment (the order page's content: one order with its live status)
// and GET /ui/orders/{id}/status, which checkout's script polls. Only the order's owner — its cart or
// its customer — sees it; anyone else gets "not found".
package order

import (
	"context"
	"fmt"
	"slices"

	"github.com/gofiber/fiber/v2"

	"github.com/inlay-dev/inlay/fragments"
	"github.com/inlay-dev/inlay/services/checkout"
	"github.com/inlay-dev/inlay/services/checkout/ui/fallback"
	"github.com/inlay-dev/inlay/services/kit/errs"
)

// Name is the fragment's name in checkout's manifest.
const Name = "order"

// Reader reads an order with its lines; checkout.ErrOrderNotFound (ENOTFOUND) when it does not exist.
type Reader interface {
	Order(ctx context.Context, id string) (checkout.Order, error)
}

// Model is what the order page's content shows.
type Model struct {
	Order View
}

// View is what the order page and the thank-you page show of an order: its id (and status URL),
// status and reason, lines and total.
type View struct {
	ID     string
	Status checkout.Status
	Reason string
	Lines  []Line
	Total  int64
}

// Line is what is shown of an order line: "2 × SmartFarm Titan Sunset Copper — 8200 Ø".
type Line struct {
	Quantity    int
	ProductName string
	Name        string
	total       int64
}

// Total is quantity × unit price.
func (l Line) Total() int64 { return l.total }

// NewView is the view of order o.
func NewView(o checkout.Order) View {
	v := View{ID: o.ID, Status: o.Status, Reason: o.Reason, Total: o.Total, Lines: make([]Line, len(o.Lines))}
	for i, l := range o.Lines {
		v.Lines[i] = Line{Quantity: l.Quantity, ProductName: l.ProductName, Name: l.Name, total: l.Total()}
	}
	return v
}

// Own reads order id when it belongs to the request's cart or customer; ENOTFOUND otherwise, so
// nobody learns about someone else's order.
func Own(ctx context.Context, orders Reader, id string) (checkout.Order, error) {
	o, err := orders.Order(ctx, id)
	if err != nil {
		return o, err
	}
	fc := fragments.ContextFrom(ctx)
	if !o.OwnedBy(fc.CartID, fc.CustomerID) {
		return checkout.Order{}, checkout.ErrOrderNotFound(id)
	}
	return o, nil
}

// Handler serves the order page's content for ?order=; 404 with a short message when the order is
// not the visitor's.
func Handler(orders Reader, opts ...fragments.RenderOption) fiber.Handler {
	notFound := append(slices.Clip(opts), fragments.Status(fiber.StatusNotFound), fragments.Title("Order not found"))
	return func(c *fiber.Ctx) error {
		o, err := Own(c.UserContext(), orders, c.Query("order"))
		if errs.Code(err) == errs.ENOTFOUND {
			return fragments.Render(c, fallback.OrderNotFound("checkout-order"), fragments.Private, notFound...)
		}
		if err != nil {
			return fmt.Errorf("order: %w", err)
		}
		return fragments.Render(c, OrderView(Model{Order: NewView(o)}), fragments.Private, opts...)
	}
}

// Status is GET /ui/orders/{id}/status's JSON answer.
type Status struct {
	OrderID string          `json:"orderId"`
	Status  checkout.Status `json:"status"`
	Reason  string          `json:"reason,omitempty"`
	Final   bool            `json:"final"`
}

// StatusHandler is GET /ui/orders/{id}/status: the order's status, 404 unless it is the visitor's.
func StatusHandler(orders Reader) fiber.Handler {
	return func(c *fiber.Ctx) error {
		o, err := Own(c.UserContext(), orders, c.Params("id"))
		if err != nil {
			return err
		}
		c.Set(fiber.HeaderCacheControl, "no-store")
		return c.JSON(Status{OrderID: o.ID, Status: o.Status, Reason: o.Reason, Final: o.Status.Final()})
	}
}

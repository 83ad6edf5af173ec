// Package order serves the Order fragment (the order page's content: one order with its live status)
// and GET /ui/orders/{id}/status, which checkout's script polls. Only the order's owner — its cart or
// its customer — sees it; anyone else gets "not found".
package order

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

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
// status and reason, when it was placed, where it is picked up, for whom and with which card, lines
// and total.
type View struct {
	ID     string
	Status checkout.Status
	Reason string
	Lines  []Line
	Total  int64
	// Placed is when the order was placed; Store where it is picked up (its name, or its id when
	// checkout no longer knows the store); For whom; CardLast the card's last four digits.
	Placed   time.Time
	Store    string
	For      string
	CardLast string
	// CSRF is the visitor's token, for the form that puts a cancelled order's tractors back in the
	// basket.
	CSRF string
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
	v := View{ID: o.ID, Status: o.Status, Reason: o.Reason, Total: o.Total, Lines: make([]Line, len(o.Lines)),
		Placed: o.Created.UTC(), Store: o.StoreName, CardLast: o.CardLast,
		For: strings.TrimSpace(o.Customer.FirstName + " " + o.Customer.LastName)}
	if v.Store == "" {
		v.Store = o.StoreID
	}
	for i, l := range o.Lines {
		v.Lines[i] = Line{Quantity: l.Quantity, ProductName: l.ProductName, Name: l.Name, total: l.Total()}
	}
	return v
}

// ItemReader reads checkout's copy of a variant with its stock.
type ItemReader interface {
	Item(ctx context.Context, sku string) (checkout.Item, error)
}

// CartSetter reads a cart's lines and sets a line's quantity (adding the line when it is new), at
// most limit units; checkout.ErrLineLimit or checkout.ErrCartFull when the cart cannot hold them.
type CartSetter interface {
	Lines(ctx context.Context, cartID string) ([]checkout.CartLine, error)
	Set(ctx context.Context, cartID, sku string, n, limit int) error
}

// Reorder is POST /ui/orders/{id}/reorder: the tractors of a cancelled order of the visitor's (a
// declined card, say) go back into the visitor's basket, as many of each as are in stock and fit,
// and the basket page follows, to check out again with another card; a line that no longer fits
// is left out and the page says so. Each line is set to at least the order's quantity, never added
// to, so a second post (a double click, the back button) changes nothing. Another visitor's order
// is 404, an order that was not cancelled 409: nothing is added.
func Reorder(orders Reader, items ItemReader, carts CartSetter) fiber.Handler {
	return func(c *fiber.Ctx) error {
		ctx := c.UserContext()
		o, err := Own(ctx, orders, c.Params("id"))
		if err != nil {
			return err
		}
		if o.Status != checkout.Cancelled {
			return errs.Errorf(errs.ECONFLICT, "Only a cancelled order's tractors can be put back in the basket.")
		}
		cartID := fragments.ContextFrom(ctx).CartID
		lines, err := carts.Lines(ctx, cartID)
		if err != nil {
			return fmt.Errorf("reorder: read cart: %w", err)
		}
		have := make(map[string]int, len(lines))
		for _, l := range lines {
			have[l.SKU] = l.Quantity
		}
		short := false
		for _, l := range o.Lines {
			it, err := items.Item(ctx, l.SKU)
			if errs.Code(err) == errs.ENOTFOUND {
				short = true
				continue
			}
			if err != nil {
				return fmt.Errorf("reorder %s: %w", l.SKU, err)
			}
			limit, err := checkout.AddLimit(it)
			if err != nil { // out of stock
				short = true
				continue
			}
			n := min(l.Quantity, limit)
			short = short || n < l.Quantity
			if have[l.SKU] >= n {
				continue // there already (put back before, or added since)
			}
			if err := carts.Set(ctx, cartID, l.SKU, n, limit); err != nil {
				if !errors.Is(err, checkout.ErrLineLimit) && !errors.Is(err, checkout.ErrCartFull) {
					return fmt.Errorf("reorder %s: %w", l.SKU, err)
				}
				short = true
			}
		}
		if short {
			return c.Redirect("/checkout/cart?error=reorder-short", fiber.StatusSeeOther)
		}
		return c.Redirect("/checkout/cart", fiber.StatusSeeOther)
	}
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
			return fragments.Render(c, fallback.OrderNotFound("checkout-order", fragments.ContextFrom(c.UserContext()).CustomerID != ""), fragments.Private, notFound...)
		}
		if err != nil {
			return fmt.Errorf("order: %w", err)
		}
		v := NewView(o)
		v.CSRF = fragments.ContextFrom(c.UserContext()).CSRF
		return fragments.Render(c, OrderView(Model{Order: v}), fragments.Private, opts...)
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

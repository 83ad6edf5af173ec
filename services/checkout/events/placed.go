package events

import (
	"context"
	"errors"
	"fmt"

	"github.com/jackc/pgx/v5"

	"github.com/inlay-dev/inlay/services/checkout"
	"github.com/inlay-dev/inlay/services/kit/errs"
	kitevents "github.com/inlay-dev/inlay/services/kit/events"
)

// OrderReader reads an order inside the handler's transaction (postgres.Store.OrderTx): an error
// coded ENOTFOUND for an order checkout does not have.
type OrderReader interface {
	OrderTx(ctx context.Context, tx pgx.Tx, id string) (checkout.Order, error)
}

// CartClearer takes a placed order's lines out of its cart once per order, whoever asks first
// (redis.Carts.ClearOrdered; an empty key ends no request's claim).
type CartClearer interface {
	ClearOrdered(ctx context.Context, id, orderID, key string, lines []checkout.CartLine) error
}

// CartHandlers handle checkout's own checkout.order.placed: the order's lines leave its cart. The
// request that placed the order takes them out at once; this is the durable second try, for a
// request whose Redis call failed after the order was committed (the event comes from the same
// transaction as the order, so it is never lost, and a failure here is retried like any handler's).
// The cart's "ordered" mark makes the two one: whichever comes second takes nothing out.
type CartHandlers struct {
	orders OrderReader
	carts  CartClearer
}

// NewCartHandlers returns the handlers reading orders through orders and clearing carts through
// carts.
func NewCartHandlers(orders OrderReader, carts CartClearer) *CartHandlers {
	return &CartHandlers{orders: orders, carts: carts}
}

// Register routes checkout.order.placed on c to Placed.
func (h *CartHandlers) Register(c *kitevents.Consumer) {
	c.Handle(OrderPlacedType, h.Placed)
}

// Placed takes the order's lines out of the cart it was placed from, unless that was done.
func (h *CartHandlers) Placed(ctx context.Context, tx pgx.Tx, e kitevents.Event) error {
	ev, err := decodeOrder(e)
	if err != nil {
		return err
	}
	o, err := h.orders.OrderTx(ctx, tx, ev.OrderID)
	if errs.Code(err) == errs.ENOTFOUND {
		return permanent(e, errors.Join(checkout.ErrUnknownOrder, err))
	}
	if err != nil {
		return fmt.Errorf("%s %s: %w", e.Type, e.ID, err)
	}
	if o.CartID == "" {
		return nil
	}
	if err := h.carts.ClearOrdered(ctx, o.CartID, o.ID, "", checkout.LinesOf(o)); err != nil {
		return fmt.Errorf("%s %s: %w", e.Type, e.ID, err)
	}
	return nil
}

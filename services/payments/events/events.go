// Package events defines what payments publishes and applies what it consumes.
//
// Published (subject: the order id, so all events of one order are delivered in order; examples in
// testdata/*.json are the contract other contexts' tests decode):
//
//	payments.payment.authorized.v1  Authorized  the order's total is authorized; carries the lines
//	payments.payment.declined.v1    Declined    the card was declined, with the reason
//	payments.payment.refunded.v1    Refunded    an authorized payment was refunded, with the reason
//
// Consumed (tolerant readers: only the fields payments reads):
//
//	checkout.order.placed.v1        authorize the order's total (once per order)
//	inventory.stock.rejected.v1     refund the order's payment (once)
package events

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	"github.com/jackc/pgx/v5"

	"github.com/inlay-dev/inlay/services/kit/events"
	"github.com/inlay-dev/inlay/services/payments"
)

// Source is the context payments' events come from.
const Source = "payments"

// ConsumerName names payments' queue.
const ConsumerName = "payments"

// Event types payments publishes.
const (
	AuthorizedType = "payments.payment.authorized.v1"
	DeclinedType   = "payments.payment.declined.v1"
	RefundedType   = "payments.payment.refunded.v1"
)

// Event types payments consumes.
const (
	OrderPlacedType   = "checkout.order.placed.v1"
	StockRejectedType = "inventory.stock.rejected.v1"
)

// Line is an order line inside Authorized, copied from checkout's order.placed.
type Line struct {
	SKU       string `json:"sku"`
	Name      string `json:"name,omitempty"`
	Quantity  int    `json:"quantity"`
	UnitPrice int64  `json:"unit_price"`
}

// Authorized is the payload of payment.authorized.
type Authorized struct {
	OrderID   string `json:"order_id"`
	PaymentID string `json:"payment_id"`
	Amount    int64  `json:"amount"`
	Lines     []Line `json:"lines"`
}

// Declined is the payload of payment.declined.
type Declined struct {
	OrderID   string `json:"order_id"`
	PaymentID string `json:"payment_id"`
	Reason    string `json:"reason"`
}

// Refunded is the payload of payment.refunded.
type Refunded struct {
	OrderID   string `json:"order_id"`
	PaymentID string `json:"payment_id"`
	Amount    int64  `json:"amount"`
	Reason    string `json:"reason"`
}

// AuthorizedEvent is the payment.authorized event of p, carrying the order's lines.
func AuthorizedEvent(p payments.Payment, lines []payments.Line) (events.Event, error) {
	data := Authorized{OrderID: p.OrderID, PaymentID: p.ID, Amount: p.Amount, Lines: make([]Line, 0, len(lines))}
	for _, l := range lines {
		data.Lines = append(data.Lines, Line{SKU: l.SKU, Name: l.Name, Quantity: l.Quantity, UnitPrice: l.UnitPrice})
	}
	return build(AuthorizedType, p.OrderID, data)
}

// DeclinedEvent is the payment.declined event of p.
func DeclinedEvent(p payments.Payment) (events.Event, error) {
	return build(DeclinedType, p.OrderID, Declined{OrderID: p.OrderID, PaymentID: p.ID, Reason: p.Reason})
}

// RefundedEvent is the payment.refunded event of p (refunded, with its reason).
func RefundedEvent(p payments.Payment) (events.Event, error) {
	return build(RefundedType, p.OrderID, Refunded{OrderID: p.OrderID, PaymentID: p.ID, Amount: p.Amount, Reason: p.Reason})
}

func build(typ, subject string, data any) (events.Event, error) {
	e, err := events.New(Source, typ, subject, data)
	if err != nil {
		return events.Event{}, fmt.Errorf("%s %s: %w", typ, subject, err)
	}
	return e, nil
}

// orderPlaced is what payments reads of checkout's order.placed. The card number is a test card of
// the simulated provider; a real provider would get a token from the browser instead, and the event
// would carry only that token.
type orderPlaced struct {
	OrderID string `json:"order_id"`
	Lines   []struct {
		SKU       string `json:"sku"`
		Name      string `json:"name"`
		Quantity  int    `json:"quantity"`
		UnitPrice int64  `json:"unit_price"`
	} `json:"lines"`
	Total *int64 `json:"total"`
	Card  struct {
		Number string `json:"number"`
	} `json:"card"`
}

// stockRejected is what payments reads of inventory's stock.rejected.
type stockRejected struct {
	OrderID string `json:"order_id"`
	Reason  string `json:"reason"`
}

// Store is where the handlers write, inside the event's transaction; it adds the events it
// publishes to the outbox in the same transaction.
type Store interface {
	// Record stores the first decision on an order and publishes payment.authorized (with lines) or
	// payment.declined. When the order already has a payment it changes nothing, publishes nothing
	// and returns the existing payment with created false.
	Record(ctx context.Context, tx pgx.Tx, p payments.Payment, lines []payments.Line) (stored payments.Payment, created bool, err error)
	// Refund refunds the order's authorized payment with reason and publishes payment.refunded.
	// A payment that is declined or already refunded is left alone (refunded false).
	// ErrNoPayment when the order has no payment.
	Refund(ctx context.Context, tx pgx.Tx, orderID, reason string) (p payments.Payment, refunded bool, err error)
}

// ErrNoPayment is returned (wrapped) by Store.Refund for an order without a payment.
var ErrNoPayment = errors.New("no payment for the order")

// Handlers are payments' event handlers.
type Handlers struct {
	store Store
	newID func() (string, error)
}

// NewHandlers returns the handlers writing to store; newID makes payment ids.
func NewHandlers(store Store, newID func() (string, error)) *Handlers {
	return &Handlers{store: store, newID: newID}
}

// Register adds the handlers to c.
func (h *Handlers) Register(c *events.Consumer) {
	c.Handle(OrderPlacedType, h.OrderPlaced)
	c.Handle(StockRejectedType, h.StockRejected)
}

// OrderPlaced authorizes a placed order's total by the test-card rules and records the payment,
// once per order: a second order.placed for the same order (a replay, a duplicate with another
// event id) changes nothing.
func (h *Handlers) OrderPlaced(ctx context.Context, tx pgx.Tx, e events.Event) error {
	order, err := decodeOrder(e.Data)
	if err != nil {
		return events.Permanent(fmt.Errorf("%s %s: %w", e.Type, e.ID, err))
	}
	id, err := h.newID()
	if err != nil {
		return fmt.Errorf("payment id: %w", err)
	}
	d := payments.Authorize(order.Card, order.Total)
	p := payments.Payment{ID: id, OrderID: order.ID, Amount: order.Total, CardLast4: payments.Last4(order.Card),
		Status: payments.StatusAuthorized}
	if !d.Approved {
		p.Status, p.Reason = payments.StatusDeclined, d.Reason
	}
	_, _, err = h.store.Record(ctx, tx, p, order.Lines)
	return err
}

// StockRejected refunds the order's payment, once.
func (h *Handlers) StockRejected(ctx context.Context, tx pgx.Tx, e events.Event) error {
	var r stockRejected
	if err := json.Unmarshal(e.Data, &r); err != nil {
		return events.Permanent(fmt.Errorf("%s %s: %w", e.Type, e.ID, err))
	}
	if strings.TrimSpace(r.OrderID) == "" {
		return events.Permanent(fmt.Errorf("%s %s: order_id missing", e.Type, e.ID))
	}
	reason := strings.TrimSpace(r.Reason)
	if reason == "" {
		reason = "out of stock"
	}
	_, _, err := h.store.Refund(ctx, tx, r.OrderID, reason)
	if errors.Is(err, ErrNoPayment) {
		// inventory rejects only orders whose payment it heard of: this is not going to change.
		return events.Permanent(fmt.Errorf("%s %s: %w", e.Type, e.ID, err))
	}
	return err
}

func decodeOrder(data json.RawMessage) (payments.Order, error) {
	var o orderPlaced
	if err := json.Unmarshal(data, &o); err != nil {
		return payments.Order{}, err
	}
	if strings.TrimSpace(o.OrderID) == "" {
		return payments.Order{}, errors.New("order_id missing")
	}
	if o.Total == nil || *o.Total < 0 {
		return payments.Order{}, errors.New("total missing or negative")
	}
	if len(o.Lines) == 0 {
		return payments.Order{}, errors.New("an order needs lines")
	}
	out := payments.Order{ID: o.OrderID, Total: *o.Total, Card: o.Card.Number, Lines: make([]payments.Line, 0, len(o.Lines))}
	for _, l := range o.Lines {
		if strings.TrimSpace(l.SKU) == "" || l.Quantity <= 0 || l.UnitPrice < 0 {
			return payments.Order{}, fmt.Errorf("line %q: sku, quantity or unit_price missing or invalid", l.SKU)
		}
		out.Lines = append(out.Lines, payments.Line{SKU: l.SKU, Name: l.Name, Quantity: l.Quantity, UnitPrice: l.UnitPrice})
	}
	return out, nil
}

// Package events defines what inventory publishes and applies what it consumes.
//
// Published (examples in testdata/*.json are the contract other contexts' tests decode):
//
//	inventory.stock.changed.v1   StockChanged   subject sku: the quantity on hand after a change, with
//	                                            the sku's version (ignore a version older than held)
//	inventory.stock.reserved.v1  Reserved       subject order id: every line of the order is reserved
//	inventory.stock.rejected.v1  Rejected       subject order id: nothing is reserved; the short skus
//
// Consumed (tolerant readers: only the fields inventory reads):
//
//	payments.payment.authorized.v1   reserve the order's lines, all or nothing (once per order)
//	checkout.order.cancelled.v1      release the order's reservation, if it had one (once)
//	decide.product.created.v1        make sure every variant has a stock row (0 when new)
//	decide.product.updated.v1        the same, for variants added later
package events

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"

	"github.com/jackc/pgx/v5"

	"github.com/inlay-dev/inlay/services/inventory"
	"github.com/inlay-dev/inlay/services/kit/events"
)

// Source is the context inventory's events come from.
const Source = "inventory"

// Consumers are the contexts that consume inventory's stock.changed (docs/architecture.md); after a fresh
// seed inventory's catch-up (events.CatchUp) waits for them.
func Consumers() []string { return []string{"checkout"} }

// ConsumerName names inventory's queue.
const ConsumerName = "inventory"

// Event types inventory publishes.
const (
	StockChangedType  = "inventory.stock.changed.v1"
	StockReservedType = "inventory.stock.reserved.v1"
	StockRejectedType = "inventory.stock.rejected.v1"
)

// Event types inventory consumes.
const (
	PaymentAuthorizedType = "payments.payment.authorized.v1"
	OrderCancelledType    = "checkout.order.cancelled.v1"
	ProductCreatedType    = "decide.product.created.v1"
	ProductUpdatedType    = "decide.product.updated.v1"
)

// StockChanged is the payload of stock.changed.
type StockChanged struct {
	SKU      string `json:"sku"`
	Quantity int    `json:"quantity"`
	Version  int64  `json:"version"`
}

// Line is a reserved line.
type Line struct {
	SKU      string `json:"sku"`
	Quantity int    `json:"quantity"`
}

// Reserved is the payload of stock.reserved.
type Reserved struct {
	OrderID string `json:"order_id"`
	Lines   []Line `json:"lines"`
}

// Rejected is the payload of stock.rejected.
type Rejected struct {
	OrderID string   `json:"order_id"`
	Reason  string   `json:"reason"`
	SKUs    []string `json:"skus"`
}

// StockChangedEvent is the stock.changed event of s.
func StockChangedEvent(s inventory.Stock) (events.Event, error) {
	return build(StockChangedType, s.SKU, StockChanged(s))
}

// ReservedEvent is the stock.reserved event of an order's lines.
func ReservedEvent(orderID string, lines []inventory.Line) (events.Event, error) {
	data := Reserved{OrderID: orderID, Lines: make([]Line, 0, len(lines))}
	for _, l := range lines {
		data.Lines = append(data.Lines, Line(l))
	}
	return build(StockReservedType, orderID, data)
}

// RejectedEvent is the stock.rejected event of an order, with the skus that were short.
func RejectedEvent(orderID, reason string, skus []string) (events.Event, error) {
	if skus == nil {
		skus = []string{}
	}
	return build(StockRejectedType, orderID, Rejected{OrderID: orderID, Reason: reason, SKUs: skus})
}

func build(typ, subject string, data any) (events.Event, error) {
	e, err := events.New(Source, typ, subject, data)
	if err != nil {
		return events.Event{}, fmt.Errorf("%s %s: %w", typ, subject, err)
	}
	return e, nil
}

// Outcome is what became of a payment.authorized.
type Outcome struct {
	// Status is the order's reservation status after the event.
	Status string
	// Changed is false when the order had been decided before (nothing was done or published).
	Changed bool
	// Short lists the skus that were short when the order was rejected for lack of stock.
	Short []string
}

// Store is where the handlers write, inside the event's transaction; it adds the events it
// publishes to the outbox in the same transaction.
type Store interface {
	// Reserve reserves lines (normalised) for the order, all or nothing, once per order, and
	// publishes stock.reserved with a stock.changed per sku, or stock.rejected.
	Reserve(ctx context.Context, tx pgx.Tx, orderID string, lines []inventory.Line) (Outcome, error)
	// Release returns the stock of a reserved order and publishes stock.changed per sku; an order it
	// never heard of is remembered as cancelled. It reports whether stock was returned.
	Release(ctx context.Context, tx pgx.Tx, orderID string) (bool, error)
	// Ensure creates a stock row of 0 for each sku that has none and publishes stock.changed for
	// those; it returns how many it created.
	Ensure(ctx context.Context, tx pgx.Tx, skus []string) (int, error)
}

// Handlers are inventory's event handlers.
type Handlers struct {
	store Store
}

// NewHandlers returns the handlers writing to store.
func NewHandlers(store Store) *Handlers { return &Handlers{store: store} }

// Register adds the handlers to c.
func (h *Handlers) Register(c *events.Consumer) {
	c.Handle(PaymentAuthorizedType, h.PaymentAuthorized)
	c.Handle(OrderCancelledType, h.OrderCancelled)
	c.Handle(ProductCreatedType, h.Product)
	c.Handle(ProductUpdatedType, h.Product)
}

// paymentAuthorized is what inventory reads of payments' payment.authorized.
type paymentAuthorized struct {
	OrderID string `json:"order_id"`
	Lines   []struct {
		SKU      string `json:"sku"`
		Quantity int    `json:"quantity"`
	} `json:"lines"`
}

// orderCancelled is what inventory reads of checkout's order.cancelled.
type orderCancelled struct {
	OrderID string `json:"order_id"`
}

// product is what inventory reads of decide's product.created and product.updated.
type product struct {
	ID       string `json:"id"`
	Variants []struct {
		SKU string `json:"sku"`
	} `json:"variants"`
}

// PaymentAuthorized reserves the paid order's lines, all or nothing, once per order.
func (h *Handlers) PaymentAuthorized(ctx context.Context, tx pgx.Tx, e events.Event) error {
	var p paymentAuthorized
	if err := json.Unmarshal(e.Data, &p); err != nil {
		return events.Permanent(fmt.Errorf("%s %s: %w", e.Type, e.ID, err))
	}
	if strings.TrimSpace(p.OrderID) == "" {
		return events.Permanent(fmt.Errorf("%s %s: order_id missing", e.Type, e.ID))
	}
	lines := make([]inventory.Line, 0, len(p.Lines))
	for _, l := range p.Lines {
		lines = append(lines, inventory.Line{SKU: l.SKU, Quantity: l.Quantity})
	}
	lines, err := inventory.Normalize(lines)
	if err != nil {
		return events.Permanent(fmt.Errorf("%s %s: %w", e.Type, e.ID, err))
	}
	_, err = h.store.Reserve(ctx, tx, p.OrderID, lines)
	return err
}

// OrderCancelled releases the cancelled order's reservation, if it had one.
func (h *Handlers) OrderCancelled(ctx context.Context, tx pgx.Tx, e events.Event) error {
	var o orderCancelled
	if err := json.Unmarshal(e.Data, &o); err != nil {
		return events.Permanent(fmt.Errorf("%s %s: %w", e.Type, e.ID, err))
	}
	if strings.TrimSpace(o.OrderID) == "" {
		return events.Permanent(fmt.Errorf("%s %s: order_id missing", e.Type, e.ID))
	}
	_, err := h.store.Release(ctx, tx, o.OrderID)
	return err
}

// Product makes sure every variant of a product decide created or changed has a stock row.
func (h *Handlers) Product(ctx context.Context, tx pgx.Tx, e events.Event) error {
	var p product
	if err := json.Unmarshal(e.Data, &p); err != nil {
		return events.Permanent(fmt.Errorf("%s %s: %w", e.Type, e.ID, err))
	}
	skus := make([]string, 0, len(p.Variants))
	for _, v := range p.Variants {
		sku := strings.TrimSpace(v.SKU)
		if sku == "" {
			return events.Permanent(fmt.Errorf("%s %s: product %s: a variant has no sku", e.Type, e.ID, p.ID))
		}
		skus = append(skus, sku)
	}
	if len(skus) == 0 {
		return nil
	}
	_, err := h.store.Ensure(ctx, tx, skus)
	return err
}

// Package events holds what checkout publishes — checkout.order.placed, confirmed and cancelled, their
// payloads and the functions that build them (publish.go; examples in testdata/*.json, the contract
// payments' and inventory's tests decode) — and its handlers for the events it consumes:
//
//   - decide.product.created.v1, decide.product.updated.v1, decide.variant.price_changed.v1 fill
//     checkout's copy of the variants (version-guarded: an older product version changes nothing);
//   - inventory.stock.changed.v1 {"sku","quantity"} keeps "N in stock" true;
//   - explore.store.changed.v1 {"id","name","version"} fills checkout's copy of the stores (an order
//     is picked up only at a store checkout knows; version-guarded);
//   - inventory.stock.reserved.v1 {"order_id","lines"} confirms the order;
//   - payments.payment.declined.v1 {"order_id","reason"} and payments.payment.refunded.v1
//     {"order_id","payment_id","amount","reason"} cancel it with the reason;
//   - checkout.order.placed.v1, checkout's own, takes the order's lines out of its cart unless the
//     request that placed it did (CartHandlers: the durable second try of the cart's update);
//   - accounts.customer.registered.v1 and accounts.address.changed.v1 keep checkout's copy of the
//     customers (e-mail, name, address; version-guarded) that prefills a signed-in customer's checkout
//     form (AccountHandlers).
//
// Payloads are read with checkout's own structs (tolerant reader: only the fields checkout uses,
// unknown fields ignored). Handlers are idempotent: the consumer's inbox drops a redelivered event,
// the variant writes are guarded by version, and the order state machine turns a repeated
// confirmation or cancellation into a no-op. An illegal transition (a confirmed order declined, a
// cancelled order reserved) is parked for an operator, never applied.
package events

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	"github.com/jackc/pgx/v5"

	"github.com/inlay-dev/inlay/services/checkout"
	kitevents "github.com/inlay-dev/inlay/services/kit/events"
)

// ConsumerName is checkout's consumer: its queue is "<exchange>.checkout".
const ConsumerName = "checkout"

// The event types checkout handles.
const (
	ProductCreated  = "decide.product.created.v1"
	ProductUpdated  = "decide.product.updated.v1"
	PriceChanged    = "decide.variant.price_changed.v1"
	StockChanged    = "inventory.stock.changed.v1"
	StockReserved   = "inventory.stock.reserved.v1"
	PaymentDeclined = "payments.payment.declined.v1"
	PaymentRefunded = "payments.payment.refunded.v1"
	StoreChanged    = "explore.store.changed.v1"
)

// CopyWriter keeps checkout's copies of decide's variants and inventory's stock inside the handler's
// transaction (postgres.Store).
type CopyWriter interface {
	// ApplyProduct records a product's variants at version; older versions are ignored.
	ApplyProduct(ctx context.Context, tx pgx.Tx, p checkout.ProductChange, version int64) error
	// ApplyPrice records a variant's price at version; older versions are ignored.
	ApplyPrice(ctx context.Context, tx pgx.Tx, sku string, price, version int64) error
	// ApplyStock records a sku's available quantity.
	ApplyStock(ctx context.Context, tx pgx.Tx, sku string, quantity int) error
}

// StoreWriter keeps checkout's copy of explore's stores inside the handler's transaction
// (postgres.Store).
type StoreWriter interface {
	// ApplyStore records a store at version; older versions are ignored.
	ApplyStore(ctx context.Context, tx pgx.Tx, st checkout.PickupStore, version int64) error
}

// OrderUpdater changes an order inside the handler's transaction (postgres.Store.UpdateTx). It
// returns an error wrapping checkout.ErrUnknownOrder for an order checkout does not have, and fn's
// error as it is.
type OrderUpdater interface {
	UpdateTx(ctx context.Context, tx pgx.Tx, id string, fn func(o *checkout.Order) error) (checkout.Order, error)
}

// Handlers handles checkout's events.
type Handlers struct {
	copies CopyWriter
	stores StoreWriter
	orders OrderUpdater
}

// NewHandlers returns the handlers writing the copies of variants and stock through copies, of stores
// through stores, and order changes through orders.
func NewHandlers(copies CopyWriter, stores StoreWriter, orders OrderUpdater) *Handlers {
	return &Handlers{copies: copies, stores: stores, orders: orders}
}

// Register routes the events on c to the handlers.
func (h *Handlers) Register(c *kitevents.Consumer) {
	c.Handle(ProductCreated, h.Product)
	c.Handle(ProductUpdated, h.Product)
	c.Handle(PriceChanged, h.Price)
	c.Handle(StockChanged, h.Stock)
	c.Handle(StoreChanged, h.Store)
	c.Handle(StockReserved, h.Reserved)
	c.Handle(PaymentDeclined, h.Declined)
	c.Handle(PaymentRefunded, h.Refunded)
}

type product struct {
	ID       string    `json:"id"`
	Name     string    `json:"name"`
	Variants []variant `json:"variants"`
	Version  int64     `json:"version"`
}

type variant struct {
	SKU       string `json:"sku"`
	Name      string `json:"name"`
	Color     string `json:"color"`
	Price     *int64 `json:"price"`
	Image     string `json:"image"`
	Thumbnail string `json:"thumbnail"`
}

type priceChanged struct {
	SKU     string `json:"sku"`
	Price   *int64 `json:"price"`
	Version int64  `json:"version"`
}

type stockChanged struct {
	SKU      string `json:"sku"`
	Quantity *int   `json:"quantity"`
}

type storeChanged struct {
	ID      string `json:"id"`
	Name    string `json:"name"`
	Version int64  `json:"version"`
}

type orderEvent struct {
	OrderID string `json:"order_id"`
	Reason  string `json:"reason"`
}

func permanent(e kitevents.Event, err error) error {
	return kitevents.Permanent(fmt.Errorf("%s %s: %w", e.Type, e.ID, err))
}

// Product handles product.created and product.updated.
func (h *Handlers) Product(ctx context.Context, tx pgx.Tx, e kitevents.Event) error {
	var p product
	if err := json.Unmarshal(e.Data, &p); err != nil {
		return permanent(e, fmt.Errorf("decode product: %w", err))
	}
	if strings.TrimSpace(p.ID) == "" || strings.TrimSpace(p.Name) == "" {
		return permanent(e, errors.New("product without id or name"))
	}
	ch := checkout.ProductChange{ID: p.ID, Name: p.Name}
	if p.Variants != nil {
		ch.Variants = make([]checkout.Variant, 0, len(p.Variants))
	}
	for _, v := range p.Variants {
		if !checkout.ValidSKU(v.SKU) || v.Price == nil || *v.Price < 0 {
			return permanent(e, fmt.Errorf("product %s: variant %q without valid sku or price", p.ID, v.SKU))
		}
		img := v.Thumbnail
		if img == "" {
			img = v.Image
		}
		ch.Variants = append(ch.Variants, checkout.Variant{SKU: v.SKU, ProductID: p.ID, ProductName: p.Name,
			Name: v.Name, Color: v.Color, Image: img, Price: *v.Price})
	}
	if err := h.copies.ApplyProduct(ctx, tx, ch, p.Version); err != nil {
		return fmt.Errorf("%s %s: %w", e.Type, e.ID, err)
	}
	return nil
}

// SKUs are the variants whose price or stock an applied event changed in checkout's copies: what
// Add To Cart shows (fragments.SKUTag), so checkout purges the shell's copies of it once the change
// is committed. Other events, and events that do not decode, name none.
func SKUs(e kitevents.Event) []string {
	switch e.Type {
	case ProductCreated, ProductUpdated:
		var p product
		if json.Unmarshal(e.Data, &p) != nil {
			return nil
		}
		skus := make([]string, 0, len(p.Variants))
		for _, v := range p.Variants {
			skus = append(skus, v.SKU)
		}
		return skus
	case PriceChanged, StockChanged:
		var v struct {
			SKU string `json:"sku"`
		}
		if json.Unmarshal(e.Data, &v) != nil || v.SKU == "" {
			return nil
		}
		return []string{v.SKU}
	}
	return nil
}

// Price handles variant.price_changed.
func (h *Handlers) Price(ctx context.Context, tx pgx.Tx, e kitevents.Event) error {
	var p priceChanged
	if err := json.Unmarshal(e.Data, &p); err != nil {
		return permanent(e, fmt.Errorf("decode price change: %w", err))
	}
	if !checkout.ValidSKU(p.SKU) || p.Price == nil || *p.Price < 0 {
		return permanent(e, fmt.Errorf("price change of %q without valid sku or price", p.SKU))
	}
	if err := h.copies.ApplyPrice(ctx, tx, p.SKU, *p.Price, p.Version); err != nil {
		return fmt.Errorf("%s %s: %w", e.Type, e.ID, err)
	}
	return nil
}

// Stock handles inventory.stock.changed.
func (h *Handlers) Stock(ctx context.Context, tx pgx.Tx, e kitevents.Event) error {
	var s stockChanged
	if err := json.Unmarshal(e.Data, &s); err != nil {
		return permanent(e, fmt.Errorf("decode stock change: %w", err))
	}
	if !checkout.ValidSKU(s.SKU) || s.Quantity == nil {
		return permanent(e, fmt.Errorf("stock change of %q without valid sku or quantity", s.SKU))
	}
	if err := h.copies.ApplyStock(ctx, tx, s.SKU, max(*s.Quantity, 0)); err != nil {
		return fmt.Errorf("%s %s: %w", e.Type, e.ID, err)
	}
	return nil
}

// Store handles explore.store.changed.
func (h *Handlers) Store(ctx context.Context, tx pgx.Tx, e kitevents.Event) error {
	var s storeChanged
	if err := json.Unmarshal(e.Data, &s); err != nil {
		return permanent(e, fmt.Errorf("decode store change: %w", err))
	}
	if !checkout.ValidSKU(s.ID) || strings.TrimSpace(s.Name) == "" || s.Version < 1 {
		return permanent(e, fmt.Errorf("store change of %q without valid id, name or version", s.ID))
	}
	if err := h.stores.ApplyStore(ctx, tx, checkout.PickupStore{ID: s.ID, Name: s.Name}, s.Version); err != nil {
		return fmt.Errorf("%s %s: %w", e.Type, e.ID, err)
	}
	return nil
}

func decodeOrder(e kitevents.Event) (orderEvent, error) {
	var o orderEvent
	if err := json.Unmarshal(e.Data, &o); err != nil {
		return o, permanent(e, fmt.Errorf("decode: %w", err))
	}
	if strings.TrimSpace(o.OrderID) == "" {
		return o, permanent(e, errors.New("event without order_id"))
	}
	return o, nil
}

// Reserved handles inventory.stock.reserved: the order is confirmed.
func (h *Handlers) Reserved(ctx context.Context, tx pgx.Tx, e kitevents.Event) error {
	o, err := decodeOrder(e)
	if err != nil {
		return err
	}
	_, err = h.orders.UpdateTx(ctx, tx, o.OrderID, func(o *checkout.Order) error { return o.Confirm() })
	return h.sagaErr(e, err)
}

// Declined handles payments.payment.declined: the order is cancelled with the decline's reason.
func (h *Handlers) Declined(ctx context.Context, tx pgx.Tx, e kitevents.Event) error {
	o, err := decodeOrder(e)
	if err != nil {
		return err
	}
	_, err = h.orders.UpdateTx(ctx, tx, o.OrderID, cancel(reasonOr(o.Reason, "payment declined")))
	return h.sagaErr(e, err)
}

// Refunded handles payments.payment.refunded: the order is cancelled with the refund's reason
// ("out of stock" when inventory rejected it).
func (h *Handlers) Refunded(ctx context.Context, tx pgx.Tx, e kitevents.Event) error {
	o, err := decodeOrder(e)
	if err != nil {
		return err
	}
	_, err = h.orders.UpdateTx(ctx, tx, o.OrderID, cancel(reasonOr(o.Reason, "payment refunded")))
	return h.sagaErr(e, err)
}

// cancel is the order change of a cancellation with reason.
func cancel(reason string) func(o *checkout.Order) error {
	return func(o *checkout.Order) error { return o.Cancel(reason) }
}

// sagaErr parks events that can never apply (an unknown order, an illegal transition) and lets
// other errors (the database) retry.
func (h *Handlers) sagaErr(e kitevents.Event, err error) error {
	if err == nil {
		return nil
	}
	if errors.Is(err, checkout.ErrIllegalTransition) || errors.Is(err, checkout.ErrUnknownOrder) {
		return permanent(e, err)
	}
	return fmt.Errorf("%s %s: %w", e.Type, e.ID, err)
}

// maxReason bounds the reason stored with a cancelled order.
const maxReason = 200

func reasonOr(reason, def string) string {
	reason = strings.TrimSpace(reason)
	if reason == "" {
		return def
	}
	if r := []rune(reason); len(r) > maxReason {
		reason = string(r[:maxReason])
	}
	return strings.ReplaceAll(reason, "_", " ")
}

// Package events holds what explore publishes — explore.store.changed, its payload and the function
// that builds it (publish.go; examples in testdata/*.json, which checkout's tests decode), and the
// first-start catch-up that republishes the stores (catchup.go) — and explore's handlers for the
// events it consumes: decide's product.created, product.updated and variant.price_changed, which
// fill explore's product summaries.
//
// Each payload is read with explore's own structs (tolerant reader): only the fields explore uses,
// unknown fields ignored. decide's example events (services/decide/events/testdata) are the contract
// the tests decode. Handlers are idempotent: the consumer's inbox drops a redelivered event, and the
// store ignores a state older than the product version it already holds, so a late or repeated event
// changes nothing.
package events

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	"github.com/jackc/pgx/v5"

	"github.com/inlay-dev/inlay/services/explore"
	kitevents "github.com/inlay-dev/inlay/services/kit/events"
)

// ConsumerName is explore's consumer: its queue is "<exchange>.explore".
const ConsumerName = "explore"

// The event types explore handles.
const (
	ProductCreated = "decide.product.created.v1"
	ProductUpdated = "decide.product.updated.v1"
	PriceChanged   = "decide.variant.price_changed.v1"
)

// Writer applies decide's changes to explore's product summaries inside the handler's transaction.
type Writer interface {
	// ApplyProduct records a product's state at version; older versions are ignored.
	ApplyProduct(ctx context.Context, tx pgx.Tx, p explore.ProductChange, version int64) error
	// ApplyPrice records a variant's price at version; older versions are ignored.
	ApplyPrice(ctx context.Context, tx pgx.Tx, ch explore.PriceChange, version int64) error
}

// Handlers handles decide's events with a Writer.
type Handlers struct{ w Writer }

// NewHandlers returns the handlers writing through w.
func NewHandlers(w Writer) *Handlers { return &Handlers{w: w} }

// Register routes decide's events on c to the handlers.
func (h *Handlers) Register(c *kitevents.Consumer) {
	c.Handle(ProductCreated, h.Product)
	c.Handle(ProductUpdated, h.Product)
	c.Handle(PriceChanged, h.Price)
}

// product is what explore reads of decide's product payload.
type product struct {
	ID         string   `json:"id"`
	Name       string   `json:"name"`
	Category   string   `json:"category"`
	Highlights []string `json:"highlights"`
	// Variants is nil when the payload has none, which leaves explore's variants as they are.
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

// priceChanged is what explore reads of decide's variant.price_changed payload.
type priceChanged struct {
	ProductID string `json:"productId"`
	SKU       string `json:"sku"`
	Price     *int64 `json:"price"`
	Version   int64  `json:"version"`
}

// Product handles product.created and product.updated: the product's full state.
func (h *Handlers) Product(ctx context.Context, tx pgx.Tx, e kitevents.Event) error {
	p, version, err := decodeProduct(e.Data)
	if err != nil {
		return kitevents.Permanent(fmt.Errorf("%s %s: %w", e.Type, e.ID, err))
	}
	if err := h.w.ApplyProduct(ctx, tx, p, version); err != nil {
		return fmt.Errorf("%s %s: %w", e.Type, e.ID, err)
	}
	return nil
}

// Price handles variant.price_changed.
func (h *Handlers) Price(ctx context.Context, tx pgx.Tx, e kitevents.Event) error {
	ch, version, err := decodePrice(e.Data)
	if err != nil {
		return kitevents.Permanent(fmt.Errorf("%s %s: %w", e.Type, e.ID, err))
	}
	if err := h.w.ApplyPrice(ctx, tx, ch, version); err != nil {
		return fmt.Errorf("%s %s: %w", e.Type, e.ID, err)
	}
	return nil
}

// decodeProduct reads a product payload; a payload explore cannot use is an error (the event is
// parked, not retried).
func decodeProduct(data json.RawMessage) (explore.ProductChange, int64, error) {
	var p product
	if err := json.Unmarshal(data, &p); err != nil {
		return explore.ProductChange{}, 0, fmt.Errorf("decode product: %w", err)
	}
	var errs []error
	if strings.TrimSpace(p.ID) == "" {
		errs = append(errs, errors.New("product without id"))
	}
	if strings.TrimSpace(p.Name) == "" {
		errs = append(errs, fmt.Errorf("product %s without name", p.ID))
	}
	ch := explore.ProductChange{ID: p.ID, Name: p.Name, Category: p.Category, Highlights: p.Highlights}
	if p.Variants != nil {
		ch.Variants = make([]explore.Variant, 0, len(p.Variants))
	}
	for _, v := range p.Variants {
		if strings.TrimSpace(v.SKU) == "" || v.Price == nil || *v.Price < 0 {
			errs = append(errs, fmt.Errorf("product %s: variant %q without sku or valid price", p.ID, v.SKU))
			continue
		}
		image := v.Thumbnail
		if image == "" {
			image = v.Image
		}
		ch.Variants = append(ch.Variants, explore.Variant{SKU: v.SKU, Name: v.Name, Color: v.Color, Image: image, Price: *v.Price})
	}
	if err := errors.Join(errs...); err != nil {
		return explore.ProductChange{}, 0, err
	}
	return ch, p.Version, nil
}

func decodePrice(data json.RawMessage) (explore.PriceChange, int64, error) {
	var p priceChanged
	if err := json.Unmarshal(data, &p); err != nil {
		return explore.PriceChange{}, 0, fmt.Errorf("decode price change: %w", err)
	}
	if strings.TrimSpace(p.SKU) == "" || strings.TrimSpace(p.ProductID) == "" || p.Price == nil || *p.Price < 0 {
		return explore.PriceChange{}, 0, fmt.Errorf("price change %q of %q without sku, product or valid price", p.SKU, p.ProductID)
	}
	return explore.PriceChange{ProductID: p.ProductID, SKU: p.SKU, Price: *p.Price}, p.Version, nil
}

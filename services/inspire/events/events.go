// Package events applies decide's events to inspire's read model. It declares its own structs with
// only the fields inspire reads (tolerant reader); decide's example events in
// services/decide/events/testdata are the contract its tests decode.
package events

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/jackc/pgx/v5"

	"github.com/inlay-dev/inlay/services/inspire"
	"github.com/inlay-dev/inlay/services/kit/events"
)

// Event types inspire consumes.
const (
	ProductCreatedType = "decide.product.created.v1"
	ProductUpdatedType = "decide.product.updated.v1"
	PriceChangedType   = "decide.variant.price_changed.v1"
)

// product is what inspire reads of decide's product.created and product.updated.
type product struct {
	ID       string `json:"id"`
	Name     string `json:"name"`
	Version  int64  `json:"version"`
	Variants []struct {
		SKU       string `json:"sku"`
		Name      string `json:"name"`
		Color     string `json:"color"`
		Price     int64  `json:"price"`
		Thumbnail string `json:"thumbnail"`
		Image     string `json:"image"`
	} `json:"variants"`
}

// priceChanged is what inspire reads of decide's variant.price_changed.
type priceChanged struct {
	SKU     string `json:"sku"`
	Price   int64  `json:"price"`
	Version int64  `json:"version"`
}

// ReadModel is where the handlers write, inside the event's transaction.
type ReadModel interface {
	// ApplyProduct makes the read model hold exactly variants for product id at version, unless it
	// holds a newer version.
	ApplyProduct(ctx context.Context, tx pgx.Tx, id string, version int64, variants []inspire.Variant) error
	// ApplyPrice sets the price of sku as of version unless a newer version is held; false when the
	// read model does not hold sku.
	ApplyPrice(ctx context.Context, tx pgx.Tx, sku string, price, version int64) (bool, error)
}

// ErrUnknownVariant is returned for a price change of a variant the read model does not hold yet
// (its product.created was not applied yet): the consumer retries it later.
var ErrUnknownVariant = errors.New("variant not known yet")

// Register adds the handlers of decide's events to c.
func Register(c *events.Consumer, rm ReadModel) {
	h := Handlers(rm)
	for typ, fn := range h {
		c.Handle(typ, fn)
	}
}

// Handlers returns the handlers by event type.
func Handlers(rm ReadModel) map[string]events.Handler {
	applyProduct := func(ctx context.Context, tx pgx.Tx, e events.Event) error {
		id, version, vs, err := decodeProduct(e.Data)
		if err != nil {
			return events.Permanent(fmt.Errorf("%s %s: %w", e.Type, e.ID, err))
		}
		return rm.ApplyProduct(ctx, tx, id, version, vs)
	}
	return map[string]events.Handler{
		ProductCreatedType: applyProduct,
		ProductUpdatedType: applyProduct,
		PriceChangedType: func(ctx context.Context, tx pgx.Tx, e events.Event) error {
			var p priceChanged
			if err := json.Unmarshal(e.Data, &p); err != nil {
				return events.Permanent(fmt.Errorf("%s %s: %w", e.Type, e.ID, err))
			}
			if p.SKU == "" || p.Version <= 0 || p.Price < 0 {
				return events.Permanent(fmt.Errorf("%s %s: sku, version or price missing or invalid", e.Type, e.ID))
			}
			known, err := rm.ApplyPrice(ctx, tx, p.SKU, p.Price, p.Version)
			if err != nil {
				return err
			}
			if !known {
				return fmt.Errorf("price of %s: %w", p.SKU, ErrUnknownVariant)
			}
			return nil
		},
	}
}

func decodeProduct(data json.RawMessage) (string, int64, []inspire.Variant, error) {
	var p product
	if err := json.Unmarshal(data, &p); err != nil {
		return "", 0, nil, err
	}
	if p.ID == "" || p.Version <= 0 {
		return "", 0, nil, errors.New("product id or version missing")
	}
	vs := make([]inspire.Variant, 0, len(p.Variants))
	for _, v := range p.Variants {
		if v.SKU == "" {
			return "", 0, nil, fmt.Errorf("product %s: a variant has no sku", p.ID)
		}
		c, err := inspire.ParseColor(v.Color)
		if err != nil {
			return "", 0, nil, fmt.Errorf("variant %s: %w", v.SKU, err)
		}
		img := v.Thumbnail
		if img == "" {
			img = v.Image
		}
		vs = append(vs, inspire.Variant{SKU: v.SKU, ProductID: p.ID, ProductName: p.Name, Name: v.Name,
			Color: c, Price: v.Price, Image: img, Version: p.Version})
	}
	return p.ID, p.Version, vs, nil
}

// Package events defines what decide publishes: the event types, their payloads (the JSON other
// contexts read; examples in testdata/*.json are the contract their tests decode) and the functions
// that build them from decide's domain values. Every event's subject is the product id, so all events
// of one product are delivered in order; every payload carries the product's version after the
// change, so consumers can ignore a stale event.
package events

import (
	"fmt"

	"github.com/inlay-dev/inlay/services/decide"
	"github.com/inlay-dev/inlay/services/kit/events"
)

// Source is the context decide's events come from.
const Source = "decide"

// Consumers are the contexts that consume decide's events (docs/architecture.md); after a fresh seed
// decide's catch-up (events.CatchUp) waits for them.
func Consumers() []string { return []string{"explore", "checkout", "inspire", "inventory"} }

// Event types (routing keys) decide publishes.
const (
	// ProductCreatedType: a product and its variants came into being. Data: Product.
	ProductCreatedType = "decide.product.created.v1"
	// ProductUpdatedType: a product or its variants changed (anything but only prices). Data: Product,
	// the full state after the change; consumers may treat it as an upsert.
	ProductUpdatedType = "decide.product.updated.v1"
	// PriceChangedType: one variant's price changed. Data: PriceChanged.
	PriceChangedType = "decide.variant.price_changed.v1"
)

// Product is the payload of product.created and product.updated: the product's full state.
type Product struct {
	ID         string    `json:"id"`
	Name       string    `json:"name"`
	Category   string    `json:"category"`
	Highlights []string  `json:"highlights"`
	Variants   []Variant `json:"variants"`
	// Version is the product's version; it increases with every change.
	Version int64 `json:"version"`
}

// Variant is a variant inside a Product payload.
type Variant struct {
	SKU   string `json:"sku"`
	Name  string `json:"name"`
	Color string `json:"color"` // #rrggbb, lower case
	Price int64  `json:"price"` // Ø
	// Image and Thumbnail are public URLs (behind the shell) of the variant's tractor, large and small.
	Image     string `json:"image"`
	Thumbnail string `json:"thumbnail"`
	// URL is the storefront page of the variant.
	URL string `json:"url"`
}

// PriceChanged is the payload of variant.price_changed.
type PriceChanged struct {
	ProductID string `json:"productId"`
	SKU       string `json:"sku"`
	OldPrice  int64  `json:"oldPrice"`
	Price     int64  `json:"price"`
	// Version is the product's version after the change.
	Version int64 `json:"version"`
}

// Publisher builds decide's events from domain values.
type Publisher struct {
	images decide.Images
}

// NewPublisher returns a Publisher whose payloads carry image URLs from images.
func NewPublisher(images decide.Images) *Publisher { return &Publisher{images: images} }

// ProductPayload is the Product payload of p.
func (p *Publisher) ProductPayload(prod decide.Product) Product {
	out := Product{ID: prod.ID, Name: prod.Name, Category: prod.Category, Highlights: prod.Highlights,
		Version: prod.Version, Variants: make([]Variant, 0, len(prod.Variants))}
	if out.Highlights == nil {
		out.Highlights = []string{}
	}
	for _, v := range prod.Variants {
		out.Variants = append(out.Variants, Variant{
			SKU: v.SKU, Name: v.Name, Color: v.Color, Price: v.Price,
			Image:     p.images.ImageURL(v.Color, decide.ImageLarge),
			Thumbnail: p.images.ImageURL(v.Color, decide.ImageSmall),
			URL:       decide.VariantURL(prod.ID, v.SKU),
		})
	}
	return out
}

// ProductCreated is the product.created event of p.
func (p *Publisher) ProductCreated(prod decide.Product) (events.Event, error) {
	return p.product(ProductCreatedType, prod)
}

// ProductUpdated is the product.updated event of p (its state after the change).
func (p *Publisher) ProductUpdated(prod decide.Product) (events.Event, error) {
	return p.product(ProductUpdatedType, prod)
}

func (p *Publisher) product(typ string, prod decide.Product) (events.Event, error) {
	e, err := events.New(Source, typ, prod.ID, p.ProductPayload(prod))
	if err != nil {
		return events.Event{}, fmt.Errorf("%s %s: %w", typ, prod.ID, err)
	}
	return e, nil
}

// PriceChanged is the variant.price_changed event of c.
func (p *Publisher) PriceChanged(c decide.PriceChange) (events.Event, error) {
	e, err := events.New(Source, PriceChangedType, c.ProductID, PriceChanged{
		ProductID: c.ProductID, SKU: c.SKU, OldPrice: c.Old, Price: c.New, Version: c.Version})
	if err != nil {
		return events.Event{}, fmt.Errorf("%s %s: %w", PriceChangedType, c.SKU, err)
	}
	return e, nil
}

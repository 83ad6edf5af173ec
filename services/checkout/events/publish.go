package events

import (
	"github.com/inlay-dev/inlay/services/checkout"
	kitevents "github.com/inlay-dev/inlay/services/kit/events"
)

// Source is the context checkout's events come from.
const Source = "checkout"

// Event types (routing keys) checkout publishes: its part of the saga, the contract agreed with
// inventory and payments. Every event's subject is the order id. Examples of each are in
// testdata/*.json; payments' and inventory's tests decode them.
const (
	// OrderPlacedType: an order was placed, pending. Data: PlacedData.
	OrderPlacedType = "checkout.order.placed.v1"
	// OrderConfirmedType: inventory reserved the order's stock. Data: ConfirmedData.
	OrderConfirmedType = "checkout.order.confirmed.v1"
	// OrderCancelledType: payments declined or refunded the order. Data: CancelledData.
	OrderCancelledType = "checkout.order.cancelled.v1"
)

// EventLine is an order line in checkout's events.
type EventLine struct {
	SKU       string `json:"sku"`
	Quantity  int    `json:"quantity"`
	UnitPrice int64  `json:"unit_price"`
}

// Card is the card in order.placed. The simulated provider takes test card numbers; a real provider
// would receive a token from its own client-side form instead, and no card number would ever pass
// through checkout.
type Card struct {
	Number string `json:"number"`
}

// PlacedData is the payload of checkout.order.placed.v1.
type PlacedData struct {
	OrderID string      `json:"order_id"`
	Lines   []EventLine `json:"lines"`
	Total   int64       `json:"total"`
	Card    Card        `json:"card"`
}

// ConfirmedData is the payload of checkout.order.confirmed.v1.
type ConfirmedData struct {
	OrderID string      `json:"order_id"`
	Lines   []EventLine `json:"lines"`
}

// CancelledData is the payload of checkout.order.cancelled.v1.
type CancelledData struct {
	OrderID string      `json:"order_id"`
	Reason  string      `json:"reason"`
	Lines   []EventLine `json:"lines"`
}

func eventLines(o checkout.Order) []EventLine {
	lines := make([]EventLine, len(o.Lines))
	for i, l := range o.Lines {
		lines[i] = EventLine{SKU: l.SKU, Quantity: l.Quantity, UnitPrice: l.UnitPrice}
	}
	return lines
}

// OrderPlaced is the order.placed event of a new order paid with card (the number as the form gave
// it, normalized).
func OrderPlaced(o checkout.Order, card string) (kitevents.Event, error) {
	return kitevents.New(Source, OrderPlacedType, o.ID, PlacedData{OrderID: o.ID, Lines: eventLines(o), Total: o.Total,
		Card: Card{Number: card}})
}

// OrderConfirmed is the order.confirmed event of a confirmed order.
func OrderConfirmed(o checkout.Order) (kitevents.Event, error) {
	return kitevents.New(Source, OrderConfirmedType, o.ID, ConfirmedData{OrderID: o.ID, Lines: eventLines(o)})
}

// OrderCancelled is the order.cancelled event of a cancelled order, with its reason.
func OrderCancelled(o checkout.Order) (kitevents.Event, error) {
	return kitevents.New(Source, OrderCancelledType, o.ID, CancelledData{OrderID: o.ID, Reason: o.Reason, Lines: eventLines(o)})
}

// Package events is a fixture of CheckEventHomes: the right home of a published event type.
package events

// OrderConfirmed is published by the fixture team.
const OrderConfirmed = "shop.order.confirmed.v1"

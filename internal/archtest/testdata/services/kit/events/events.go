// Package events is a fixture of CheckEventHomes: the kit is no team, its constants are not checked.
package events

// Example is a routing key in the kit.
const Example = "shop.order.placed.v1"

// Package postgres is a fixture of CheckEventHomes: a store that declares the event type its team
// publishes, which belongs in events/.
package postgres

// OrderPlaced is a published event type in storage: a violation.
const OrderPlaced = "shop.order.placed.v1"

// table is not a routing key.
const table = "orders.v1"

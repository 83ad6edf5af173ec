// Package checkout is the checkout context of the Inlay storefront: it owns carts (Redis) and orders with snapshots of lines, customer and store (PostgreSQL); it runs the order saga with payments and inventory.
// See DESIGN.md §2.
//
// For now the service is its process only (cmd/checkoutd: configuration, database with migrations,
// health, readiness and metrics); its domain, events, JSON API and fragments come in later issues.
package checkout

// Package inventory is the inventory context of the Inlay storefront: it owns stock per sku and reservations per order (PostgreSQL).
// See DESIGN.md §2.
//
// For now the service is its process only (cmd/inventoryd: configuration, database with migrations,
// health, readiness and metrics); its domain, events, JSON API and fragments come in later issues.
package inventory

// Package payments is the payments context of the Inlay storefront: it owns payments and refunds against a simulated provider with test cards (PostgreSQL).
// See DESIGN.md §2.
//
// For now the service is its process only (cmd/paymentsd: configuration, database with migrations,
// health, readiness and metrics); its domain, events, JSON API and fragments come in later issues.
package payments

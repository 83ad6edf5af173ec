// Package accounts is the accounts context of the Inlay storefront: it owns customers, credentials and addresses (PostgreSQL) and sessions (Redis, cookie inlay_session).
// See DESIGN.md §2.
//
// For now the service is its process only (cmd/accountsd: configuration, database with migrations,
// health, readiness and metrics); its domain, events, JSON API and fragments come in later issues.
package accounts

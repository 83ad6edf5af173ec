// Package postgres stores decide's products and variants in its own PostgreSQL database and writes
// decide's events to the transactional outbox in the same transactions.
package postgres

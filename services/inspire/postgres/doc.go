// Package postgres keeps inspire's read model of variants in its own PostgreSQL database.
package postgres

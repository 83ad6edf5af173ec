// Package postgres holds the payments service's PostgreSQL adapter: its migrations (goose SQL files,
// applied at start by services/kit) and its Store of payments.
package postgres

import (
	"embed"
	"io/fs"

	kitpostgres "github.com/inlay-dev/inlay/services/kit/postgres"
)

//go:embed migrations/*.sql
var migrationFiles embed.FS

// Migrations returns payments's goose migrations, for kit.Start and kittest.Postgres.
func Migrations() fs.FS { return kitpostgres.Migrations(migrationFiles) }

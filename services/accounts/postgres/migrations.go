package postgres

import (
	"embed"
	"io/fs"

	kitpostgres "github.com/inlay-dev/inlay/services/kit/postgres"
)

//go:embed migrations/*.sql
var migrationFiles embed.FS

// Migrations returns accounts's goose migrations, for kit.Start and kittest.Postgres.
func Migrations() fs.FS { return kitpostgres.Migrations(migrationFiles) }

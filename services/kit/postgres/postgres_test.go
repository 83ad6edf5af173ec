package postgres_test

import (
	"context"
	"io/fs"
	"testing"
	"testing/fstest"

	"github.com/inlay-dev/inlay/services/kit/kittest"
	"github.com/inlay-dev/inlay/services/kit/postgres"
)

var migrations = fstest.MapFS{
	"00001_things.sql": {Data: []byte(`-- +goose Up
CREATE TABLE things (id bigint PRIMARY KEY, name text NOT NULL);
-- +goose Down
DROP TABLE things;
`)},
}

func TestOpenCreatesAndMigrates(t *testing.T) {
	ctx := context.Background()
	url := kittest.DatabaseURL(t)
	if err := postgres.DropDatabase(ctx, url); err != nil { // start from a database that does not exist
		t.Fatal(err)
	}
	for i := 0; i < 2; i++ { // a second Open finds the database and the migration applied
		pool, err := postgres.Open(ctx, postgres.Options{URL: url, CreateDatabase: true, Migrations: migrations})
		if err != nil {
			t.Fatalf("open #%d: %v", i, err)
		}
		if _, err := pool.Exec(ctx, "INSERT INTO things (id, name) VALUES ($1, $2)", i, "x"); err != nil {
			t.Fatalf("insert #%d: %v", i, err)
		}
		pool.Close()
	}
}

func TestMigrationsAreTheEmbeddedDirectory(t *testing.T) {
	embedded := fstest.MapFS{
		"migrations/00001_things.sql": migrations["00001_things.sql"],
		"store.go":                    {Data: []byte("package postgres")},
	}
	got, err := fs.Glob(postgres.Migrations(embedded), "*")
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 1 || got[0] != "00001_things.sql" {
		t.Errorf("Migrations lists %q, want the SQL file at the root", got)
	}
}

func TestOpenWithoutCreateFails(t *testing.T) {
	url := kittest.DatabaseURL(t)
	ctx := context.Background()
	if err := postgres.DropDatabase(ctx, url); err != nil {
		t.Fatal(err)
	}
	if _, err := postgres.Open(ctx, postgres.Options{URL: url}); err == nil {
		t.Fatal("Open of a missing database without CreateDatabase succeeded")
	}
}

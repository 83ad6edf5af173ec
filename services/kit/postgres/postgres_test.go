package postgres_test

import (
	"context"
	"io/fs"
	"strconv"
	"testing"
	"testing/fstest"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

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

// gateKey is the advisory lock TestConcurrentMigrationsAreSerialized holds to stop a migration half way.
const gateKey = 7_160_001

// TestConcurrentMigrationsAreSerialized starts two replicas' migrations on one fresh database at
// once. The first migration waits on a gate the test holds, so both would be inside it together
// without a lock between them (and the second would fail on the table the first creates). The gate
// opens once one migration waits on it and the other is either waiting for goose's session lock or
// inside the migration too; then both must succeed and the migration must have been applied once.
func TestConcurrentMigrationsAreSerialized(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	url := kittest.DatabaseURL(t)
	gated := fstest.MapFS{
		"00001_gated.sql": {Data: []byte(`-- +goose Up
SELECT pg_advisory_xact_lock_shared(` + strconv.Itoa(gateKey) + `);
CREATE TABLE applied (n int);
INSERT INTO applied VALUES (1);
-- +goose Down
DROP TABLE applied;
`)},
		"00002_more.sql": {Data: []byte(`-- +goose Up
INSERT INTO applied VALUES (2);
-- +goose Down
DELETE FROM applied WHERE n = 2;
`)},
	}
	gate, err := pgx.Connect(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	defer gate.Close(ctx)
	if _, err := gate.Exec(ctx, "SELECT pg_advisory_lock($1)", gateKey); err != nil {
		t.Fatal(err)
	}

	errs := make(chan error, 2)
	for range 2 {
		go func() {
			pool, err := postgres.Open(ctx, postgres.Options{URL: url, Migrations: gated})
			if err == nil {
				pool.Close()
			}
			errs <- err
		}()
	}

	// Wait until one migration is stopped at the gate and the other is either stopped there too
	// (no lock) or has asked for goose's lock and been refused, or has already returned.
	var results []error
	for {
		var atGate, refused int
		err := gate.QueryRow(ctx, `SELECT
			(SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND objid = $1 AND NOT granted),
			(SELECT count(*) FROM pg_stat_activity a WHERE datname = current_database() AND a.pid <> pg_backend_pid() AND query LIKE '%pg_try_advisory_lock%'
				AND NOT EXISTS (SELECT 1 FROM pg_locks l WHERE l.pid = a.pid AND l.locktype = 'advisory' AND l.granted))`,
			gateKey).Scan(&atGate, &refused)
		if err != nil {
			t.Fatal(err)
		}
		select {
		case err := <-errs:
			results = append(results, err)
		default:
		}
		if atGate >= 2 || (atGate == 1 && refused >= 1) || len(results) > 0 {
			break
		}
		if ctx.Err() != nil {
			t.Fatalf("the migrations did not reach the gate: %d waiting there, %d refused goose's lock", atGate, refused)
		}
		time.Sleep(10 * time.Millisecond) // polling the condition above
	}
	if _, err := gate.Exec(ctx, "SELECT pg_advisory_unlock($1)", gateKey); err != nil {
		t.Fatal(err)
	}
	for len(results) < 2 {
		results = append(results, <-errs)
	}
	for i, err := range results {
		if err != nil {
			t.Errorf("replica %d: %v", i, err)
		}
	}
	var rows int
	if err := gate.QueryRow(ctx, "SELECT count(*) FROM applied").Scan(&rows); err != nil {
		t.Fatal(err)
	}
	var versions int
	if err := gate.QueryRow(ctx, "SELECT count(*) FROM goose_db_version WHERE version_id > 0").Scan(&versions); err != nil {
		t.Fatal(err)
	}
	if rows != 2 || versions != 2 {
		t.Errorf("after two concurrent migrations: %d rows written by them and %d versions recorded, want 2 and 2", rows, versions)
	}
}

// TestPrepareOnConnect: every pooled connection has the named statements prepared, those of tables
// the migrations create included (the connections made before them are replaced), so their first
// use costs no describe; a statement that cannot be prepared does not stop the pool.
func TestPrepareOnConnect(t *testing.T) {
	ctx := context.Background()
	url := kittest.DatabaseURL(t)
	if err := postgres.DropDatabase(ctx, url); err != nil {
		t.Fatal(err)
	}
	insert := "INSERT INTO things (id, name) VALUES ($1, $2)"
	pool, err := postgres.Open(ctx, postgres.Options{URL: url, CreateDatabase: true, Migrations: migrations,
		Prepare: []string{insert, "SELECT nothing FROM nowhere"}})
	if err != nil {
		t.Fatal(err)
	}
	defer pool.Close()
	conns := make([]*pgxpool.Conn, 3)
	for i := range conns {
		if conns[i], err = pool.Acquire(ctx); err != nil {
			t.Fatal(err)
		}
	}
	for i, c := range conns {
		var n int
		if err := c.QueryRow(ctx, "SELECT count(*) FROM pg_prepared_statements WHERE statement = $1", insert).Scan(&n); err != nil || n != 1 {
			t.Errorf("connection %d: %q prepared %d times (%v)", i, insert, n, err)
		}
		if _, err := c.Exec(ctx, insert, i, "x"); err != nil {
			t.Errorf("connection %d: %v", i, err)
		}
		c.Release()
	}
}

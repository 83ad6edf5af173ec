// Package postgres opens a service's PostgreSQL pool, creating its database in dev mode and applying
// its embedded migrations (goose, SQL files). Migrations run under goose's session locker (a
// PostgreSQL advisory lock on the service's database), so replicas starting at once apply them one at
// a time: the first migrates, the others wait and then find nothing pending.
package postgres

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io/fs"
	"net/url"
	"slices"
	"strings"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/jackc/pgx/v5/stdlib"
	"github.com/pressly/goose/v3"
	"github.com/pressly/goose/v3/lock"
)

// Waiting for another replica's migrations: goose's session locker tries the advisory lock every
// lockPoll seconds, lockTries times (5 minutes), before Migrate gives up.
const (
	lockPoll  = 1
	lockTries = 300
)

// Options configures Open.
type Options struct {
	// URL is the full connection URL including the service's database name.
	URL string
	// CreateDatabase creates the database when it does not exist (dev mode, tests).
	CreateDatabase bool
	// Migrations holds goose SQL files at its root; nil applies none.
	Migrations fs.FS
	// MaxConns bounds the pool; pgx's default when zero.
	MaxConns int32
	// Prepare are statements every new connection prepares (named by their SQL, so pgx's Query,
	// Exec and SendBatch use them as they are): a hot path's first use on each connection then costs
	// no extra round trip to describe them. A statement that cannot be prepared yet (its table not
	// migrated when the pool opens) is left for its first use. With Prepare the pool keeps all of
	// MaxConns open (MinConns), made in the background, so no request waits for the prepares. Name
	// only statements that return no rows (INSERT, UPDATE): pgx keeps explicitly prepared statements
	// until the connection closes, so a SELECT whose result columns a migration of another instance
	// changes would fail on every connection, where pgx drops its own cached statement and retries.
	Prepare []string
	// Tracer, when not nil, traces the pool's queries (kit.Start passes otelpgx's when it exports
	// spans).
	Tracer pgx.QueryTracer
}

// Open connects to the database of opts.URL, creating and migrating it as asked.
func Open(ctx context.Context, opts Options) (*pgxpool.Pool, error) {
	cfg, err := pgxpool.ParseConfig(opts.URL)
	if err != nil {
		return nil, fmt.Errorf("parse postgres url: %w", err)
	}
	if opts.MaxConns > 0 {
		cfg.MaxConns = opts.MaxConns
	}
	if opts.Tracer != nil {
		cfg.ConnConfig.Tracer = opts.Tracer
	}
	if len(opts.Prepare) > 0 {
		// Connections are opened ahead of need (pgxpool's background check keeps MinConns), so a
		// request does not wait for a new connection's prepares: one round trip each.
		cfg.MinConns = cfg.MaxConns
		statements := slices.Clone(opts.Prepare)
		cfg.AfterConnect = func(ctx context.Context, conn *pgx.Conn) error {
			for _, sql := range statements {
				// Best effort: an error (a table not there yet) leaves the statement to its first use.
				_, _ = conn.Prepare(ctx, sql, sql)
			}
			return nil
		}
	}
	if opts.CreateDatabase {
		if err := CreateDatabase(ctx, opts.URL); err != nil {
			return nil, err
		}
	}
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("open postgres pool: %w", err)
	}
	if err := pool.Ping(ctx); err != nil {
		pool.Close()
		return nil, fmt.Errorf("ping postgres %s: %w (is PostgreSQL running? start it with: pg_ctlcluster --skip-systemctl-redirect $(ls /etc/postgresql) main start)", cfg.ConnConfig.Host, err)
	}
	if opts.Migrations != nil {
		if err := Migrate(ctx, pool, opts.Migrations); err != nil {
			pool.Close()
			return nil, err
		}
		if len(opts.Prepare) > 0 {
			// The connections made before the migrations prepared against the old schema (or
			// failed to): new ones prepare against the migrated one.
			pool.Reset()
		}
	}
	return pool, nil
}

// MigrationsDir is where a service keeps its goose SQL files, beside the Go files of its postgres
// package, which embeds them: //go:embed migrations/*.sql.
const MigrationsDir = "migrations"

// Migrations returns the SQL files a service embeds under MigrationsDir, at their root, as
// Options.Migrations (and kit.Start, kittest.Postgres) take them.
func Migrations(embedded fs.FS) fs.FS {
	sub, err := fs.Sub(embedded, MigrationsDir)
	if err != nil {
		panic(err) // unreachable: fs.Sub fails only on an invalid path, and MigrationsDir is valid
	}
	return sub
}

// Migrate applies every pending goose migration in migrations.
func Migrate(ctx context.Context, pool *pgxpool.Pool, migrations fs.FS) error {
	db := stdlib.OpenDBFromPool(pool)
	defer db.Close()
	return migrate(ctx, db, migrations)
}

func migrate(ctx context.Context, db *sql.DB, migrations fs.FS) error {
	locker, err := lock.NewPostgresSessionLocker(lock.WithLockTimeout(lockPoll, lockTries))
	if err != nil {
		return fmt.Errorf("migrations lock: %w", err)
	}
	p, err := goose.NewProvider(goose.DialectPostgres, db, migrations, goose.WithSessionLocker(locker))
	if err != nil {
		return fmt.Errorf("migrations: %w", err)
	}
	if _, err := p.Up(ctx); err != nil {
		return fmt.Errorf("migrate: %w", err)
	}
	return nil
}

// CreateDatabase creates the database named in dbURL if it does not exist, connecting to the server's
// postgres database to do so.
func CreateDatabase(ctx context.Context, dbURL string) error {
	name, admin, err := split(dbURL)
	if err != nil {
		return err
	}
	conn, err := pgx.Connect(ctx, admin)
	if err != nil {
		return fmt.Errorf("connect to postgres to create %s: %w (is PostgreSQL running? start it with: pg_ctlcluster --skip-systemctl-redirect $(ls /etc/postgresql) main start)", name, err)
	}
	defer conn.Close(ctx)
	var exists bool
	if err := conn.QueryRow(ctx, "SELECT EXISTS (SELECT 1 FROM pg_database WHERE datname = $1)", name).Scan(&exists); err != nil {
		return fmt.Errorf("look up database %s: %w", name, err)
	}
	if exists {
		return nil
	}
	_, err = conn.Exec(ctx, "CREATE DATABASE "+pgx.Identifier{name}.Sanitize())
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) && pgErr.Code == "42P04" { // duplicate_database: created concurrently
		return nil
	}
	if err != nil {
		return fmt.Errorf("create database %s: %w", name, err)
	}
	return nil
}

// DropDatabase drops the database named in dbURL, closing its other connections.
func DropDatabase(ctx context.Context, dbURL string) error {
	name, admin, err := split(dbURL)
	if err != nil {
		return err
	}
	conn, err := pgx.Connect(ctx, admin)
	if err != nil {
		return fmt.Errorf("connect to postgres to drop %s: %w", name, err)
	}
	defer conn.Close(ctx)
	if _, err := conn.Exec(ctx, "DROP DATABASE IF EXISTS "+pgx.Identifier{name}.Sanitize()+" WITH (FORCE)"); err != nil {
		return fmt.Errorf("drop database %s: %w", name, err)
	}
	return nil
}

// split returns the database name of dbURL and the same URL pointing at the postgres database.
func split(dbURL string) (name, admin string, err error) {
	u, err := url.Parse(dbURL)
	if err != nil {
		return "", "", fmt.Errorf("parse postgres url: %w", err)
	}
	name = strings.TrimPrefix(u.Path, "/")
	if name == "" {
		return "", "", fmt.Errorf("postgres url %q names no database", u.Redacted())
	}
	u.Path = "/postgres"
	return name, u.String(), nil
}

// Package kittest gives integration tests their own isolated pieces of the real local stores: a fresh
// PostgreSQL database, a unique Redis key prefix, a unique exchange name. Everything is removed when
// the test ends. An unreachable store fails the test with how to start it; it never skips.
package kittest

import (
	"bytes"
	"context"
	"fmt"
	"io/fs"
	"net"
	"net/url"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/redis/go-redis/v9"

	"github.com/inlay-dev/inlay/services/kit/postgres"
	"github.com/inlay-dev/inlay/services/kit/redisdb"
)

// Local defaults, overridable by the same variables the processes read.
func env(name, def string) string {
	if v := os.Getenv(name); v != "" {
		return v
	}
	return def
}

// PostgresURL is the server URL tests connect to.
func PostgresURL() string {
	return env("POSTGRES_URL", "postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable")
}

// RedisURL is the Redis URL tests connect to.
func RedisURL() string { return env("REDIS_URL", "redis://127.0.0.1:6379/0") }

// AMQPURL is the RabbitMQ URL tests connect to.
func AMQPURL() string { return env("AMQP_URL", "amqp://guest:guest@127.0.0.1:5672/") }

// UniqueName returns a short name unique to this test run, safe for databases, keys and queues.
func UniqueName(prefix string) string {
	return prefix + "_" + strings.ReplaceAll(uuid.NewString()[:13], "-", "")
}

// DatabaseURL creates a fresh, empty database for t and returns its URL; it is dropped after the test.
func DatabaseURL(t testing.TB) string {
	t.Helper()
	u, err := url.Parse(PostgresURL())
	if err != nil {
		t.Fatalf("POSTGRES_URL: %v", err)
	}
	u.Path = "/" + UniqueName("inlay_test")
	dbURL := u.String()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := postgres.CreateDatabase(ctx, dbURL); err != nil {
		t.Fatalf("%v\nPostgreSQL must run at %s: pg_ctlcluster --skip-systemctl-redirect $(ls /etc/postgresql) main start", err, u.Host)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		if err := postgres.DropDatabase(ctx, dbURL); err != nil {
			t.Logf("drop test database: %v", err)
		}
	})
	return dbURL
}

// Postgres returns a pool on a fresh database migrated with migrations (nil for none).
func Postgres(t testing.TB, migrations fs.FS) *pgxpool.Pool {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	pool, err := postgres.Open(ctx, postgres.Options{URL: DatabaseURL(t), Migrations: migrations})
	if err != nil {
		t.Fatalf("open test database: %v", err)
	}
	t.Cleanup(pool.Close)
	return pool
}

// Redis returns a client and a key prefix unique to t; the prefix's keys are deleted after the test.
func Redis(t testing.TB) (*redis.Client, redisdb.Keys) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	c, err := redisdb.Open(ctx, RedisURL())
	if err != nil {
		t.Fatalf("%v", err)
	}
	prefix := redisdb.Keys(UniqueName("test") + ":")
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		iter := c.Scan(ctx, 0, string(prefix)+"*", 500).Iterator()
		for iter.Next(ctx) {
			c.Del(ctx, iter.Val())
		}
		c.Close()
	})
	return c, prefix
}

// Exchange returns an exchange name unique to t. Queues named after it are unique too; the test's
// event code is responsible for deleting what it declares (see services/kit/events).
func Exchange(t testing.TB) string {
	t.Helper()
	requireTCP(t, AMQPURL(), "RabbitMQ", "rabbitmq-server -detached")
	return "inlay.test." + strings.TrimPrefix(UniqueName("x"), "x_")
}

func requireTCP(t testing.TB, rawURL, what, start string) {
	t.Helper()
	u, err := url.Parse(rawURL)
	if err != nil {
		t.Fatalf("%s url: %v", what, err)
	}
	conn, err := net.DialTimeout("tcp", u.Host, 3*time.Second)
	if err != nil {
		t.Fatalf("%s is not reachable at %s: %v\nstart it with: %s", what, u.Host, err, start)
	}
	conn.Close()
}

// FreeAddr returns a free 127.0.0.1 address for a server the test starts.
func FreeAddr(t testing.TB) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("free port: %v", err)
	}
	defer ln.Close()
	return fmt.Sprint(ln.Addr())
}

// SyncBuffer is a bytes.Buffer that a server's goroutines write (a log sink) while a test reads it.
type SyncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

// Write appends p.
func (s *SyncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

// String is everything written so far.
func (s *SyncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

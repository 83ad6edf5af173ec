// Package redisdb opens a Redis client and scopes keys to a context's own prefix.
package redisdb

import (
	"context"
	"errors"
	"fmt"
	"sync/atomic"
	"time"

	"github.com/redis/go-redis/extra/redisotel/v9"
	"github.com/redis/go-redis/v9"
	"go.opentelemetry.io/otel/trace"
)

// Timeout bounds a Redis call without a deadline of its own, and its connection's dial, unless the
// URL says otherwise (dial_timeout, read_timeout, write_timeout): a Redis that accepts connections
// and never answers must not hold a caller for go-redis's defaults (5 s, 3 s).
const Timeout = time.Second

// Client returns a client for url that does not connect yet. Every call is bounded by its context's
// deadline (ContextTimeoutEnabled: without it go-redis ignores the deadline on the socket, and a
// hung Redis holds the caller for the read timeout whatever the context says) and by Timeout.
func Client(url string) (*redis.Client, error) {
	opts, err := redis.ParseURL(url)
	if err != nil {
		return nil, fmt.Errorf("parse redis url: %w", err)
	}
	opts.ContextTimeoutEnabled = true
	if opts.DialTimeout == 0 {
		opts.DialTimeout = Timeout
	}
	if opts.ReadTimeout == 0 {
		opts.ReadTimeout = Timeout
	}
	if opts.WriteTimeout == 0 {
		opts.WriteTimeout = Timeout
	}
	return redis.NewClient(opts), nil
}

// Open connects to Redis at url (Client) and checks it answers.
func Open(ctx context.Context, url string) (*redis.Client, error) {
	c, err := Client(url)
	if err != nil {
		return nil, err
	}
	if err := c.Ping(ctx).Err(); err != nil {
		c.Close()
		return nil, fmt.Errorf("ping redis %s: %w (is Redis running? start it with: redis-server --daemonize yes --bind 127.0.0.1 -::1 --port 6379 --save \"\" --appendonly no)", c.Options().Addr, err)
	}
	return c, nil
}

// OutageWindow is how long an Outage keeps Redis out of the way after a failed call.
const OutageWindow = time.Second

// Outage remembers that Redis failed, for OutageWindow, so that a caller with a fallback (the
// fragment cache's process memory, a rate limit's in-process count) uses it at once instead of
// waiting on a Redis that is down or hung for every request: at most the calls of one moment a
// window pay the timeout. The zero value is ready.
type Outage struct{ until atomic.Int64 }

// Down reports whether Redis failed within the last OutageWindow.
func (o *Outage) Down() bool { return time.Now().UnixNano() < o.until.Load() }

// Record notes the outcome of a Redis call: an error other than redis.Nil (a missing key is an
// answer) starts a window. It returns whether it did.
func (o *Outage) Record(err error) bool {
	if err == nil || errors.Is(err, redis.Nil) {
		return false
	}
	o.until.Store(time.Now().Add(OutageWindow).UnixNano())
	return true
}

// Trace makes c's commands spans of tp's.
func Trace(c *redis.Client, tp trace.TracerProvider) error {
	if err := redisotel.InstrumentTracing(c, redisotel.WithTracerProvider(tp), redisotel.WithDBStatement(false)); err != nil {
		return fmt.Errorf("trace redis: %w", err)
	}
	return nil
}

// Keys builds the keys of one context: every key it owns starts with its prefix ("checkout:").
type Keys string

// Key joins parts under the prefix: Keys("checkout:").Key("cart", id) is "checkout:cart:<id>".
func (k Keys) Key(parts ...string) string {
	n := len(k)
	for _, p := range parts {
		n += len(p) + 1
	}
	b := make([]byte, 0, n)
	b = append(b, k...)
	for i, p := range parts {
		if i > 0 {
			b = append(b, ':')
		}
		b = append(b, p...)
	}
	return string(b)
}

// Package redisdb opens a Redis client and scopes keys to a context's own prefix.
package redisdb

import (
	"context"
	"fmt"

	"github.com/redis/go-redis/extra/redisotel/v9"
	"github.com/redis/go-redis/v9"
	"go.opentelemetry.io/otel/trace"
)

// Open connects to Redis at url and checks it answers.
func Open(ctx context.Context, url string) (*redis.Client, error) {
	opts, err := redis.ParseURL(url)
	if err != nil {
		return nil, fmt.Errorf("parse redis url: %w", err)
	}
	c := redis.NewClient(opts)
	if err := c.Ping(ctx).Err(); err != nil {
		c.Close()
		return nil, fmt.Errorf("ping redis %s: %w (is Redis running? start it with: redis-server --daemonize yes --bind 127.0.0.1 -::1 --port 6379 --save \"\" --appendonly no)", opts.Addr, err)
	}
	return c, nil
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

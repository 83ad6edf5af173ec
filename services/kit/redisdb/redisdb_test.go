package redisdb_test

import (
	"context"
	"errors"
	"net"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/inlay-dev/inlay/services/kit/kittest"
	"github.com/inlay-dev/inlay/services/kit/redisdb"
)

func TestKeys(t *testing.T) {
	k := redisdb.Keys("checkout:")
	if got := k.Key("cart", "abc"); got != "checkout:cart:abc" {
		t.Fatalf("Key = %q", got)
	}
	if got := k.Key(); got != "checkout:" {
		t.Fatalf("Key() = %q", got)
	}
}

func TestOpenAndIsolation(t *testing.T) {
	c, keys := kittest.Redis(t)
	ctx := context.Background()
	if err := c.Set(ctx, keys.Key("a"), "1", 0).Err(); err != nil {
		t.Fatalf("set: %v", err)
	}
	if v, err := c.Get(ctx, keys.Key("a")).Result(); err != nil || v != "1" {
		t.Fatalf("get = %q, %v", v, err)
	}
	if _, err := redisdb.Open(ctx, "redis://127.0.0.1:1/0"); err == nil {
		t.Fatal("Open on a closed port succeeded")
	}
}

// TestCallsEndWithTheirContext: a Redis that accepts connections and never answers holds a call no
// longer than its context allows, whatever the client's read timeout (here 60 s): without
// ContextTimeoutEnabled, go-redis waits on the socket for the read timeout.
func TestCallsEndWithTheirContext(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			conn, err := ln.Accept()
			if err != nil {
				return
			}
			t.Cleanup(func() { conn.Close() }) // hung: reads nothing, answers nothing
		}
	}()
	c, err := redisdb.Client("redis://" + ln.Addr().String() + "/0?read_timeout=60s&write_timeout=60s")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- c.Get(ctx, "k").Err() }()
	select {
	case err := <-done:
		if err == nil {
			t.Fatal("a hung Redis answered")
		}
	case <-time.After(30 * time.Second):
		t.Fatal("the call outlived its 100 ms context by 30 s: the deadline does not reach the socket")
	}
	var o redisdb.Outage
	if o.Down() || o.Record(nil) || o.Record(redis.Nil) || o.Down() {
		t.Fatal("an answer (nil, a missing key) started an outage")
	}
	if !o.Record(errors.New("i/o timeout")) || !o.Down() {
		t.Fatal("a failed call did not start an outage")
	}
}

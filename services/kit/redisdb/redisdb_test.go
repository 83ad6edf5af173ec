package redisdb_test

import (
	"context"
	"testing"

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

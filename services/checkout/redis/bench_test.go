package redis_test

import (
	"context"
	"strconv"
	"testing"

	"github.com/inlay-dev/inlay/services/checkout/redis"
	"github.com/inlay-dev/inlay/services/kit/kittest"
)

// BenchmarkOrderCartSteps: what placing an order does to the cart in Redis, against real Redis —
// "claimed": claim the cart, read its lines, take the order's lines out (one basket, one order);
// "unclaimed": read its lines and delete the cart, the steps before the claim existed (the floor).
// Each iteration fills a 3-line cart first (the same in both).
func BenchmarkOrderCartSteps(b *testing.B) {
	ctx := context.Background()
	rdb, keys := kittest.Redis(b)
	carts := redis.NewCarts(rdb, keys)
	fill := func(id string) {
		for _, sku := range []string{"CL-01-GY", "AU-07-MT", "CL-02-BL"} {
			if _, err := carts.Add(ctx, id, sku, 1, 10); err != nil {
				b.Fatal(err)
			}
		}
	}
	runs := 0
	b.Run("claimed", func(b *testing.B) {
		runs++ // the orders of each run are new ones (an order's lines leave a cart once)
		for i := 0; b.Loop(); i++ {
			id := "c" + strconv.Itoa(i%64)
			fill(id)
			key := "k" + strconv.Itoa(i)
			if err := carts.ClaimPlacing(ctx, id, key); err != nil {
				b.Fatal(err)
			}
			lines, err := carts.Lines(ctx, id)
			if err != nil {
				b.Fatal(err)
			}
			if err := carts.ClearOrdered(ctx, id, "o"+strconv.Itoa(runs)+"-"+strconv.Itoa(i), key, lines); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("unclaimed", func(b *testing.B) {
		for i := 0; b.Loop(); i++ {
			id := "u" + strconv.Itoa(i%64)
			fill(id)
			if _, err := carts.Lines(ctx, id); err != nil {
				b.Fatal(err)
			}
			if err := rdb.Del(ctx, keys.Key("cart", id)).Err(); err != nil {
				b.Fatal(err)
			}
		}
	})
}

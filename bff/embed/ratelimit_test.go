package embed

import (
	"context"
	"sync/atomic"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/inlay-dev/inlay/services/kit/kittest"
)

// countHook counts the commands sent to Redis.
type countHook struct{ n *atomic.Int64 }

func (countHook) DialHook(next redis.DialHook) redis.DialHook { return next }
func (h countHook) ProcessHook(next redis.ProcessHook) redis.ProcessHook {
	return func(ctx context.Context, cmd redis.Cmder) error { h.n.Add(1); return next(ctx, cmd) }
}
func (h countHook) ProcessPipelineHook(next redis.ProcessPipelineHook) redis.ProcessPipelineHook {
	return next
}

func TestLeaseSize(t *testing.T) {
	for _, c := range []struct{ perMinute, want int }{{1, 1}, {2, 1}, {1000, 1}, {1200, 2}, {60_000, 100}, {1_000_000, 100}} {
		if got := leaseSize(c.perMinute); got != c.want {
			t.Errorf("leaseSize(%d) = %d, want %d", c.perMinute, got, c.want)
		}
	}
}

// Two instances sharing Redis never allow more than the limit together, and a high limit costs a
// Redis round trip per lease, not per request.
func TestLeaserSharedLimit(t *testing.T) {
	rdb, keys := kittest.Redis(t)
	var calls atomic.Int64
	rdb.AddHook(countHook{&calls})
	ctx := context.Background()
	a, b := newLeaser(rdb, nil), newLeaser(rdb, nil)

	key := keys.Key("rate", "shared")
	const perMinute = 1200 // burst 1200, leases of 2
	allowed, start := 0, time.Now()
	for i := range 2000 {
		l := a
		if i%3 == 0 {
			l = b
		}
		ok, retry, err := l.allow(ctx, key, perMinute)
		if err != nil {
			t.Fatal(err)
		}
		if ok {
			allowed++
		} else if retry <= 0 {
			t.Fatalf("refused without a Retry-After")
		}
	}
	// The bucket refills at 20 a second while the loop runs: that many more may pass. Fewer by
	// at most the two instances' unspent leases.
	refilled := int(time.Since(start).Seconds()*perMinute/60) + 1
	if allowed < perMinute-2*leaseSize(perMinute) || allowed > perMinute+refilled {
		t.Errorf("allowed %d of 2000 at %d a minute", allowed, perMinute)
	}

	calls.Store(0)
	hi := keys.Key("rate", "high")
	for range 1000 {
		if ok, _, err := a.allow(ctx, hi, 1_000_000); err != nil || !ok {
			t.Fatalf("allow: %v %v", ok, err)
		}
	}
	if n := calls.Load(); n > 20 {
		t.Errorf("1000 requests at 1,000,000 a minute made %d Redis calls, want about 10 (leases of 100)", n)
	}
}

package embed

import (
	"context"
	"sync"
	"time"

	"github.com/go-redis/redis_rate/v10"
	"github.com/redis/go-redis/v9"
)

// leaser is the per-key rate limit, kept in Redis (redis_rate's GCRA, shared by every embed
// instance) but not asked on every request: an instance takes a lease of a few requests at once
// (AllowAtMost: never more than the bucket holds) and spends it in process, as gateways with a
// shared limit do (token leasing). The lease is the key's rate over leaseWindow, at most maxLease:
// a partner allowed 1,000 a minute gets leases of 1 (a round trip per request, as without leases);
// one allowed 1,000,000 a minute, leases of 100. A lease not spent within leaseTTL is dropped, so
// an instance never holds spent-but-unused requests for long. The limit is never exceeded (Redis
// counts every leased request); at worst a partner gets a little less than its rate, by the
// unspent leases that expired.
type leaser struct {
	limiter *redis_rate.Limiter
	now     func() time.Time

	mu     sync.Mutex
	leases map[string]*lease
}

type lease struct {
	mu      sync.Mutex
	left    int       // requests of the lease not yet spent
	expires time.Time // when left is dropped
}

const (
	// leaseWindow is how much of a key's rate one lease takes.
	leaseWindow = 100 * time.Millisecond
	// maxLease bounds a lease.
	maxLease = 100
	// leaseTTL is how long an unspent lease is kept.
	leaseTTL = time.Second
	// maxLeases bounds the leases in process (one per key that passed the key check).
	maxLeases = 10000
)

func newLeaser(rdb *redis.Client, now func() time.Time) *leaser {
	if now == nil {
		now = time.Now
	}
	return &leaser{limiter: redis_rate.NewLimiter(rdb), now: now, leases: map[string]*lease{}}
}

// leaseSize is the lease of a key allowed perMinute requests a minute.
func leaseSize(perMinute int) int {
	n := int(int64(perMinute) * int64(leaseWindow) / int64(time.Minute))
	return min(max(n, 1), maxLease)
}

// allow spends one request of key's limit of perMinute a minute. When none is left it returns
// false and how long until one is.
func (l *leaser) allow(ctx context.Context, key string, perMinute int) (bool, time.Duration, error) {
	l.mu.Lock()
	ls := l.leases[key]
	if ls == nil {
		if len(l.leases) >= maxLeases {
			l.leases = map[string]*lease{}
		}
		ls = &lease{}
		l.leases[key] = ls
	}
	l.mu.Unlock()

	now := l.now()
	ls.mu.Lock()
	if ls.left > 0 && now.Before(ls.expires) {
		ls.left--
		ls.mu.Unlock()
		return true, 0, nil
	}
	ls.mu.Unlock()

	// Concurrent requests that find the lease spent each take their own: more round trips in that
	// moment, never more requests than Redis allows.
	res, err := l.limiter.AllowAtMost(ctx, key, redis_rate.PerMinute(perMinute), leaseSize(perMinute))
	if err != nil {
		return false, 0, err
	}
	if res.Allowed == 0 {
		return false, res.RetryAfter, nil
	}
	if res.Allowed > 1 {
		ls.mu.Lock()
		if !now.Before(ls.expires) {
			ls.left = 0
		}
		ls.left += res.Allowed - 1
		ls.expires = l.now().Add(leaseTTL)
		ls.mu.Unlock()
	}
	return true, 0, nil
}

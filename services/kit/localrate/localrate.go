// Package localrate counts requests per key in this process, a minute at a time: the fallback of a
// shared rate limit (Redis) while Redis cannot be asked, so that a Redis outage neither refuses every
// request nor lifts every limit. Each process counts alone: n instances allow up to n times the rate
// while the outage lasts.
package localrate

import (
	"context"
	"log/slog"
	"sync"
	"time"

	"github.com/inlay-dev/inlay/services/kit/redisdb"
)

// maxKeys bounds the keys a Limiter remembers: past it, the counts start again (a flood of new
// client addresses cannot grow the process without bound).
const maxKeys = 100_000

// Limiter is a fixed-window counter per key. The zero value is ready.
type Limiter struct {
	mu      sync.Mutex
	windows map[string]*window
}

type window struct {
	start time.Time
	n     int
}

// Allow spends one of key's perMinute requests of the minute that began with its first request at
// or after now's minute: false, and how long until that minute ends, when none is left.
func (l *Limiter) Allow(key string, perMinute int, now time.Time) (bool, time.Duration) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.windows == nil || len(l.windows) >= maxKeys {
		l.windows = map[string]*window{}
	}
	w := l.windows[key]
	if w == nil || now.Sub(w.start) >= time.Minute {
		w = &window{start: now}
		l.windows[key] = w
	}
	if w.n >= perMinute {
		return false, w.start.Add(time.Minute).Sub(now)
	}
	w.n++
	return true, 0
}

// Shared is a rate limit kept in Redis, shared by every instance, with a Limiter as its fallback:
// while Redis cannot be asked (a failed call, then redisdb.OutageWindow without asking it), requests
// are counted in this process alone, so an outage neither refuses every request nor lifts the
// limits. The zero value is ready; Log, when set, hears of a failed call once per window.
type Shared struct {
	Log    *slog.Logger
	local  Limiter
	outage redisdb.Outage
}

// Allow spends one of key's perMinute requests with ask, the Redis limiter (whether it allowed it,
// and how long until one is left), or in this process while Redis is out of the way.
func (s *Shared) Allow(ctx context.Context, key string, perMinute int,
	ask func(ctx context.Context) (bool, time.Duration, error)) (bool, time.Duration) {
	if !s.outage.Down() {
		ok, retry, err := ask(ctx)
		if err == nil {
			return ok, retry
		}
		if s.outage.Record(err) && s.Log != nil {
			s.Log.WarnContext(ctx, "rate limit: redis failed; counting in this process for a moment", "error", err.Error())
		}
	}
	return s.local.Allow(key, perMinute, time.Now())
}

package events

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"time"
)

// IsConsumer reports whether the context name consumes explore's store.changed.
func IsConsumer(name string) bool { return name == "checkout" }

// CatchUp republishes every store once after a fresh seed. On a first start every process starts at
// once, and the seed's store.changed events may reach the exchange before checkout has declared and
// bound its queue (RabbitMQ drops what no queue is bound for). CatchUp waits until every consumer in
// Teams answers /readyz (their readiness includes a consuming queue), or until Deadline, then calls
// Republish; a consumer already holding a store's version ignores the repeat. Later starts do not
// need it: queues are durable. (The same shape as decide's and inventory's catch-ups.)
type CatchUp struct {
	// Teams maps a context to its base URL (INLAY_TEAMS); only the consumers (IsConsumer) are awaited.
	Teams map[string]string
	// Republish writes a store.changed of every store to the outbox.
	Republish func(ctx context.Context) (int, error)
	// Deadline bounds the wait for the consumers; 60 s when zero.
	Deadline time.Duration
	// Interval is the pause between readiness rounds; 250 ms when zero.
	Interval time.Duration
	// Client asks the consumers; one with a 2 s timeout when nil.
	Client *http.Client
	Log    *slog.Logger
}

// Run waits for the consumers, then republishes. It returns nil when ctx ends first.
func (c CatchUp) Run(ctx context.Context) error {
	if c.Deadline <= 0 {
		c.Deadline = time.Minute
	}
	if c.Interval <= 0 {
		c.Interval = 250 * time.Millisecond
	}
	if c.Client == nil {
		c.Client = &http.Client{Timeout: 2 * time.Second}
	}
	if c.Log == nil {
		c.Log = slog.Default()
	}
	waiting := map[string]string{}
	for name, base := range c.Teams {
		if IsConsumer(name) {
			waiting[name] = strings.TrimRight(base, "/")
		}
	}
	deadline := time.NewTimer(c.Deadline)
	defer deadline.Stop()
	tick := time.NewTicker(c.Interval)
	defer tick.Stop()
	for len(waiting) > 0 {
		for name, base := range waiting {
			if c.ready(ctx, base) {
				delete(waiting, name)
			}
		}
		if len(waiting) == 0 {
			break
		}
		select {
		case <-ctx.Done():
			return nil
		case <-deadline.C:
			c.Log.Warn("catch-up: consumers not ready, republishing anyway", "waiting_for", fmt.Sprint(waiting))
			waiting = nil
		case <-tick.C:
		}
	}
	n, err := c.Republish(ctx)
	if err != nil {
		if ctx.Err() != nil {
			return nil
		}
		return fmt.Errorf("catch-up: %w", err)
	}
	c.Log.Info("catch-up: stores republished for consumers that started after the seed", "stores", n)
	return nil
}

func (c CatchUp) ready(ctx context.Context, base string) bool {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, base+"/readyz", nil)
	if err != nil {
		return false
	}
	resp, err := c.Client.Do(req)
	if err != nil {
		return false
	}
	resp.Body.Close()
	return resp.StatusCode == http.StatusOK
}

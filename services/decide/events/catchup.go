package events

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"slices"
	"strings"
	"time"
)

// IsConsumer reports whether the context name consumes decide's events (DESIGN.md §2).
func IsConsumer(name string) bool {
	switch name {
	case "explore", "checkout", "inspire", "inventory":
		return true
	}
	return false
}

// CatchUp republishes the catalog after a fresh seed, for consumers whose queue did not exist yet.
// On a first start every process starts at once, and the seed's events may reach the exchange before
// a consumer has declared and bound its queue (RabbitMQ drops what no queue is bound for). CatchUp
// polls the /readyz of every consumer in Teams (their readiness includes a consuming queue) and
// republishes whenever one or more of them has newly become ready, until all have, or until Deadline,
// when it republishes a last time for the late ones. Consumers that already hold the catalog ignore
// the snapshots (same versions). Later starts do not need it: queues are durable.
type CatchUp struct {
	// Teams maps a context to its base URL (INLAY_TEAMS); only the consumers (IsConsumer) are awaited.
	Teams map[string]string
	// Republish writes a product.updated snapshot of every product to the outbox.
	Republish func(ctx context.Context) (int, error)
	// Deadline bounds the wait for the consumers; 60 s when zero.
	Deadline time.Duration
	// Interval is the pause between readiness rounds; 250 ms when zero.
	Interval time.Duration
	// Client asks the consumers; one with a 2 s timeout when nil.
	Client *http.Client
	Log    *slog.Logger
}

// Run polls the consumers and republishes as they become ready. It returns nil when ctx ends.
func (c CatchUp) Run(ctx context.Context) error {
	if c.Deadline == 0 {
		c.Deadline = time.Minute
	}
	if c.Interval == 0 {
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
	for {
		var ready []string
		for name, base := range waiting {
			if c.ready(ctx, base) {
				delete(waiting, name)
				ready = append(ready, name)
			}
		}
		if len(ready) > 0 {
			slices.Sort(ready)
			if err := c.republish(ctx, "consumers ready", ready); err != nil {
				return err
			}
		}
		if len(waiting) == 0 {
			return nil
		}
		select {
		case <-ctx.Done():
			return nil
		case <-deadline.C:
			names := make([]string, 0, len(waiting))
			for name := range waiting {
				names = append(names, name)
			}
			slices.Sort(names)
			return c.republish(ctx, "deadline: consumers still not ready", names)
		case <-tick.C:
		}
	}
}

func (c CatchUp) republish(ctx context.Context, why string, consumers []string) error {
	n, err := c.Republish(ctx)
	if err != nil {
		if ctx.Err() != nil {
			return nil
		}
		return fmt.Errorf("catch-up: %w", err)
	}
	c.Log.Info("catch-up: catalog republished", "reason", why, "consumers", strings.Join(consumers, ","), "products", n)
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

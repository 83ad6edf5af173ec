// Catching up: a publisher that seeds its state into a fresh database republishes it once its
// consumers' queues exist.

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

// CatchUp republishes a publisher's state after a fresh seed, for consumers whose queue did not exist
// yet. On a first start every process starts at once, and the seed's events may reach the exchange
// before a consumer has declared and bound its queue (RabbitMQ drops what no queue is bound for).
// CatchUp polls the /readyz of every consumer (a consumer's readiness includes a consuming queue)
// and republishes whenever one or more of them has newly become ready, until all have, or until
// Deadline, when it republishes a last time for the late ones. Consumers that already hold the state
// ignore the repeat (same versions). Later starts do not need it: queues are durable.
type CatchUp struct {
	// Consumers are the contexts that consume the publisher's events; those in Teams are awaited.
	Consumers []string
	// Teams maps a context to its instances' base URLs: the team registry (fragments.ParseTeams,
	// INLAY_TEAMS). A consumer is ready when one of its instances is (they share its queue).
	Teams map[string][]string
	// Republish writes a snapshot of the publisher's state to the outbox and returns how many events.
	Republish func(ctx context.Context) (int, error)
	// What names Republish's events in the log ("products", "skus"); "events" when empty.
	What string
	// Deadline bounds the wait for the consumers; 60 s when zero.
	Deadline time.Duration
	// Interval is the pause between readiness rounds; 250 ms when zero.
	Interval time.Duration
	// Client asks the consumers; one with a 2 s timeout when nil.
	Client *http.Client
	// Log receives the catch-up's logs; slog.Default() when nil.
	Log *slog.Logger
}

// Run polls the consumers and republishes as they become ready. It returns nil when ctx ends.
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
	if c.What == "" {
		c.What = "events"
	}
	waiting := map[string][]string{}
	for _, name := range c.Consumers {
		for _, base := range c.Teams[name] {
			waiting[name] = append(waiting[name], strings.TrimRight(base, "/"))
		}
	}
	deadline := time.NewTimer(c.Deadline)
	defer deadline.Stop()
	tick := time.NewTicker(c.Interval)
	defer tick.Stop()
	for {
		var ready []string
		for name, bases := range waiting {
			if slices.ContainsFunc(bases, func(base string) bool { return c.ready(ctx, base) }) {
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
	c.Log.Info("catch-up: republished", "reason", why, "consumers", strings.Join(consumers, ","), c.What, n)
	return nil
}

func (c CatchUp) ready(ctx context.Context, base string) bool {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, base+"/readyz?full=1", nil)
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

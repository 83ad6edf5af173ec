// Acknowledging: handled deliveries are acked in coalesced runs, and their outcome recorded.

package events

import (
	"log/slog"
	"sync"

	amqp "github.com/rabbitmq/amqp091-go"
)

// acker acknowledges deliveries in coalesced runs: when every delivery up to tag t is settled, one
// multiple-ack covers them (quorum queues settle a run in one log entry). Settled deliveries that
// wait behind an unsettled one are acked one by one once more than limit of them are held, so a
// slow event never starves the prefetch window.
type acker struct {
	mu    sync.Mutex
	ch    *amqp.Channel
	next  uint64          // the lowest delivery tag not yet settled
	done  map[uint64]bool // settled tags above next; true once acked on their own
	limit int
}

// ack settles tags (a worker's batch) and sends what that completes: one multiple-ack for the run of
// settled tags from the lowest unsettled one on.
func (a *acker) ack(tags ...uint64) error {
	a.mu.Lock()
	defer a.mu.Unlock()
	for _, tag := range tags {
		if tag >= a.next {
			a.done[tag] = false
		}
	}
	var last uint64
	for {
		acked, ok := a.done[a.next]
		if !ok {
			break
		}
		if !acked {
			last = a.next
		}
		delete(a.done, a.next)
		a.next++
	}
	if last > 0 {
		// Acks every outstanding tag up to last: all of them are settled.
		if err := a.ch.Ack(last, true); err != nil {
			return err
		}
	}
	// A batch can leave many settled tags behind one that is not: past limit, ack them one by one.
	if len(a.done) > a.limit {
		for t, acked := range a.done {
			if !acked {
				if err := a.ch.Ack(t, false); err != nil {
					return err
				}
				a.done[t] = true
			}
		}
	}
	return nil
}

// consumed records a handled item whose ack has been sent.
func (s *session) consumed(it *item) {
	c := s.c
	c.metrics.outcome(it.e.Type, it.outcome)
	c.settled(it.e, it.outcome)
	if it.outcome == "applied" {
		c.metrics.lag.Observe(it.handled.Sub(it.e.Time).Seconds())
	}
	if c.log.Enabled(s.ctx, slog.LevelDebug) {
		c.log.Debug("consumed", "event_id", it.e.ID, "event_type", it.e.Type, "attempt", it.attempt, "outcome", it.outcome)
	}
}

func (c *Consumer) settled(e Event, outcome string) {
	if c.opts.OnSettled != nil {
		c.opts.OnSettled(e, outcome)
	}
}

// Retrying and parking: a failed event goes to the delay queue of its attempt, or, out of attempts
// or poisoned, to the parking queue, and its delivery is acked once the broker confirmed the copy.

package events

import (
	"context"
	"fmt"
	"strings"
	"time"

	amqp "github.com/rabbitmq/amqp091-go"
)

func (c *Consumer) retryDelay(attempt int) time.Duration {
	i := min(attempt-1, len(c.opts.RetryDelays)-1)
	return max(c.opts.RetryDelays[max(i, 0)], time.Millisecond)
}

// settle sends a failed item to a delay queue or the parking queue, and acks it once the broker
// confirmed that.
func (s *session) settle(it *item) {
	c := s.c
	log := c.log.With("event_id", it.e.ID, "event_type", it.e.Type, "attempt", it.attempt)
	if it.e.ID == "" {
		log = c.log.With("message_id", it.d.MessageId, "routing_key", it.key, "attempt", it.attempt)
	}
	typ := it.e.Type
	if typ == "" || c.handler(typ) == nil {
		typ = "unknown"
	}
	if it.poisoned || IsPermanent(it.failure) || it.attempt >= c.opts.MaxAttempts {
		reason := it.failure.Error()
		if err := s.republish(it, c.parked, amqp.Table{
			HeaderReason:   reason,
			HeaderAttempt:  int32(it.attempt),
			HeaderParkedAt: time.Now().UTC().Format(time.RFC3339Nano),
			HeaderConsumer: c.opts.Name,
		}); err != nil {
			s.fail(fmt.Errorf("park %s: %w", it.d.MessageId, err))
			return
		}
		c.metrics.parked.Inc()
		c.metrics.inParked.Inc()
		c.metrics.outcome(typ, "parked")
		c.settled(it.e, "parked")
		log.Error("event parked", "reason", reason)
		return
	}
	delay := c.retryDelay(it.attempt)
	if err := s.republish(it, delayQueueName(c.opts.Exchange, c.opts.Name, delay), amqp.Table{
		HeaderAttempt:   int32(it.attempt + 1),
		HeaderLastError: truncate(it.failure.Error(), 1024),
	}); err != nil {
		s.fail(fmt.Errorf("retry %s: %w", it.d.MessageId, err))
		return
	}
	c.metrics.retries.Inc()
	c.metrics.outcome(typ, "retried")
	c.settled(it.e, "retried")
	log.Warn("event failed, retrying", "error", it.failure.Error(), "retry_in", delay.String())
}

// republish copies it's message to queue (through the default exchange) with extra headers,
// waits for the broker's confirm, then acks the original.
func (s *session) republish(it *item, queue string, extra amqp.Table) error {
	headers := amqp.Table{}
	for k, v := range it.d.Headers {
		if k == "x-death" || strings.HasPrefix(k, "x-inlay-") {
			continue
		}
		headers[k] = v
	}
	headers[HeaderRoutingKey] = it.key
	for k, v := range extra {
		headers[k] = v
	}
	ctx, cancel := context.WithTimeout(context.WithoutCancel(s.ctx), 15*time.Second)
	defer cancel()
	dc, err := s.pub.PublishWithDeferredConfirmWithContext(ctx, "", queue, false, false, amqp.Publishing{
		ContentType:  it.d.ContentType,
		DeliveryMode: amqp.Persistent,
		MessageId:    it.d.MessageId,
		Type:         it.d.Type,
		Timestamp:    it.d.Timestamp,
		AppId:        it.d.AppId,
		Headers:      headers,
		Body:         it.d.Body,
	})
	if err != nil {
		return fmt.Errorf("publish to %s: %w", queue, err)
	}
	ok, err := dc.WaitContext(ctx)
	if err != nil {
		return fmt.Errorf("confirm publish to %s: %w", queue, err)
	}
	if !ok {
		return fmt.Errorf("broker refused the message for %s", queue)
	}
	if err := s.acks.ack(it.d.DeliveryTag); err != nil {
		return fmt.Errorf("ack: %w", err)
	}
	return nil
}

func headerInt(v any) (int, bool) {
	switch n := v.(type) {
	case int:
		return n, true
	case int8:
		return int(n), true
	case int16:
		return int(n), true
	case int32:
		return int(n), true
	case int64:
		return int(n), true
	case uint8:
		return int(n), true
	case uint16:
		return int(n), true
	case uint32:
		return int(n), true
	}
	return 0, false
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n]
}

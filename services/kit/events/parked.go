package events

import (
	"context"
	"fmt"
	"slices"
	"time"

	amqp "github.com/rabbitmq/amqp091-go"
)

// Parked is a message in a consumer's parking queue.
type Parked struct {
	// EventID is the message id (the event id when the envelope could be read).
	EventID string `json:"event_id"`
	// Type is the original routing key (the event type).
	Type string `json:"type"`
	// Subject is the event's subject when known.
	Subject string `json:"subject,omitempty"`
	// Reason is why it was parked.
	Reason string `json:"reason"`
	// Attempts is how many times it was tried.
	Attempts int `json:"attempts"`
	// ParkedAt is when it was parked (zero when unknown).
	ParkedAt time.Time `json:"parked_at"`
	// Body is the message as published.
	Body []byte `json:"body"`
}

func parkedFrom(d amqp.Delivery) Parked {
	p := Parked{EventID: d.MessageId, Type: d.RoutingKey, Body: d.Body}
	k, haveKey := d.Headers[HeaderRoutingKey].(string)
	if haveKey && k != "" {
		p.Type = k
	}
	p.Subject, _ = d.Headers[HeaderSubject].(string)
	p.Reason, _ = d.Headers[HeaderReason].(string)
	if n, ok := headerInt(d.Headers[HeaderAttempt]); ok {
		p.Attempts = n
	}
	if at, ok := d.Headers[HeaderParkedAt].(string); ok {
		p.ParkedAt, _ = time.Parse(time.RFC3339Nano, at)
	}
	if p.Reason == "" {
		// Dead-lettered by the quorum queue itself (its delivery limit): the consumer process kept
		// dying on it.
		if deaths, ok := d.Headers["x-death"].([]any); ok && len(deaths) > 0 {
			if death, ok := deaths[0].(amqp.Table); ok {
				p.Reason = fmt.Sprintf("dead-lettered by the broker (%v from %v)", death["reason"], death["queue"])
				if rk, ok := death["routing-keys"].([]any); ok && len(rk) > 0 {
					if k, ok := rk[0].(string); ok && !haveKey {
						p.Type = k
					}
				}
				if t, ok := death["time"].(time.Time); ok {
					p.ParkedAt = t
				}
			}
		}
		if p.Reason == "" {
			p.Reason = "unknown"
		}
	}
	return p
}

// ListParked returns up to limit messages (all when limit <= 0) of consumer name's parking queue,
// oldest first, leaving them in the queue.
func ListParked(ctx context.Context, amqpURL, exchange, name string, limit int) ([]Parked, error) {
	var out []Parked
	err := walkParked(ctx, amqpURL, exchange, name, func(ch *amqp.Channel, d amqp.Delivery) (bool, error) {
		out = append(out, parkedFrom(d))
		return limit <= 0 || len(out) < limit, nil
	})
	return out, err
}

// ReplayParked moves parked messages of consumer name back to its main queue with a fresh attempt
// count: those whose event id is in ids, or all of them when ids is empty. It returns how many it
// moved. Each is acked from the parking queue only after the broker confirmed the copy.
func ReplayParked(ctx context.Context, amqpURL, exchange, name string, ids ...string) (int, error) {
	queue := QueueName(exchange, name)
	n := 0
	err := walkParked(ctx, amqpURL, exchange, name, func(ch *amqp.Channel, d amqp.Delivery) (bool, error) {
		p := parkedFrom(d)
		if len(ids) > 0 && !slices.Contains(ids, p.EventID) {
			return true, nil // left unacked: back in the queue when the channel closes
		}
		headers := amqp.Table{}
		for k, v := range d.Headers {
			switch k {
			case HeaderReason, HeaderAttempt, HeaderParkedAt, HeaderConsumer, HeaderLastError, "x-death",
				"x-first-death-exchange", "x-first-death-queue", "x-first-death-reason", "x-delivery-count":
				continue
			}
			headers[k] = v
		}
		headers[HeaderRoutingKey] = p.Type
		pctx, cancel := context.WithTimeout(ctx, 15*time.Second)
		defer cancel()
		dc, err := ch.PublishWithDeferredConfirmWithContext(pctx, "", queue, false, false, amqp.Publishing{
			ContentType:  d.ContentType,
			DeliveryMode: amqp.Persistent,
			MessageId:    d.MessageId,
			Type:         d.Type,
			Timestamp:    d.Timestamp,
			AppId:        d.AppId,
			Headers:      headers,
			Body:         d.Body,
		})
		if err != nil {
			return false, fmt.Errorf("replay %s: %w", p.EventID, err)
		}
		ok, err := dc.WaitContext(pctx)
		if err != nil {
			return false, fmt.Errorf("replay %s: confirm: %w", p.EventID, err)
		}
		if !ok {
			return false, fmt.Errorf("replay %s: broker refused it", p.EventID)
		}
		if err := d.Ack(false); err != nil {
			return false, fmt.Errorf("replay %s: ack parked copy: %w", p.EventID, err)
		}
		n++
		return true, nil
	})
	return n, err
}

// walkParked gets the parking queue's messages one by one without acking them (visit may ack);
// it stops after the number of messages the queue held at the start, or when visit says so.
// Closing the channel returns the unacked ones to the queue in their order.
func walkParked(ctx context.Context, amqpURL, exchange, name string,
	visit func(ch *amqp.Channel, d amqp.Delivery) (bool, error)) error {
	if deadline, ok := ctx.Deadline(); !ok || time.Until(deadline) > 5*time.Minute {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, 5*time.Minute)
		defer cancel()
	}
	conn, err := dial(ctx, amqpURL, name+".parked-admin")
	if err != nil {
		return err
	}
	defer conn.Close()
	stop := context.AfterFunc(ctx, func() { conn.Close() })
	defer stop()
	ch, err := conn.Channel()
	if err != nil {
		return fmt.Errorf("open channel: %w", err)
	}
	defer ch.Close()
	if err := ch.Confirm(false); err != nil {
		return fmt.Errorf("enable publisher confirms: %w", err)
	}
	parked := ParkedQueueName(exchange, name)
	q, err := ch.QueueDeclarePassive(parked, true, false, false, false, nil)
	if err != nil {
		return fmt.Errorf("parking queue %s: %w", parked, err)
	}
	for range q.Messages {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		d, ok, err := ch.Get(parked, false)
		if err != nil {
			return fmt.Errorf("get from %s: %w", parked, err)
		}
		if !ok {
			return nil
		}
		more, err := visit(ch, d)
		if err != nil || !more {
			return err
		}
	}
	return nil
}

// The broker alone, as the relay and the consumer use it: what one quorum queue moves on this
// machine, the ceiling eventbench compares the whole backbone with.

package events

import (
	"context"
	"errors"
	"fmt"
	"time"

	amqp "github.com/rabbitmq/amqp091-go"
)

// CeilingOptions configures Ceiling.
type CeilingOptions struct {
	AMQPURL  string
	Exchange string // a topic exchange of the caller's, declared when missing; the caller deletes it
	Queue    string // the quorum queue to create, bind and delete
	Messages int
	Body     []byte // each message's body (an event's JSON, as the relay sends it)
	// BatchSize and Window are the relay's: messages per batch, sent in one write, and batches
	// awaiting their confirms at once. 500 and 8 when zero.
	BatchSize, Window int
	// Prefetch and AckEvery are the consumer's: unacknowledged deliveries the broker may send, and
	// deliveries acknowledged with one frame. 1024 and 64 when zero.
	Prefetch, AckEvery int
}

// Ceiling moves o.Messages messages through one quorum queue with nothing else: no database, no
// handler. A publisher sends them in batches, each batch's frames in one write, in confirm mode
// with up to Window batches awaiting their confirms, as the relay publishes; a consumer on its own
// connection takes them with manual acknowledgements, up to Prefetch unacknowledged, one ack frame
// per AckEvery deliveries (multiple), as the consumer acks a worker's batch. It returns the time from
// the first publish until the last delivery was acknowledged, and removes its queue.
func Ceiling(ctx context.Context, o CeilingOptions) (time.Duration, error) {
	if o.BatchSize <= 0 {
		o.BatchSize = 500
	}
	if o.Window <= 0 {
		o.Window = 8
	}
	if o.Prefetch <= 0 {
		o.Prefetch = 1024
	}
	if o.AckEvery <= 0 {
		o.AckEvery = 64
	}
	if o.Messages <= 0 {
		return 0, errors.New("ceiling: no messages")
	}
	cconn, err := dial(ctx, o.AMQPURL, "ceiling.consumer")
	if err != nil {
		return 0, err
	}
	defer cconn.Close()
	cch, err := cconn.Channel()
	if err != nil {
		return 0, fmt.Errorf("open channel: %w", err)
	}
	if err := declareExchange(cch, o.Exchange); err != nil {
		return 0, err
	}
	if _, err := cch.QueueDeclare(o.Queue, true, false, false, false, amqp.Table{"x-queue-type": "quorum"}); err != nil {
		return 0, fmt.Errorf("declare queue %s: %w", o.Queue, err)
	}
	defer func() {
		if dch, err := cconn.Channel(); err == nil {
			_, _ = dch.QueueDelete(o.Queue, false, false, false)
		}
	}()
	const key = "ceiling.message"
	if err := cch.QueueBind(o.Queue, key, o.Exchange, false, nil); err != nil {
		return 0, fmt.Errorf("bind %s: %w", o.Queue, err)
	}
	if err := cch.Qos(o.Prefetch, 0, false); err != nil {
		return 0, fmt.Errorf("set prefetch: %w", err)
	}
	deliveries, err := cch.ConsumeWithContext(ctx, o.Queue, "", false, false, false, false, nil)
	if err != nil {
		return 0, fmt.Errorf("consume %s: %w", o.Queue, err)
	}

	pconn, sock, err := dialHeld(ctx, o.AMQPURL, "ceiling.publisher")
	if err != nil {
		return 0, err
	}
	defer pconn.Close()
	pch, err := pconn.Channel()
	if err != nil {
		return 0, fmt.Errorf("open channel: %w", err)
	}
	if err := pch.Confirm(false); err != nil {
		return 0, fmt.Errorf("enable publisher confirms: %w", err)
	}

	consumed := make(chan error, 1)
	go func() {
		n := 0
		for n < o.Messages {
			select {
			case <-ctx.Done():
				consumed <- ctx.Err()
				return
			case d, ok := <-deliveries:
				if !ok {
					consumed <- errors.New("consumer channel closed")
					return
				}
				n++
				if n%o.AckEvery == 0 || n == o.Messages {
					if err := d.Ack(true); err != nil {
						consumed <- fmt.Errorf("ack: %w", err)
						return
					}
				}
			}
		}
		consumed <- nil
	}()

	start := time.Now()
	var window [][]*amqp.DeferredConfirmation
	confirm := func(dcs []*amqp.DeferredConfirmation) error {
		for _, dc := range dcs {
			ok, err := dc.WaitContext(ctx)
			if err != nil {
				return fmt.Errorf("wait for confirm: %w", err)
			}
			if !ok {
				return errors.New("broker refused a message (nack)")
			}
		}
		return nil
	}
	now := time.Now()
	for sent := 0; sent < o.Messages; {
		if len(window) == o.Window {
			if err := confirm(window[0]); err != nil {
				return 0, err
			}
			window = window[1:]
		}
		n := min(o.BatchSize, o.Messages-sent)
		dcs := make([]*amqp.DeferredConfirmation, 0, n)
		sock.hold()
		for i := range n {
			dc, err := pch.PublishWithDeferredConfirmWithContext(ctx, o.Exchange, key, false, false, amqp.Publishing{
				ContentType: "application/json", DeliveryMode: amqp.Persistent,
				MessageId: fmt.Sprintf("ceiling-%d", sent+i), Type: key, Timestamp: now, AppId: "ceiling",
				Headers: amqp.Table{HeaderSubject: fmt.Sprintf("s-%d", (sent+i)%1000)}, Body: o.Body,
			})
			if err != nil {
				_ = sock.release(15 * time.Second)
				return 0, fmt.Errorf("publish: %w", err)
			}
			dcs = append(dcs, dc)
		}
		if err := sock.release(15 * time.Second); err != nil {
			return 0, err
		}
		window = append(window, dcs)
		sent += n
	}
	for _, dcs := range window {
		if err := confirm(dcs); err != nil {
			return 0, err
		}
	}
	if err := <-consumed; err != nil {
		return 0, err
	}
	return time.Since(start), nil
}

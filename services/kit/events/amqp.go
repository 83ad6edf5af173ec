package events

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"net"
	"time"

	amqp "github.com/rabbitmq/amqp091-go"
)

// dialTimeout bounds connecting to the broker (TCP and the AMQP handshake).
const dialTimeout = 10 * time.Second

// dial connects to the broker with a deadline and a heartbeat, naming the connection.
func dial(ctx context.Context, url, name string) (*amqp.Connection, error) {
	props := amqp.NewConnectionProperties()
	props.SetClientConnectionName(name)
	cfg := amqp.Config{
		Heartbeat:  10 * time.Second,
		Locale:     "en_US",
		Properties: props,
		Dial: func(network, addr string) (net.Conn, error) {
			d := net.Dialer{Timeout: dialTimeout}
			dctx, cancel := context.WithTimeout(ctx, dialTimeout)
			defer cancel()
			conn, err := d.DialContext(dctx, network, addr)
			if err != nil {
				return nil, err
			}
			// The handshake must finish in time too; amqp091 clears the deadline afterwards.
			if err := conn.SetDeadline(time.Now().Add(dialTimeout)); err != nil {
				conn.Close()
				return nil, err
			}
			return conn, nil
		},
	}
	conn, err := amqp.DialConfig(url, cfg)
	if err != nil {
		return nil, fmt.Errorf("connect to RabbitMQ (start it with: rabbitmq-server -detached): %w", err)
	}
	return conn, nil
}

// declareExchange declares the durable topic exchange.
func declareExchange(ch *amqp.Channel, exchange string) error {
	if err := ch.ExchangeDeclare(exchange, amqp.ExchangeTopic, true, false, false, false, nil); err != nil {
		return fmt.Errorf("declare exchange %s: %w", exchange, err)
	}
	return nil
}

// backoff is a capped exponential backoff with full jitter.
type backoff struct {
	min, max time.Duration
	n        int
}

func (b *backoff) next() time.Duration {
	d := b.min << min(b.n, 16)
	if d > b.max || d <= 0 {
		d = b.max
	}
	b.n++
	return d/2 + rand.N(d/2+1)
}

func (b *backoff) reset() { b.n = 0 }

// sleep waits for d or until ctx is done, reporting whether the full wait happened.
func sleep(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-t.C:
		return true
	}
}

// confirmAll waits for the broker's confirms of dcs until ctx is done; it reports which were acked.
func confirmAll(ctx context.Context, dcs []*amqp.DeferredConfirmation) ([]bool, error) {
	acked := make([]bool, len(dcs))
	for i, dc := range dcs {
		ok, err := dc.WaitContext(ctx)
		if err != nil {
			return acked, fmt.Errorf("wait for publisher confirm: %w", err)
		}
		acked[i] = ok
	}
	return acked, nil
}

var errClosed = errors.New("broker connection closed")

package events

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"net"
	"sync"
	"time"

	amqp "github.com/rabbitmq/amqp091-go"
)

// dialTimeout bounds connecting to the broker (TCP and the AMQP handshake).
const dialTimeout = 10 * time.Second

// dial connects to the broker with a deadline and a heartbeat, naming the connection.
func dial(ctx context.Context, url, name string) (*amqp.Connection, error) {
	conn, _, err := dialHeld(ctx, url, name)
	return conn, err
}

// dialHeld is dial, also returning the connection's socket as a heldConn, through which a
// publisher sends a whole batch of messages in one write.
func dialHeld(ctx context.Context, url, name string) (*amqp.Connection, *heldConn, error) {
	var held *heldConn
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
			held = &heldConn{Conn: conn}
			return held, nil
		},
	}
	conn, err := amqp.DialConfig(url, cfg)
	if err != nil {
		return nil, nil, fmt.Errorf("connect to RabbitMQ (start it with: rabbitmq-server -detached): %w", err)
	}
	return conn, held, nil
}

// heldConn is a broker socket whose writes can be held back and sent together: amqp091 writes
// every publish to the socket on its own, and a batch of small writes costs the relay, the kernel
// and the broker a system call and a wake-up each. Between hold and release the writes collect in
// memory; release sends them in one write, under a deadline.
type heldConn struct {
	net.Conn
	mu   sync.Mutex
	held bool
	buf  []byte
}

// heldBufferCap is the buffer a release keeps for the next batch; a larger one is dropped.
const heldBufferCap = 1 << 20

func (c *heldConn) Write(p []byte) (int, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.held {
		c.buf = append(c.buf, p...)
		return len(p), nil
	}
	return c.Conn.Write(p)
}

// hold starts collecting writes.
func (c *heldConn) hold() {
	c.mu.Lock()
	c.held = true
	c.mu.Unlock()
}

// release sends what was collected since hold in one write, failing after timeout; later writes
// go straight to the socket again.
func (c *heldConn) release(timeout time.Duration) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.held = false
	if len(c.buf) == 0 {
		return nil
	}
	defer func() {
		if cap(c.buf) > heldBufferCap {
			c.buf = nil
		}
		c.buf = c.buf[:0]
	}()
	if err := c.Conn.SetWriteDeadline(time.Now().Add(timeout)); err != nil {
		return fmt.Errorf("set write deadline: %w", err)
	}
	if _, err := c.Conn.Write(c.buf); err != nil {
		return fmt.Errorf("send batch to broker: %w", err)
	}
	return c.Conn.SetWriteDeadline(time.Time{})
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
	return d/2 + rand.N(d/2+1) //nolint:gosec // G404: retry jitter, not a secret
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

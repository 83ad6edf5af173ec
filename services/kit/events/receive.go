// Receiving: one connection's session takes deliveries off the queue, hands each to the worker of
// its subject, and a worker decodes a batch of them and finds their handlers.

package events

import (
	"context"
	"errors"
	"fmt"
	"hash/fnv"
	"sync"
	"time"

	"github.com/google/uuid"
	amqp "github.com/rabbitmq/amqp091-go"
)

// session consumes over one connection until it fails or ctx is done.
func (c *Consumer) session(ctx context.Context) error {
	conn, err := dial(ctx, c.opts.AMQPURL, c.opts.Name+".consumer")
	if err != nil {
		return err
	}
	defer conn.Close()
	ch, err := conn.Channel()
	if err != nil {
		return fmt.Errorf("open channel: %w", err)
	}
	if err := c.declare(ch); err != nil {
		return err
	}
	if err := ch.Qos(c.opts.Prefetch, 0, false); err != nil {
		return fmt.Errorf("set prefetch: %w", err)
	}
	pub, err := conn.Channel()
	if err != nil {
		return fmt.Errorf("open publish channel: %w", err)
	}
	if err := pub.Confirm(false); err != nil {
		return fmt.Errorf("enable publisher confirms: %w", err)
	}
	tag := c.opts.Name + "-" + uuid.NewString()[:8]
	deliveries, err := ch.Consume(c.queue, tag, false, false, false, false, nil)
	if err != nil {
		return fmt.Errorf("consume %s: %w", c.queue, err)
	}
	closed := conn.NotifyClose(make(chan *amqp.Error, 1))
	c.ready.Store(true)
	c.log.Info("consuming", "queue", c.queue)

	// Workers stop taking new deliveries when sctx ends; a batch already started finishes.
	sctx, stop := context.WithCancelCause(ctx)
	defer stop(nil)
	s := &session{c: c, ch: ch, pub: pub, ctx: sctx, fail: stop,
		acks: &acker{ch: ch, next: 1, done: map[uint64]bool{}, limit: max(c.opts.Prefetch/2, 1)}}
	ins := make([]chan amqp.Delivery, c.opts.Concurrency)
	var wg sync.WaitGroup
	for i := range ins {
		ins[i] = make(chan amqp.Delivery, c.opts.Prefetch)
		wg.Go(func() { s.work(ins[i]) })
	}
	defer func() {
		stop(nil)
		for _, in := range ins {
			close(in)
		}
		wg.Wait()
	}()

	gauge := time.NewTicker(15 * time.Second)
	defer gauge.Stop()
	c.refreshGauges(conn)
	var lastCleanup time.Time
	for {
		if time.Since(lastCleanup) > time.Hour {
			c.cleanupInbox(sctx)
			lastCleanup = time.Now()
		}
		select {
		case <-sctx.Done():
			if err := context.Cause(sctx); err != nil && !errors.Is(err, context.Canceled) {
				return err
			}
			return ctx.Err()
		case e := <-closed:
			return fmt.Errorf("%w: %w", errClosed, e)
		case <-gauge.C:
			c.refreshGauges(conn)
		case d, ok := <-deliveries:
			if !ok {
				return fmt.Errorf("%w: deliveries stopped", errClosed)
			}
			select {
			case ins[workerFor(d, len(ins))] <- d:
			case <-sctx.Done():
			}
		}
	}
}

// workerFor hashes the delivery's subject to a worker, so one aggregate's events stay in order.
func workerFor(d amqp.Delivery, n int) int {
	subject, _ := d.Headers[HeaderSubject].(string)
	if subject == "" {
		subject = d.MessageId
	}
	h := fnv.New32a()
	h.Write([]byte(subject))
	return int(h.Sum32() % uint32(n))
}

// refreshGauges counts the messages waiting in the main and parking queues (on a channel of its
// own: a failed passive declare closes the channel).
func (c *Consumer) refreshGauges(conn *amqp.Connection) {
	ch, err := conn.Channel()
	if err != nil {
		return
	}
	defer ch.Close()
	q, err := ch.QueueDeclarePassive(c.parked, true, false, false, false, nil)
	if err != nil {
		c.log.Warn("count parked messages", "error", err.Error())
		return
	}
	c.metrics.inParked.Set(float64(q.Messages))
	q, err = ch.QueueDeclarePassive(c.queue, true, false, false, false, amqp.Table{"x-queue-type": "quorum"})
	if err != nil {
		c.log.Warn("count queued messages", "error", err.Error())
		return
	}
	c.metrics.ready.Set(float64(q.Messages))
}

// session is the state one connection's workers share.
type session struct {
	c    *Consumer
	ch   *amqp.Channel // deliveries and acks
	pub  *amqp.Channel // retries and parking, in confirm mode
	ctx  context.Context
	fail context.CancelCauseFunc
	acks *acker
}

// item is one delivery being handled.
type item struct {
	d        amqp.Delivery
	e        Event
	h        Handler
	trace    string // the message's traceparent: the relay's publish span, else the envelope's
	attempt  int
	key      string // the original routing key
	outcome  string // applied or duplicate, once committed
	handled  time.Time
	failure  error
	poisoned bool // park without retrying
}

func (s *session) work(in <-chan amqp.Delivery) {
	batch := make([]amqp.Delivery, 0, s.c.opts.BatchSize)
	for {
		batch = batch[:0]
		select {
		case <-s.ctx.Done():
			return
		case d, ok := <-in:
			if !ok {
				return
			}
			batch = append(batch, d)
		}
	fill:
		for len(batch) < s.c.opts.BatchSize {
			select {
			case d, ok := <-in:
				if !ok {
					break fill
				}
				batch = append(batch, d)
			default:
				break fill
			}
		}
		s.process(batch)
	}
}

// prepare decodes a delivery and finds its handler; a message that cannot be handled is marked
// poisoned with the reason.
func (s *session) prepare(d amqp.Delivery) *item {
	it := &item{d: d, attempt: 1, key: d.RoutingKey}
	if n, ok := headerInt(d.Headers[HeaderAttempt]); ok && n > 0 {
		it.attempt = n
	}
	if k, ok := d.Headers[HeaderRoutingKey].(string); ok && k != "" {
		it.key = k
	}
	e, err := Decode(d.Body)
	if err != nil {
		it.failure, it.poisoned = err, true
		return it
	}
	it.e = e
	it.trace = e.Traceparent
	if tp, ok := d.Headers[HeaderTraceparent].(string); ok && traceparentRE.MatchString(tp) {
		it.trace = tp
	}
	if e.Type != it.key {
		it.failure = fmt.Errorf("envelope type %q does not match routing key %q", e.Type, it.key)
		it.poisoned = true
		return it
	}
	if it.h = s.c.handler(e.Type); it.h == nil {
		it.failure = fmt.Errorf("no handler for event type %q (unsupported type or version)", e.Type)
		it.poisoned = true
	}
	return it
}

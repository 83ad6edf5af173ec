// Applying: a batch of events runs through its handlers in one transaction with its inbox rows
// (one transaction each when the batch fails), so every event is applied once.

package events

import (
	"context"
	"errors"
	"fmt"
	"runtime/debug"
	"time"

	"github.com/jackc/pgx/v5"
	amqp "github.com/rabbitmq/amqp091-go"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/trace"

	"github.com/inlay-dev/inlay/services/kit/tracing"
)

func (c *Consumer) cleanupInbox(ctx context.Context) {
	if c.opts.InboxRetention < 0 {
		return
	}
	cctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	if _, err := c.opts.Pool.Exec(cctx,
		`DELETE FROM inlay_inbox WHERE consumer = $1 AND handled_at < now() - $2::interval`,
		c.opts.Name, c.opts.InboxRetention); err != nil && ctx.Err() == nil {
		c.log.Warn("delete old inbox rows", "error", err.Error())
	}
}

// process handles a batch: invalid messages are parked, the valid ones are applied in one
// transaction, or one transaction each when that fails, then acked, retried or parked.
func (s *session) process(batch []amqp.Delivery) {
	c := s.c
	items := make([]*item, 0, len(batch))
	for _, d := range batch {
		it := s.prepare(d)
		if it.poisoned {
			s.settle(it)
			continue
		}
		items = append(items, it)
	}
	if len(items) == 0 {
		return
	}
	// Work already started completes even when the session is ending, so that its acks have a
	// chance; the deadline bounds it.
	ctx, cancel := context.WithTimeout(context.WithoutCancel(s.ctx), c.opts.HandlerTimeout)
	defer cancel()
	if err := c.apply(ctx, items); err != nil && len(items) > 1 {
		for _, it := range items {
			it.outcome, it.failure = "", nil
			if err := c.apply(ctx, []*item{it}); err != nil {
				it.failure = err
			}
		}
	} else if err != nil {
		items[0].failure = err
	}
	// The handled items are acked together (one frame for the batch), the failed ones retried or
	// parked one by one.
	tags := make([]uint64, 0, len(items))
	for _, it := range items {
		var infra infraError
		if errors.As(it.failure, &infra) {
			s.fail(it.failure) // unacked: redelivered after the reconnection
			return
		}
		if it.failure == nil {
			tags = append(tags, it.d.DeliveryTag)
		}
	}
	if len(tags) > 0 {
		if err := s.acks.ack(tags...); err != nil {
			// The work is committed; the redeliveries will be acked as duplicates.
			s.fail(fmt.Errorf("ack %d events: %w", len(tags), err))
			return
		}
	}
	for _, it := range items {
		if it.failure == nil {
			s.consumed(it)
		} else {
			s.settle(it)
		}
	}
}

// apply runs items' handlers in one transaction with their inbox rows. On success every item has
// its outcome; on failure nothing is committed.
func (c *Consumer) apply(ctx context.Context, items []*item) error {
	tx, err := c.opts.Pool.Begin(ctx)
	if err != nil {
		return infraError{fmt.Errorf("begin: %w", err)}
	}
	defer func() { _ = tx.Rollback(context.WithoutCancel(ctx)) }() // a no-op after Commit
	// One statement records the whole batch in the inbox; the ids it returns are the new ones.
	ids := make([]string, len(items))
	types := make([]string, len(items))
	for i, it := range items {
		ids[i], types[i] = it.e.ID, it.e.Type
	}
	rows, err := tx.Query(ctx,
		`INSERT INTO inlay_inbox (consumer, event_id, type)
		 SELECT $1, u.id, u.type FROM unnest($2::uuid[], $3::text[]) AS u(id, type)
		 ON CONFLICT DO NOTHING RETURNING event_id::text`,
		c.opts.Name, ids, types)
	if err != nil {
		return fmt.Errorf("record %d events in inbox: %w", len(items), err)
	}
	fresh, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		return fmt.Errorf("record %d events in inbox: %w", len(items), err)
	}
	isFresh := make(map[string]bool, len(fresh))
	for _, id := range fresh {
		isFresh[id] = true
	}
	for _, it := range items {
		if !isFresh[it.e.ID] {
			it.outcome = "duplicate"
			continue
		}
		isFresh[it.e.ID] = false // a second copy in the same batch is a duplicate
		if err := c.handle(ctx, tx, it); err != nil {
			return fmt.Errorf("handle %s %s: %w", it.e.Type, it.e.ID, err)
		}
		it.outcome = "applied"
	}
	if err := tx.Commit(ctx); err != nil {
		return fmt.Errorf("commit: %w", err)
	}
	now := time.Now()
	for _, it := range items {
		it.handled = now
	}
	return nil
}

// infraError is a failure of the database itself, not of the events: they are left unacked and the
// session restarts with backoff, so an outage does not use up their attempts.
type infraError struct{ err error }

func (e infraError) Error() string { return e.err.Error() }

func (e infraError) Unwrap() error { return e.err }

// handlerTx keeps a handler from ending the transaction it shares with the inbox row.
type handlerTx struct{ pgx.Tx }

var errHandlerEndsTx = errors.New("events: a handler must not commit or roll back its transaction")

func (handlerTx) Commit(context.Context) error { return errHandlerEndsTx }

func (handlerTx) Rollback(context.Context) error { return errHandlerEndsTx }

// consumerSpan is the consumer spans' start option, made once.
var consumerSpan = []trace.SpanStartOption{trace.WithSpanKind(trace.SpanKindConsumer)}

// handle runs it's handler in a consumer span that continues the message's trace.
func (c *Consumer) handle(ctx context.Context, tx pgx.Tx, it *item) error {
	ctx, span := c.tracer.Start(ContextWithTraceparent(ctx, it.trace), "process", consumerSpan...)
	if span.IsRecording() { // named and described only when sampled
		span.SetName("process " + it.e.Type)
		span.SetAttributes(
			attribute.String("messaging.system", "rabbitmq"),
			attribute.String("messaging.operation.type", "process"),
			attribute.String("messaging.destination.name", c.queue),
			attribute.String("messaging.message.id", it.e.ID),
			attribute.String("inlay.event.type", it.e.Type),
			attribute.String("inlay.event.subject", it.e.Subject),
			attribute.Int("inlay.event.attempt", it.attempt))
	}
	defer span.End()
	err := runHandler(ctx, it.h, tx, it.e)
	tracing.RecordError(span, err)
	return err
}

// runHandler calls h, turning a panic into an error.
func runHandler(ctx context.Context, h Handler, tx pgx.Tx, e Event) (err error) {
	defer func() {
		if p := recover(); p != nil {
			err = fmt.Errorf("handler panicked: %v\n%s", p, debug.Stack())
		}
	}()
	return h(ctx, handlerTx{tx}, e)
}

package events

import (
	"context"
	"fmt"

	"github.com/jackc/pgx/v5"
	"go.opentelemetry.io/otel/propagation"
)

// Outbox writes events into the inlay_outbox table inside the caller's transaction.
type Outbox struct {
	source string
}

// NewOutbox returns the outbox of the context source (used by Outbox.New and to fill events
// whose Source is empty).
func NewOutbox(source string) *Outbox {
	return &Outbox{source: source}
}

// New builds an event of o's source (see the package-level New).
func (o *Outbox) New(typ, subject string, data any) (Event, error) {
	return New(o.source, typ, subject, data)
}

// Add writes e in tx; it is published once tx commits (a trigger notifies the relay in the same
// transaction). An empty Source is filled with the outbox's, an empty Traceparent from ctx's span.
func (o *Outbox) Add(ctx context.Context, tx pgx.Tx, e Event) error {
	body, err := o.prepare(ctx, &e)
	if err != nil {
		return err
	}
	if _, err := tx.Exec(ctx,
		outboxInsert+`id, type, subject, body, traceparent) VALUES ($1, $2, $3, $4, $5)`,
		e.ID, e.Type, e.Subject, body, e.Traceparent); err != nil {
		return fmt.Errorf("add %s %s to outbox: %w", e.Type, e.ID, err)
	}
	return nil
}

// AddBatch writes many events in tx with one COPY, in slice order (for seeding and bulk changes).
func (o *Outbox) AddBatch(ctx context.Context, tx pgx.Tx, es []Event) error {
	rows := make([][]any, 0, len(es))
	for i := range es {
		e := es[i]
		body, err := o.prepare(ctx, &e)
		if err != nil {
			return err
		}
		rows = append(rows, []any{e.ID, e.Type, e.Subject, body, e.Traceparent})
	}
	if _, err := tx.CopyFrom(ctx, pgx.Identifier{"inlay_outbox"},
		[]string{"id", "type", "subject", "body", "traceparent"}, pgx.CopyFromRows(rows)); err != nil {
		return fmt.Errorf("add %d events to outbox: %w", len(es), err)
	}
	return nil
}

func (o *Outbox) prepare(ctx context.Context, e *Event) ([]byte, error) {
	if e.Source == "" {
		e.Source = o.source
	}
	if e.Traceparent == "" {
		e.Traceparent = TraceparentFrom(ctx)
	}
	return e.Marshal()
}

// TraceparentFrom returns the W3C traceparent of ctx's span (or remote span), "" when none.
func TraceparentFrom(ctx context.Context) string {
	c := propagation.MapCarrier{}
	propagation.TraceContext{}.Inject(ctx, c)
	return c["traceparent"]
}

// ContextWithTraceparent returns ctx carrying the remote span context of traceparent (ctx itself
// when traceparent is empty or invalid). Consumers call it for handlers; events added from a
// handler's ctx carry the same trace on.
func ContextWithTraceparent(ctx context.Context, traceparent string) context.Context {
	if traceparent == "" {
		return ctx
	}
	return propagation.TraceContext{}.Extract(ctx, propagation.MapCarrier{"traceparent": traceparent})
}

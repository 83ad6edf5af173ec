package events

import (
	"context"

	"github.com/jackc/pgx/v5"
)

// OutboxQueueSQL is the statement Queue adds to a batch: a service that prepares its hot statements
// on every connection (kit.Options.Prepare) names it among them.
const OutboxQueueSQL = outboxInsert + `id, type, subject, body, traceparent) VALUES ($1, $2, $3, $4, $5)`

// Queue queues e's outbox row in b, like Add does in a transaction: a batch sent without an explicit
// transaction runs in one implicit transaction, so the event is written (and published) only if
// every statement of the batch succeeds. A writer whose statements need no answer from one another
// thus commits in one round trip to PostgreSQL instead of one per statement plus BEGIN and COMMIT.
func (o *Outbox) Queue(ctx context.Context, b *pgx.Batch, e Event) error {
	body, err := o.prepare(ctx, &e)
	if err != nil {
		return err
	}
	b.Queue(OutboxQueueSQL, e.ID, e.Type, e.Subject, body, e.Traceparent)
	return nil
}

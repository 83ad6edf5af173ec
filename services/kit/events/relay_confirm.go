// The relay's completer: it waits for each published batch's confirms, in order, marks the confirmed
// rows sent, and keeps the outbox trimmed.

package events

import (
	"context"
	"fmt"
	"log/slog"
	"time"
)

// confirmedRows are rows whose confirms arrived: seqs lists the acked ones, missing counts the
// others (nacked, or the channel closed first).
type confirmedRows struct {
	rows    []outboxRow
	seqs    []int64
	missing int
}

// complete runs two stages: one waits for the published batches' confirms in order, the other
// marks the confirmed rows sent (all the batches confirmed meanwhile in one statement), so a mark's
// commit overlaps the next confirms.
func (r *Relay) complete(ctx context.Context, p *pipeline, batches <-chan inflight) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	confirmed := make(chan confirmedRows, 1024)
	confirmErr := make(chan error, 1)
	go func() {
		confirmErr <- r.confirm(ctx, batches, confirmed)
	}()
	err := r.mark(ctx, p, confirmed, confirmErr)
	cancel()
	if cerr := <-confirmErr; err == nil {
		err = cerr
	}
	return err
}

// confirm waits for each batch's confirms, in publishing order, and hands the batch to mark. A
// batch with a missing confirm is handed over (its acked rows are marked) and ends the session.
func (r *Relay) confirm(ctx context.Context, batches <-chan inflight, confirmed chan<- confirmedRows) error {
	for {
		var b inflight
		select {
		case <-ctx.Done():
			return ctx.Err()
		case b = <-batches:
		}
		cctx, ccancel := context.WithTimeout(ctx, r.opts.ConfirmTimeout)
		acked, err := confirmAll(cctx, b.dcs)
		ccancel()
		if err != nil {
			return err
		}
		if r.opts.afterConfirm != nil {
			if err := r.opts.afterConfirm(); err != nil {
				return err
			}
		}
		c := confirmedRows{rows: b.rows, seqs: make([]int64, 0, len(b.rows))}
		for i, o := range b.rows {
			if acked[i] {
				c.seqs = append(c.seqs, o.seq)
			}
		}
		c.missing = len(b.rows) - len(c.seqs)
		select {
		case confirmed <- c:
		case <-ctx.Done():
			return ctx.Err()
		}
		if c.missing > 0 {
			return fmt.Errorf("broker did not confirm %d of %d events (nacked or channel closed); they stay in the outbox",
				c.missing, len(b.rows))
		}
	}
}

// mark marks confirmed rows sent, coalescing every batch confirmed meanwhile into one UPDATE, and
// only then lets the reader see past them. When confirm fails it marks what was already
// confirmed before returning.
func (r *Relay) mark(ctx context.Context, p *pipeline, confirmed <-chan confirmedRows, confirmErr chan error) error {
	debug := r.log.Enabled(ctx, slog.LevelDebug)
	var seqs []int64
	var rows []outboxRow
	for {
		var first confirmedRows
		var stop error
		select {
		case <-ctx.Done():
			return ctx.Err()
		case first = <-confirmed:
		case stop = <-confirmErr:
			confirmErr <- stop // for complete
		}
		seqs, rows = seqs[:0], rows[:0]
		missing := 0
		add := func(c confirmedRows) {
			seqs, rows = append(seqs, c.seqs...), append(rows, c.rows...)
			missing += c.missing
		}
		if stop == nil {
			add(first)
		}
	more:
		for {
			select {
			case c := <-confirmed:
				add(c)
			default:
				break more
			}
		}
		if len(seqs) > 0 {
			mctx, mcancel := context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
			_, err := r.opts.Pool.Exec(mctx, markSent, seqs)
			mcancel()
			if err != nil {
				return fmt.Errorf("mark %d events sent: %w", len(seqs), err)
			}
			for _, o := range rows {
				r.metrics.published.WithLabelValues(o.typ).Inc()
			}
			if debug {
				for _, o := range rows {
					r.log.Debug("published", "event_id", o.id, "event_type", o.typ, "subject", o.subject)
				}
			}
		}
		if stop != nil {
			return stop
		}
		if missing > 0 {
			return fmt.Errorf("broker did not confirm %d events (nacked or channel closed); they stay in the outbox", missing)
		}
		p.remove(rows)
	}
}

// markSent deletes the rows the broker confirmed and records them, without their bodies, in
// inlay_outbox_published. Deleting only sets the row's xmax, where setting a sent_at column wrote a
// new version of the whole row, body included, and new entries in each of its indexes (three times
// the relay's database work per event, see BENCHMARKS.md). It commits without waiting for the WAL
// flush (synchronous_commit off for this transaction only): a mark lost in a crash of PostgreSQL
// republishes the rows, which the consumers' inboxes already drop as duplicates, so the flush would
// buy nothing but a wait and a share of the disk's flushes that the producers' and consumers'
// commits need.
const markSent = `WITH async AS (SELECT set_config('synchronous_commit', 'off', true)),
	sent AS (DELETE FROM inlay_outbox o USING async WHERE o.seq = ANY($1)
		RETURNING o.seq, o.id, o.type, o.subject, o.created_at)
	INSERT INTO inlay_outbox_published (seq, id, type, subject, created_at, sent_at)
	SELECT seq, id, type, subject, created_at, clock_timestamp() FROM sent`

// keepHouse runs housekeeping every PollInterval until ctx ends, beside the publishing loop (whose
// reads it would otherwise hold up once a second). A failure is logged; the loop notices an outage
// of the database by itself.
func (r *Relay) keepHouse(ctx context.Context) {
	t := time.NewTicker(r.opts.PollInterval)
	defer t.Stop()
	for {
		if err := r.housekeeping(ctx); err != nil && ctx.Err() == nil {
			r.log.Warn("relay housekeeping", "error", err.Error())
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// housekeeping refreshes the backlog gauges and deletes the records of events published longer ago
// than the retention.
func (r *Relay) housekeeping(ctx context.Context) error {
	hctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	var backlog int64
	var oldest float64
	if err := r.opts.Pool.QueryRow(hctx,
		`SELECT count(*), COALESCE(EXTRACT(EPOCH FROM clock_timestamp() - min(created_at)), 0)::float8
		 FROM inlay_outbox WHERE sent_at IS NULL`).Scan(&backlog, &oldest); err != nil {
		return fmt.Errorf("measure outbox backlog: %w", err)
	}
	r.metrics.backlog.Set(float64(backlog))
	r.metrics.oldest.Set(oldest)
	if r.opts.Retention > 0 {
		if _, err := r.opts.Pool.Exec(hctx,
			`DELETE FROM inlay_outbox_published WHERE ctid = ANY (ARRAY(SELECT ctid FROM inlay_outbox_published
			 WHERE sent_at < clock_timestamp() - $1::interval LIMIT 10000))`,
			r.opts.Retention); err != nil {
			return fmt.Errorf("delete published outbox records: %w", err)
		}
	}
	return nil
}

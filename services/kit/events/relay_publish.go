// The relay's publishing loop: it reads the oldest unsent rows that are not in flight, publishes
// them in one write, hands the batch to the completer, and between reads moves between busy
// (polling) and listening (NOTIFY).

package events

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"
	amqp "github.com/rabbitmq/amqp091-go"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/trace"

	"github.com/inlay-dev/inlay/services/kit/tracing"
)

// publish reads and publishes batches until something fails.
//
// While the relay is busy it keeps reading (every busyPoll when a read finds nothing) and
// producers skip NOTIFY (see setListening). After busyLinger without rows it declares itself
// listening, reads once more, keeps checking for listenGrace (a producer that saw "busy" may
// still be committing), then sleeps until a NOTIFY or the backup poll.
func (s *relaySession) publish(ctx context.Context) error {
	r := s.r
	s.lastRows = time.Now()
	poll := time.NewTicker(r.opts.PollInterval)
	defer poll.Stop()
	signal := r.opts.Signal.wakeups()
	for {
		if err := s.waitWindow(ctx); err != nil {
			return err
		}
		// The read below sees every commit signalled until now.
		select {
		case <-signal:
		default:
		}
		b, err := r.publishBatch(ctx, s.ch, s.sock, s.p)
		if err != nil {
			return err
		}
		if len(b.rows) > 0 {
			if err := s.handOver(ctx, b); err != nil {
				return err
			}
			if err := s.busy(ctx); err != nil {
				return err
			}
			if len(b.rows) == r.opts.BatchSize || signal == nil {
				continue // keep reading while rows keep coming
			}
			// A partial batch: what had committed is on its way. The next commit of this process
			// signals; rows of other processes are read at the next busy poll.
			if err := s.sleep(ctx, time.After(busyPoll), poll.C); err != nil {
				return err
			}
			continue
		}
		timer, again, err := s.idle(ctx)
		if err != nil {
			return err
		}
		if !again {
			if err := s.sleep(ctx, timer, poll.C); err != nil {
				return err
			}
		}
	}
}

// waitWindow waits until fewer than relayWindow batches' worth of rows await their confirms.
func (s *relaySession) waitWindow(ctx context.Context) error {
	for s.p.size() >= relayWindow*s.r.opts.BatchSize {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case err := <-s.completerErr:
			return s.completerFailed(err)
		case <-s.p.progress:
		}
	}
	return nil
}

// handOver gives a published batch to the completer.
func (s *relaySession) handOver(ctx context.Context, b inflight) error {
	select {
	case s.batches <- b:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	case err := <-s.completerErr:
		return s.completerFailed(err)
	}
}

// completerFailed puts the completer's error back for the session's deferred receive and returns it.
func (s *relaySession) completerFailed(err error) error {
	s.completerErr <- err
	return err
}

// busy notes that a read found rows: the relay stops listening, producers stop notifying.
func (s *relaySession) busy(ctx context.Context) error {
	s.lastRows = time.Now()
	if s.listening {
		if err := s.r.setListening(ctx, false); err != nil {
			return err
		}
		s.listening = false
	}
	return nil
}

// idle decides what a read that found nothing leads to: a quick re-read (timer) while busy or in
// the listening grace, going listening and reading again at once (again), or, with neither, a
// sleep until a NOTIFY or the backup poll.
func (s *relaySession) idle(ctx context.Context) (timer <-chan time.Time, again bool, err error) {
	// A timer from time.After is collected once fired (Go 1.23+ timers).
	switch {
	case !s.listening && time.Since(s.lastRows) < busyLinger:
		return time.After(busyPoll), false, nil
	case !s.listening:
		if err := s.r.setListening(ctx, true); err != nil {
			return nil, false, err
		}
		s.listening = true
		s.graceUntil = time.Now().Add(listenGrace)
		return nil, true, nil
	case time.Now().Before(s.graceUntil):
		return time.After(busyPoll), false, nil
	}
	return nil, false, nil
}

// sleep waits for a reason to read again: a NOTIFY, a commit signal, the timer, the backup poll; or for a failure
// of the listener, the completer or the broker.
func (s *relaySession) sleep(ctx context.Context, timer, poll <-chan time.Time) error {
	select {
	case <-ctx.Done():
		return ctx.Err()
	case err := <-s.listenErr:
		s.listenErr <- err // for the deferred receive
		return err
	case err := <-s.completerErr:
		return s.completerFailed(err)
	case e := <-s.closed:
		return fmt.Errorf("%w: %w", errClosed, e)
	case e := <-s.chClosed:
		return fmt.Errorf("%w: channel: %w", errClosed, e)
	case <-s.wake:
	case <-s.r.opts.Signal.wakeups():
	case <-timer:
	case <-poll:
	}
	return nil
}

const (
	// busyPoll is how often a busy relay reads when nothing woke it (a relay with a CommitSignal is
	// woken by its own process's commits: the poll is for other processes' rows; a longer poll for
	// signalled relays was not measured under the lock, see BENCHMARKS.md issue 20).
	busyPoll = 5 * time.Millisecond
	// busyLinger is how long a relay stays busy (polling, producers not notifying) after the last
	// rows it found: under a steady stream it never goes back to listening.
	busyLinger = time.Second
	// listenGrace is how long a relay that just went listening keeps polling quickly, for
	// producers whose transaction read the "busy" flag and has not committed yet.
	listenGrace = 100 * time.Millisecond
)

// setListening tells producers whether to NOTIFY. A NOTIFY serialises the commits of every
// notifying transaction in the database (PostgreSQL holds a global lock through the commit's WAL
// flush), so producers notify only while the relay is idle and listening, never under load.
func (r *Relay) setListening(ctx context.Context, listening bool) error {
	sctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	if _, err := r.opts.Pool.Exec(sctx,
		`INSERT INTO inlay_outbox_relay (id, listening) VALUES (1, $1)
		 ON CONFLICT (id) DO UPDATE SET listening = EXCLUDED.listening`, listening); err != nil {
		return fmt.Errorf("set relay listening=%t: %w", listening, err)
	}
	return nil
}

// relayWindow is how many batches' worth of published rows may await their confirms at once.
const relayWindow = 8

type outboxRow struct {
	seq         int64
	id          string
	typ         string
	subject     string
	body        []byte
	traceparent string
}

// inflight is a published batch awaiting its confirms.
type inflight struct {
	rows []outboxRow
	dcs  []*amqp.DeferredConfirmation
}

// pipeline tracks rows published and not yet marked sent.
type pipeline struct {
	mu       sync.Mutex
	pending  map[int64]struct{}
	progress chan struct{} // signalled when rows leave pending
}

func (p *pipeline) size() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return len(p.pending)
}

// snapshot lists the seqs in flight, in ascending order.
func (p *pipeline) snapshot() []int64 {
	p.mu.Lock()
	seqs := make([]int64, 0, len(p.pending))
	for s := range p.pending {
		seqs = append(seqs, s)
	}
	p.mu.Unlock()
	slices.Sort(seqs)
	return seqs
}

// skip describes the rows in flight for the next read: every seq from lo to hi is in flight except
// gaps (seqs not seen yet: not committed when their neighbours were read, or never to be). It
// reports false when there are more than maxGaps gaps. seqs is ascending.
func skip(seqs []int64, maxGaps int) (lo, hi int64, gaps []int64, ok bool) {
	if len(seqs) == 0 {
		return 0, 0, nil, true
	}
	lo, hi = seqs[0], seqs[len(seqs)-1]
	if hi-lo+1-int64(len(seqs)) > int64(maxGaps) {
		return 0, 0, nil, false
	}
	for i := 1; i < len(seqs); i++ {
		for s := seqs[i-1] + 1; s < seqs[i]; s++ {
			gaps = append(gaps, s)
		}
	}
	return lo, hi, gaps, true
}

func (p *pipeline) add(rows []outboxRow) {
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, o := range rows {
		p.pending[o.seq] = struct{}{}
	}
}

func (p *pipeline) remove(rows []outboxRow) {
	p.mu.Lock()
	for _, o := range rows {
		delete(p.pending, o.seq)
	}
	p.mu.Unlock()
	select {
	case p.progress <- struct{}{}:
	default:
	}
}

// readAround reads the oldest unsent rows outside seqs $2…$3 ($2 = $3 = 0: none) or among the gaps $4
// in that run. Each branch is an ordered index scan that stops at $1 rows.
const readAround = `SELECT seq, id::text, type, subject, body, traceparent FROM (
	(SELECT * FROM inlay_outbox WHERE sent_at IS NULL AND seq < $2 ORDER BY seq LIMIT $1)
	UNION ALL
	(SELECT * FROM inlay_outbox WHERE sent_at IS NULL AND seq = ANY($4::bigint[]) ORDER BY seq LIMIT $1)
	UNION ALL
	(SELECT * FROM inlay_outbox WHERE sent_at IS NULL AND seq > $3 ORDER BY seq LIMIT $1)
) o ORDER BY seq LIMIT $1`

// readExcept reads the oldest unsent rows not listed in $2. NOT EXISTS over the list plans as a merge
// anti join in generic and custom plans alike; a "seq <> ALL($2)" filter compares every scanned row
// with the whole list once PostgreSQL switches the prepared statement to its generic plan.
const readExcept = `SELECT seq, id::text, type, subject, body, traceparent FROM inlay_outbox o
	WHERE sent_at IS NULL
	  AND NOT EXISTS (SELECT 1 FROM unnest($2::bigint[]) AS f(seq) WHERE f.seq = o.seq)
	ORDER BY seq LIMIT $1`

// publishBatch publishes the oldest unsent rows that are not in flight, in order.
func (r *Relay) publishBatch(ctx context.Context, ch *amqp.Channel, sock *heldConn, p *pipeline) (inflight, error) {
	qctx, qcancel := context.WithTimeout(ctx, 30*time.Second)
	defer qcancel()
	// Rows in flight (published, not yet marked) must be skipped, and only they. (Reading past the
	// highest seq published would be wrong: a transaction that committed late can hold both a lower
	// and a higher seq than rows already published, and its events would then go out in two pieces,
	// out of order.) The rows in flight are almost always one run of seqs from lo to hi with a few
	// gaps, so the read asks for the rows below lo, the gaps and the rows above hi: three short index
	// scans. Skipping them by listing them (an anti join) fetched every row in flight from the heap
	// on each read, up to eight batches' worth to return one (8–9 ms a read against 0.5 ms, see
	// BENCHMARKS.md). Past maxGaps gaps (many rolled-back seqs) it lists them instead.
	seqs := p.snapshot()
	var rows pgx.Rows
	var err error
	if lo, hi, gaps, ok := skip(seqs, 4*r.opts.BatchSize); ok {
		rows, err = r.opts.Pool.Query(qctx, readAround, r.opts.BatchSize, lo, hi, gaps)
	} else {
		rows, err = r.opts.Pool.Query(qctx, readExcept, r.opts.BatchSize, seqs)
	}
	if err != nil {
		return inflight{}, fmt.Errorf("read outbox: %w", err)
	}
	batch, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (outboxRow, error) {
		var o outboxRow
		err := row.Scan(&o.seq, &o.id, &o.typ, &o.subject, &o.body, &o.traceparent)
		return o, err
	})
	if err != nil {
		return inflight{}, fmt.Errorf("read outbox: %w", err)
	}
	if len(batch) == 0 {
		return inflight{}, nil
	}
	p.add(batch)
	b := inflight{rows: batch, dcs: make([]*amqp.DeferredConfirmation, 0, len(batch))}
	pctx, pcancel := context.WithTimeout(ctx, r.opts.ConfirmTimeout)
	defer pcancel()
	now := time.Now()
	// The batch's frames go to the broker in one write, after the loop.
	sock.hold()
	for _, o := range batch {
		headers := amqp.Table{HeaderSubject: o.subject}
		tp := r.publishSpan(o)
		if tp != "" {
			headers[HeaderTraceparent] = tp
		}
		dc, err := ch.PublishWithDeferredConfirmWithContext(pctx, r.opts.Exchange, o.typ, false, false, amqp.Publishing{
			ContentType:  "application/json",
			DeliveryMode: amqp.Persistent,
			MessageId:    o.id,
			Type:         o.typ,
			Timestamp:    now,
			AppId:        r.opts.Name,
			Headers:      headers,
			Body:         o.body,
		})
		if err != nil {
			// The session ends on this error and the batch stays in the outbox; whether the held
			// frames reach the broker does not matter.
			_ = sock.release(r.opts.ConfirmTimeout)
			return inflight{}, fmt.Errorf("publish %s %s: %w", o.typ, o.id, err)
		}
		b.dcs = append(b.dcs, dc)
	}
	if err := sock.release(r.opts.ConfirmTimeout); err != nil {
		return inflight{}, err
	}
	return b, nil
}

// producerSpan is the producer spans' start option, made once.
var producerSpan = []trace.SpanStartOption{trace.WithSpanKind(trace.SpanKindProducer)}

// publishSpan records the publish of o as a producer span in the trace that wrote the row and
// returns the traceparent to send: the span's, or the row's own when there is no span.
func (r *Relay) publishSpan(o outboxRow) string {
	if o.traceparent == "" {
		return ""
	}
	_, span := r.tracer.Start(ContextWithTraceparent(context.Background(), o.traceparent), "publish", producerSpan...)
	if span.IsRecording() { // named and described only when sampled
		span.SetName("publish " + o.typ)
		span.SetAttributes(
			attribute.String("messaging.system", "rabbitmq"),
			attribute.String("messaging.operation.type", "publish"),
			attribute.String("messaging.destination.name", r.opts.Exchange),
			attribute.String("messaging.message.id", o.id),
			attribute.String("inlay.event.type", o.typ),
			attribute.String("inlay.event.subject", o.subject))
	}
	defer span.End()
	if !span.SpanContext().IsValid() {
		return o.traceparent
	}
	return tracing.Traceparent(span.SpanContext())
}

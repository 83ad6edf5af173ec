package events

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/prometheus/client_golang/prometheus"
	amqp "github.com/rabbitmq/amqp091-go"
)

// RelayOptions configures a Relay. Pool and AMQPURL are required.
type RelayOptions struct {
	// Name is the publishing service (connection name and logs); "relay" when empty.
	Name string
	// Pool is the service's database holding inlay_outbox (see Migrate).
	Pool *pgxpool.Pool
	// AMQPURL points at RabbitMQ.
	AMQPURL string
	// Exchange is the durable topic exchange; DefaultExchange when empty.
	Exchange string
	// Log receives the relay's logs; slog.Default() when nil.
	Log *slog.Logger
	// Registry receives the relay's metrics; a private registry when nil.
	Registry *prometheus.Registry
	// BatchSize bounds the rows published per confirm round; 500 when zero.
	BatchSize int
	// PollInterval is the backup poll when no NOTIFY arrives, and how often a standby relay
	// tries to take over; 1 s when zero.
	PollInterval time.Duration
	// Retention is how long sent rows are kept before being deleted; 24 h when zero, never
	// deleted when negative.
	Retention time.Duration
	// ConfirmTimeout bounds waiting for the broker's confirms of one batch; 15 s when zero.
	ConfirmTimeout time.Duration
	// MaxBackoff caps the wait between reconnection attempts; 10 s when zero.
	MaxBackoff time.Duration

	// afterConfirm, in tests, runs after a batch is confirmed and before it is marked sent; an
	// error ends the session there (as if the process died).
	afterConfirm func() error
}

// Relay publishes the outbox of one database to RabbitMQ. Start it with Run (svc.Go(relay.Run)).
type Relay struct {
	opts    RelayOptions
	log     *slog.Logger
	metrics *relayMetrics
	lockKey int64
}

// relayLockKey is the session advisory lock that makes one relay per database the publisher.
const relayLockName = "inlay.events.relay"

// NewRelay returns a relay for opts, filling defaults.
func NewRelay(opts RelayOptions) *Relay {
	if opts.Name == "" {
		opts.Name = "relay"
	}
	if opts.Exchange == "" {
		opts.Exchange = DefaultExchange
	}
	if opts.Log == nil {
		opts.Log = slog.Default()
	}
	if opts.BatchSize <= 0 {
		opts.BatchSize = 500
	}
	if opts.PollInterval <= 0 {
		opts.PollInterval = time.Second
	}
	if opts.Retention == 0 {
		opts.Retention = 24 * time.Hour
	}
	if opts.ConfirmTimeout <= 0 {
		opts.ConfirmTimeout = 15 * time.Second
	}
	if opts.MaxBackoff <= 0 {
		opts.MaxBackoff = 10 * time.Second
	}
	return &Relay{
		opts:    opts,
		log:     opts.Log.With("component", "events.relay", "exchange", opts.Exchange),
		metrics: newRelayMetrics(opts.Registry),
	}
}

// errStandby ends a session in which another relay holds the lock.
var errStandby = errors.New("another relay is publishing this outbox")

// Run publishes until ctx is done; it returns nil then. Failures of the database or the broker
// are logged and retried with backoff; they never end Run.
func (r *Relay) Run(ctx context.Context) error {
	if r.opts.Pool == nil || r.opts.AMQPURL == "" {
		return errors.New("events relay: Pool and AMQPURL are required")
	}
	bo := backoff{min: 100 * time.Millisecond, max: r.opts.MaxBackoff}
	standby := false
	for {
		started := time.Now()
		err := r.session(ctx)
		if ctx.Err() != nil {
			return nil
		}
		if errors.Is(err, errStandby) {
			if !standby {
				r.log.Info("standing by: another relay publishes this outbox")
				standby = true
			}
			bo.reset()
			sleep(ctx, r.opts.PollInterval)
			continue
		}
		standby = false
		if time.Since(started) > time.Minute {
			bo.reset()
		}
		d := bo.next()
		r.log.Warn("relay interrupted, reconnecting", "error", err.Error(), "retry_in", d.String())
		sleep(ctx, d)
	}
}

// session is one leadership term: it holds the advisory lock on its own connection (which also
// LISTENs), keeps one broker channel in confirm mode and publishes until something fails.
func (r *Relay) session(ctx context.Context) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()

	pc, err := r.opts.Pool.Acquire(ctx)
	if err != nil {
		return fmt.Errorf("acquire database connection: %w", err)
	}
	// The connection carries a session lock and a LISTEN: it never goes back to the pool.
	lconn := pc.Hijack()
	defer func() {
		cctx, ccancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer ccancel()
		lconn.Close(cctx)
	}()
	var locked bool
	if err := lconn.QueryRow(ctx, `SELECT pg_try_advisory_lock(hashtextextended($1, 0))`, relayLockName).Scan(&locked); err != nil {
		return fmt.Errorf("take relay lock: %w", err)
	}
	if !locked {
		return errStandby
	}
	if _, err := lconn.Exec(ctx, `LISTEN `+notifyChannel); err != nil {
		return fmt.Errorf("listen %s: %w", notifyChannel, err)
	}

	conn, sock, err := dialHeld(ctx, r.opts.AMQPURL, r.opts.Name+".relay")
	if err != nil {
		return err
	}
	defer conn.Close()
	ch, err := conn.Channel()
	if err != nil {
		return fmt.Errorf("open channel: %w", err)
	}
	if err := declareExchange(ch, r.opts.Exchange); err != nil {
		return err
	}
	if err := ch.Confirm(false); err != nil {
		return fmt.Errorf("enable publisher confirms: %w", err)
	}
	closed := conn.NotifyClose(make(chan *amqp.Error, 1))
	chClosed := ch.NotifyClose(make(chan *amqp.Error, 1))
	r.log.Info("relay publishing", "database", lconn.Config().Database)

	wake := make(chan struct{}, 1)
	listenErr := make(chan error, 1)
	go func() {
		for {
			if _, err := lconn.WaitForNotification(ctx); err != nil {
				listenErr <- fmt.Errorf("wait for outbox notification: %w", err)
				return
			}
			select {
			case wake <- struct{}{}:
			default:
			}
		}
	}()
	// The listener goroutine owns lconn from here on; it stops when ctx is cancelled (deferred),
	// and lconn is closed after it returns.
	defer func() {
		cancel()
		<-listenErr
	}()

	// Publishing is pipelined: this loop reads and publishes batches in seq order while the
	// completer waits for each batch's confirms, in order, and marks it sent; up to relayWindow
	// batches are in flight. Rows published but not yet marked are excluded from the next reads.
	p := &pipeline{pending: map[int64]struct{}{}, progress: make(chan struct{}, 1)}
	batches := make(chan inflight, 1024)
	completerErr := make(chan error, 1)
	go func() {
		completerErr <- r.complete(ctx, p, batches)
	}()
	defer func() {
		cancel()
		<-completerErr
	}()

	// While the relay is busy it keeps reading (every busyPoll when a read finds nothing) and
	// producers skip NOTIFY (see setListening). After busyLinger without rows it declares itself
	// listening, reads once more, keeps checking for listenGrace (a producer that saw "busy" may
	// still be committing), then sleeps until a NOTIFY or the backup poll.
	if err := r.setListening(ctx, false); err != nil {
		return err
	}
	defer func() {
		sctx, scancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
		defer scancel()
		r.setListening(sctx, true) // best effort: producers notify whichever relay comes next
	}()
	listening := false
	var graceUntil time.Time
	lastRows := time.Now()
	poll := time.NewTicker(r.opts.PollInterval)
	defer poll.Stop()
	var lastHousekeeping time.Time
	for {
		for p.size() >= relayWindow*r.opts.BatchSize {
			select {
			case <-ctx.Done():
				return ctx.Err()
			case err := <-completerErr:
				completerErr <- err
				return err
			case <-p.progress:
			}
		}
		b, err := r.publishBatch(ctx, ch, sock, p)
		if err != nil {
			return err
		}
		if len(b.rows) > 0 {
			select {
			case batches <- b:
			case <-ctx.Done():
				return ctx.Err()
			case err := <-completerErr:
				completerErr <- err
				return err
			}
		}
		if time.Since(lastHousekeeping) >= r.opts.PollInterval {
			if err := r.housekeeping(ctx); err != nil {
				return err
			}
			lastHousekeeping = time.Now()
		}
		if len(b.rows) > 0 {
			lastRows = time.Now()
			if listening {
				if err := r.setListening(ctx, false); err != nil {
					return err
				}
				listening = false
			}
			continue // keep reading while rows keep coming
		}
		var timer <-chan time.Time // collected once fired (Go 1.23+ timers)
		switch {
		case !listening && time.Since(lastRows) < busyLinger:
			timer = time.After(busyPoll)
		case !listening:
			if err := r.setListening(ctx, true); err != nil {
				return err
			}
			listening = true
			graceUntil = time.Now().Add(listenGrace)
			continue
		case time.Now().Before(graceUntil):
			timer = time.After(busyPoll)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case err := <-listenErr:
			listenErr <- err // for the deferred receive
			return err
		case err := <-completerErr:
			completerErr <- err
			return err
		case e := <-closed:
			return fmt.Errorf("%w: %v", errClosed, e)
		case e := <-chClosed:
			return fmt.Errorf("%w: channel: %v", errClosed, e)
		case <-wake:
		case <-timer:
		case <-poll.C:
		}
	}
}

const (
	// busyPoll is how often a busy relay reads when the last read found nothing.
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

// snapshot lists the seqs in flight.
func (p *pipeline) snapshot() []int64 {
	p.mu.Lock()
	defer p.mu.Unlock()
	seqs := make([]int64, 0, len(p.pending))
	for s := range p.pending {
		seqs = append(seqs, s)
	}
	return seqs
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

// publishBatch publishes the oldest unsent rows that are not in flight, in order.
func (r *Relay) publishBatch(ctx context.Context, ch *amqp.Channel, sock *heldConn, p *pipeline) (inflight, error) {
	qctx, qcancel := context.WithTimeout(ctx, 30*time.Second)
	defer qcancel()
	// Rows in flight are skipped by listing them. (Reading past the highest seq published would be
	// cheaper but wrong: a transaction that committed late can hold both a lower and a higher seq
	// than rows already published, and its events would then go out in two pieces, out of order.)
	// NOT EXISTS over the list plans as a merge anti join in generic and custom plans alike; a
	// "seq <> ALL($2)" filter compares every scanned row with the whole list once PostgreSQL
	// switches the prepared statement to its generic plan (tens of ms with a few thousand in flight).
	rows, err := r.opts.Pool.Query(qctx,
		`SELECT seq, id::text, type, subject, body, traceparent FROM inlay_outbox o
		 WHERE sent_at IS NULL
		   AND NOT EXISTS (SELECT 1 FROM unnest($2::bigint[]) AS f(seq) WHERE f.seq = o.seq)
		 ORDER BY seq LIMIT $1`, r.opts.BatchSize, p.snapshot())
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
		if o.traceparent != "" {
			headers[HeaderTraceparent] = o.traceparent
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
			_, err := r.opts.Pool.Exec(mctx, `UPDATE inlay_outbox SET sent_at = clock_timestamp() WHERE seq = ANY($1)`, seqs)
			mcancel()
			if err != nil {
				return fmt.Errorf("mark %d events sent: %w", len(seqs), err)
			}
			r.metrics.published.Add(float64(len(seqs)))
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

// housekeeping refreshes the backlog gauges and deletes sent rows past the retention.
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
			`DELETE FROM inlay_outbox WHERE seq IN (SELECT seq FROM inlay_outbox
			 WHERE sent_at IS NOT NULL AND sent_at < clock_timestamp() - $1::interval LIMIT 10000)`,
			r.opts.Retention); err != nil {
			return fmt.Errorf("delete sent outbox rows: %w", err)
		}
	}
	return nil
}

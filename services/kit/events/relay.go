package events

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/prometheus/client_golang/prometheus"
	amqp "github.com/rabbitmq/amqp091-go"
	"go.opentelemetry.io/otel/trace"
	"go.opentelemetry.io/otel/trace/noop"

	"github.com/inlay-dev/inlay/services/kit/tracing"
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
	// Retention is how long the record of a published event (inlay_outbox_published: its seq, id,
	// type, subject, when it was written and when the broker confirmed it; not its body) is kept;
	// 24 h when zero, forever when negative. The outbox row itself is deleted once confirmed.
	Retention time.Duration
	// ConfirmTimeout bounds waiting for the broker's confirms of one batch; 15 s when zero.
	ConfirmTimeout time.Duration
	// MaxBackoff caps the wait between reconnection attempts; 10 s when zero.
	MaxBackoff time.Duration
	// Signal, when set, wakes the relay as soon as a transaction of this process that wrote the
	// outbox ends (install it as the pool's tracer, see CommitSignal), instead of at its next poll.
	Signal *CommitSignal
	// Tracer makes a producer span of each publish, a child of the trace that wrote the outbox row,
	// and sends that span's traceparent with the message; nil makes none (the row's traceparent is
	// sent as it is).
	Tracer trace.TracerProvider

	// afterConfirm, in tests, runs after a batch is confirmed and before it is marked sent; an
	// error ends the session there (as if the process died).
	afterConfirm func() error
}

// Relay publishes the outbox of one database to RabbitMQ. Start it with Run (svc.Go(relay.Run)).
type Relay struct {
	tracer  trace.Tracer
	opts    RelayOptions
	log     *slog.Logger
	metrics *relayMetrics
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
	if opts.Tracer == nil {
		opts.Tracer = noop.NewTracerProvider()
	}
	return &Relay{
		tracer:  opts.Tracer.Tracer(tracing.ScopeName),
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

	lconn, err := r.lead(ctx)
	if err != nil {
		return err
	}
	defer func() {
		cctx, ccancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer ccancel()
		lconn.Close(cctx)
	}()
	s, err := r.openBroker(ctx)
	if err != nil {
		return err
	}
	defer s.conn.Close()
	r.log.Info("relay publishing", "database", lconn.Config().Database)

	// The listener goroutine owns lconn from here on; it stops when ctx is cancelled (deferred),
	// and lconn is closed after it returns.
	go s.listen(ctx, lconn)
	defer func() {
		cancel()
		if err := <-s.listenErr; err != nil && ctx.Err() == nil {
			r.log.Debug("relay listener ended", "error", err.Error())
		}
	}()

	// Publishing is pipelined: the loop reads and publishes batches in seq order while the
	// completer waits for each batch's confirms, in order, and marks it sent; up to relayWindow
	// batches are in flight. Rows published but not yet marked are excluded from the next reads.
	go func() {
		s.completerErr <- r.complete(ctx, s.p, s.batches)
	}()
	defer func() {
		cancel()
		if err := <-s.completerErr; err != nil && ctx.Err() == nil {
			r.log.Debug("relay completer ended", "error", err.Error())
		}
	}()

	housekept := make(chan struct{})
	go func() {
		defer close(housekept)
		r.keepHouse(ctx)
	}()
	defer func() {
		cancel()
		<-housekept
	}()

	if err := r.setListening(ctx, false); err != nil {
		return err
	}
	if _, err := r.opts.Pool.Exec(ctx, moveMarked); err != nil {
		return fmt.Errorf("move rows an older relay marked sent: %w", err)
	}
	defer func() {
		sctx, scancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
		defer scancel()
		_ = r.setListening(sctx, true) // best effort: producers notify whichever relay comes next
	}()
	return s.publish(ctx)
}

// lead takes the relay lock on a connection of its own, taken out of the pool, and LISTENs on it
// for the producers' NOTIFY. Another relay holding the lock is errStandby.
func (r *Relay) lead(ctx context.Context) (*pgx.Conn, error) {
	pc, err := r.opts.Pool.Acquire(ctx)
	if err != nil {
		return nil, fmt.Errorf("acquire database connection: %w", err)
	}
	// The connection carries a session lock and a LISTEN: it never goes back to the pool.
	lconn := pc.Hijack()
	err = func() error {
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
		return nil
	}()
	if err != nil {
		cctx, ccancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer ccancel()
		lconn.Close(cctx)
		return nil, err
	}
	return lconn, nil
}

// relaySession is what one leadership term's publishing loop works with.
type relaySession struct {
	r        *Relay
	conn     *amqp.Connection
	sock     *heldConn
	ch       *amqp.Channel // in confirm mode
	closed   chan *amqp.Error
	chClosed chan *amqp.Error

	wake         chan struct{} // a NOTIFY arrived
	listenErr    chan error    // the listener ended
	p            *pipeline
	batches      chan inflight // published, to the completer
	completerErr chan error    // the completer ended

	// The publishing loop's mode (see publish).
	listening  bool
	graceUntil time.Time
	lastRows   time.Time
}

// openBroker connects to the broker and opens the publishing channel, in confirm mode, on the
// declared exchange. The caller closes the session's conn.
func (r *Relay) openBroker(ctx context.Context) (*relaySession, error) {
	conn, sock, err := dialHeld(ctx, r.opts.AMQPURL, r.opts.Name+".relay")
	if err != nil {
		return nil, err
	}
	s := &relaySession{r: r, conn: conn, sock: sock,
		wake: make(chan struct{}, 1), listenErr: make(chan error, 1),
		p:       &pipeline{pending: map[int64]struct{}{}, progress: make(chan struct{}, 1)},
		batches: make(chan inflight, 1024), completerErr: make(chan error, 1)}
	if err := s.openChannel(); err != nil {
		conn.Close()
		return nil, err
	}
	return s, nil
}

func (s *relaySession) openChannel() error {
	ch, err := s.conn.Channel()
	if err != nil {
		return fmt.Errorf("open channel: %w", err)
	}
	if err := declareExchange(ch, s.r.opts.Exchange); err != nil {
		return err
	}
	if err := ch.Confirm(false); err != nil {
		return fmt.Errorf("enable publisher confirms: %w", err)
	}
	s.ch = ch
	s.closed = s.conn.NotifyClose(make(chan *amqp.Error, 1))
	s.chClosed = ch.NotifyClose(make(chan *amqp.Error, 1))
	return nil
}

// listen turns the producers' notifications on lconn into wake-ups until ctx ends; it reports why
// it stopped on listenErr.
func (s *relaySession) listen(ctx context.Context, lconn *pgx.Conn) {
	for {
		if _, err := lconn.WaitForNotification(ctx); err != nil {
			s.listenErr <- fmt.Errorf("wait for outbox notification: %w", err)
			return
		}
		select {
		case s.wake <- struct{}{}:
		default:
		}
	}
}

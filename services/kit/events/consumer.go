package events

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/prometheus/client_golang/prometheus"
	"go.opentelemetry.io/otel/trace"
	"go.opentelemetry.io/otel/trace/noop"

	"github.com/inlay-dev/inlay/services/kit/tracing"
)

// Handler applies one event inside tx, the transaction that also records the event in the inbox.
// It must do all its work through tx and must not commit or roll it back. Returning an error
// rolls the work back and retries the event later; wrap it with Permanent to park it at once.
type Handler func(ctx context.Context, tx pgx.Tx, e Event) error

// Message headers the consumer reads and writes.
const (
	HeaderAttempt     = "x-inlay-attempt"     // the delivery attempt, 1 when absent
	HeaderRoutingKey  = "x-inlay-routing-key" // the original routing key, kept through delay and parking queues
	HeaderReason      = "x-inlay-reason"      // why a message was parked
	HeaderLastError   = "x-inlay-last-error"  // the error of the previous attempt
	HeaderParkedAt    = "x-inlay-parked-at"   // when it was parked (RFC 3339)
	HeaderConsumer    = "x-inlay-consumer"    // the consumer that parked it
	HeaderSubject     = "subject"             // the event's subject, for dispatch without decoding
	HeaderTraceparent = "traceparent"         // W3C trace context
)

// ConsumerOptions configures a Consumer. Name, Pool and AMQPURL are required.
type ConsumerOptions struct {
	// Name is the consuming service; its queue is "<exchange>.<name>".
	Name string
	// Pool is the service's database holding inlay_inbox (see Migrate).
	Pool *pgxpool.Pool
	// AMQPURL points at RabbitMQ.
	AMQPURL string
	// Exchange is the durable topic exchange; DefaultExchange when empty.
	Exchange string
	// Log receives the consumer's logs; slog.Default() when nil.
	Log *slog.Logger
	// Registry receives the consumer's metrics; a private registry when nil.
	Registry *prometheus.Registry
	// Prefetch bounds unacknowledged deliveries in flight; 256 when zero.
	Prefetch int
	// Concurrency is the number of workers (events of one subject always go to the same one);
	// 4 when zero.
	Concurrency int
	// BatchSize bounds the events one worker handles in one transaction; 64 when zero, 1 turns
	// batching off.
	BatchSize int
	// MaxAttempts is how many times an event is tried before it is parked; 5 when zero.
	MaxAttempts int
	// RetryDelays are the waits before attempt 2, 3, …; the last one repeats. Default 1s, 5s,
	// 30s, 2m. Each distinct delay has its own queue "<exchange>.<name>.delay.<delay>".
	RetryDelays []time.Duration
	// HandlerTimeout bounds one handling transaction; 30 s when zero.
	HandlerTimeout time.Duration
	// InboxRetention is how long inbox rows are kept (a redelivery older than that would apply
	// again); 30 days when zero, forever when negative.
	InboxRetention time.Duration
	// MaxBackoff caps the wait between reconnection attempts; 10 s when zero.
	MaxBackoff time.Duration
	// Tracer makes a consumer span of each event's handling, a child of the message's traceparent
	// (the relay's publish span, else the writer's), which the handler's context carries; nil makes
	// none (the handler's context still carries the remote span context).
	Tracer trace.TracerProvider
	// OnSettled, when set, is called after each message is settled with the broker: the event
	// (zero for a message that is not a valid envelope) and the outcome — applied, duplicate,
	// retried or parked. For tests and benchmarks; it must return quickly.
	OnSettled func(e Event, outcome string)
}

// Consumer takes events off the service's queue and applies each exactly once to its database.
type Consumer struct {
	tracer  trace.Tracer
	opts    ConsumerOptions
	log     *slog.Logger
	metrics *consumerMetrics
	queue   string
	parked  string
	routes  []route
	errs    []error
	ready   atomic.Bool
	started atomic.Bool
}

// NewConsumer returns a consumer for opts, filling defaults. Register handlers with Handle, then
// call Run.
func NewConsumer(opts ConsumerOptions) *Consumer {
	if opts.Exchange == "" {
		opts.Exchange = DefaultExchange
	}
	if opts.Log == nil {
		opts.Log = slog.Default()
	}
	if opts.Prefetch <= 0 {
		opts.Prefetch = 256
	}
	if opts.Concurrency <= 0 {
		opts.Concurrency = 4
	}
	if opts.BatchSize <= 0 {
		opts.BatchSize = 64
	}
	if opts.MaxAttempts <= 0 {
		opts.MaxAttempts = 5
	}
	if len(opts.RetryDelays) == 0 {
		opts.RetryDelays = []time.Duration{time.Second, 5 * time.Second, 30 * time.Second, 2 * time.Minute}
	}
	if opts.HandlerTimeout <= 0 {
		opts.HandlerTimeout = 30 * time.Second
	}
	if opts.InboxRetention == 0 {
		opts.InboxRetention = 30 * 24 * time.Hour
	}
	if opts.MaxBackoff <= 0 {
		opts.MaxBackoff = 10 * time.Second
	}
	if opts.Tracer == nil {
		opts.Tracer = noop.NewTracerProvider()
	}
	c := &Consumer{
		tracer:  opts.Tracer.Tracer(tracing.ScopeName),
		opts:    opts,
		log:     opts.Log.With("component", "events.consumer", "consumer", opts.Name),
		metrics: newConsumerMetrics(opts.Registry, opts.Name),
		queue:   QueueName(opts.Exchange, opts.Name),
		parked:  ParkedQueueName(opts.Exchange, opts.Name),
	}
	if strings.TrimSpace(opts.Name) == "" {
		c.errs = append(c.errs, errors.New("consumer Name is required"))
	}
	return c
}

// Ready reports whether the consumer is connected and consuming (a server.Check).
func (c *Consumer) Ready(context.Context) error {
	if !c.ready.Load() {
		return fmt.Errorf("consumer %s is not consuming", c.opts.Name)
	}
	return nil
}

// Run consumes until ctx is done; it returns nil then. Broker and database failures are logged
// and retried with backoff; only a configuration error ends Run early.
func (c *Consumer) Run(ctx context.Context) error {
	c.started.Store(true)
	if c.opts.Pool == nil || c.opts.AMQPURL == "" {
		c.errs = append(c.errs, errors.New("consumer options: Pool and AMQPURL are required"))
	}
	if len(c.routes) == 0 {
		c.errs = append(c.errs, errors.New("no handlers registered"))
	}
	if len(c.errs) > 0 {
		return fmt.Errorf("events consumer %s: %w", c.opts.Name, errors.Join(c.errs...))
	}
	bo := backoff{min: 100 * time.Millisecond, max: c.opts.MaxBackoff}
	for {
		started := time.Now()
		err := c.session(ctx)
		c.ready.Store(false)
		if ctx.Err() != nil {
			return nil
		}
		if time.Since(started) > time.Minute {
			bo.reset()
		}
		d := bo.next()
		c.log.Warn("consumer interrupted, reconnecting", "error", err.Error(), "retry_in", d.String())
		sleep(ctx, d)
	}
}

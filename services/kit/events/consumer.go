package events

import (
	"context"
	"errors"
	"fmt"
	"hash/fnv"
	"log/slog"
	"runtime/debug"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/prometheus/client_golang/prometheus"
	amqp "github.com/rabbitmq/amqp091-go"
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

// deliveryLimit is the quorum queue's own redelivery cap, a last resort against messages that
// crash the consumer process itself (they are dead-lettered to the parking queue).
const deliveryLimit = 50

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
	// OnSettled, when set, is called after each message is settled with the broker: the event
	// (zero for a message that is not a valid envelope) and the outcome — applied, duplicate,
	// retried or parked. For tests and benchmarks; it must return quickly.
	OnSettled func(e Event, outcome string)
}

type route struct {
	pattern string
	words   []string
	handler Handler
}

// Consumer takes events off the service's queue and applies each exactly once to its database.
type Consumer struct {
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
	c := &Consumer{
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

// QueueName is the durable quorum queue of consumer service name.
func QueueName(exchange, name string) string { return exchange + "." + name }

// ParkedQueueName is the parking queue of consumer service name.
func ParkedQueueName(exchange, name string) string { return exchange + "." + name + ".parked" }

func delayQueueName(exchange, name string, d time.Duration) string {
	return exchange + "." + name + ".delay." + d.String()
}

// Queue returns the consumer's main queue name.
func (c *Consumer) Queue() string { return c.queue }

// ParkedQueue returns the consumer's parking queue name.
func (c *Consumer) ParkedQueue() string { return c.parked }

// Handle routes events whose type matches routingKey to h. routingKey is a type
// ("decide.variant.price_changed.v1") or a topic pattern ("decide.variant.*.v1", "decide.#"); the
// queue is bound with it. An exact match wins over a pattern, then the first pattern registered.
// Call Handle before Run; an invalid key makes Run fail.
func (c *Consumer) Handle(routingKey string, h Handler) {
	if c.started.Load() {
		c.errs = append(c.errs, fmt.Errorf("Handle(%q) after Run", routingKey))
		return
	}
	words := strings.Split(routingKey, ".")
	for _, w := range words {
		if w == "" || (strings.ContainsAny(w, "*#") && w != "*" && w != "#") {
			c.errs = append(c.errs, fmt.Errorf("invalid routing key %q", routingKey))
			return
		}
	}
	if !strings.ContainsAny(routingKey, "*#") {
		if err := ValidateType(routingKey); err != nil {
			c.errs = append(c.errs, err)
			return
		}
	}
	if h == nil {
		c.errs = append(c.errs, fmt.Errorf("nil handler for %q", routingKey))
		return
	}
	c.routes = append(c.routes, route{pattern: routingKey, words: words, handler: h})
}

// handler returns the handler for typ, nil when none matches.
func (c *Consumer) handler(typ string) Handler {
	for _, r := range c.routes {
		if r.pattern == typ {
			return r.handler
		}
	}
	words := strings.Split(typ, ".")
	for _, r := range c.routes {
		if topicMatch(r.words, words) {
			return r.handler
		}
	}
	return nil
}

// topicMatch matches AMQP topic semantics: * is one word, # zero or more.
func topicMatch(pattern, words []string) bool {
	if len(pattern) == 0 {
		return len(words) == 0
	}
	if pattern[0] == "#" {
		for i := 0; i <= len(words); i++ {
			if topicMatch(pattern[1:], words[i:]) {
				return true
			}
		}
		return false
	}
	if len(words) == 0 {
		return false
	}
	if pattern[0] != "*" && pattern[0] != words[0] {
		return false
	}
	return topicMatch(pattern[1:], words[1:])
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
		c.errs = append(c.errs, errors.New("Pool and AMQPURL are required"))
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

// declare sets up the exchange, the main quorum queue with its bindings, the delay queues and
// the parking queue.
func (c *Consumer) declare(ch *amqp.Channel) error {
	if err := declareExchange(ch, c.opts.Exchange); err != nil {
		return err
	}
	if _, err := ch.QueueDeclare(c.parked, true, false, false, false, nil); err != nil {
		return fmt.Errorf("declare queue %s: %w", c.parked, err)
	}
	if _, err := ch.QueueDeclare(c.queue, true, false, false, false, amqp.Table{
		"x-queue-type":              "quorum",
		"x-delivery-limit":          deliveryLimit,
		"x-dead-letter-exchange":    "",
		"x-dead-letter-routing-key": c.parked,
	}); err != nil {
		return fmt.Errorf("declare queue %s: %w", c.queue, err)
	}
	for _, r := range c.routes {
		if err := ch.QueueBind(c.queue, r.pattern, c.opts.Exchange, false, nil); err != nil {
			return fmt.Errorf("bind %s to %s: %w", c.queue, r.pattern, err)
		}
	}
	for _, d := range c.delays() {
		q := delayQueueName(c.opts.Exchange, c.opts.Name, d)
		if _, err := ch.QueueDeclare(q, true, false, false, false, amqp.Table{
			"x-message-ttl":             d.Milliseconds(),
			"x-dead-letter-exchange":    "",
			"x-dead-letter-routing-key": c.queue,
		}); err != nil {
			return fmt.Errorf("declare queue %s: %w", q, err)
		}
	}
	return nil
}

// delays returns the distinct retry delays.
func (c *Consumer) delays() []time.Duration {
	var ds []time.Duration
	seen := map[time.Duration]bool{}
	for _, d := range c.opts.RetryDelays {
		if d < time.Millisecond {
			d = time.Millisecond
		}
		if !seen[d] {
			seen[d] = true
			ds = append(ds, d)
		}
	}
	return ds
}

func (c *Consumer) retryDelay(attempt int) time.Duration {
	i := min(attempt-1, len(c.opts.RetryDelays)-1)
	return max(c.opts.RetryDelays[max(i, 0)], time.Millisecond)
}

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
			return fmt.Errorf("%w: %v", errClosed, e)
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

// session is the state one connection's workers share.
type session struct {
	c    *Consumer
	ch   *amqp.Channel // deliveries and acks
	pub  *amqp.Channel // retries and parking, in confirm mode
	ctx  context.Context
	fail context.CancelCauseFunc
	acks *acker
}

// acker acknowledges deliveries in coalesced runs: when every delivery up to tag t is settled, one
// multiple-ack covers them (quorum queues settle a run in one log entry). Settled deliveries that
// wait behind an unsettled one are acked one by one once more than limit of them are held, so a
// slow event never starves the prefetch window.
type acker struct {
	mu    sync.Mutex
	ch    *amqp.Channel
	next  uint64          // the lowest delivery tag not yet settled
	done  map[uint64]bool // settled tags above next; true once acked on their own
	limit int
}

// ack settles tags (a worker's batch) and sends what that completes: one multiple-ack for the run of
// settled tags from the lowest unsettled one on.
func (a *acker) ack(tags ...uint64) error {
	a.mu.Lock()
	defer a.mu.Unlock()
	for _, tag := range tags {
		if tag >= a.next {
			a.done[tag] = false
		}
	}
	var last uint64
	for {
		acked, ok := a.done[a.next]
		if !ok {
			break
		}
		if !acked {
			last = a.next
		}
		delete(a.done, a.next)
		a.next++
	}
	if last > 0 {
		// Acks every outstanding tag up to last: all of them are settled.
		if err := a.ch.Ack(last, true); err != nil {
			return err
		}
	}
	// A batch can leave many settled tags behind one that is not: past limit, ack them one by one.
	if len(a.done) > a.limit {
		for t, acked := range a.done {
			if !acked {
				if err := a.ch.Ack(t, false); err != nil {
					return err
				}
				a.done[t] = true
			}
		}
	}
	return nil
}

// item is one delivery being handled.
type item struct {
	d        amqp.Delivery
	e        Event
	h        Handler
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

// apply runs items' handlers in one transaction with their inbox rows. On success every item has
// its outcome; on failure nothing is committed.
func (c *Consumer) apply(ctx context.Context, items []*item) error {
	tx, err := c.opts.Pool.Begin(ctx)
	if err != nil {
		return infraError{fmt.Errorf("begin: %w", err)}
	}
	defer tx.Rollback(context.WithoutCancel(ctx))
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
		if err := runHandler(ContextWithTraceparent(ctx, it.e.Traceparent), it.h, tx, it.e); err != nil {
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

func (handlerTx) Commit(context.Context) error   { return errHandlerEndsTx }
func (handlerTx) Rollback(context.Context) error { return errHandlerEndsTx }

// runHandler calls h, turning a panic into an error.
func runHandler(ctx context.Context, h Handler, tx pgx.Tx, e Event) (err error) {
	defer func() {
		if p := recover(); p != nil {
			err = fmt.Errorf("handler panicked: %v\n%s", p, debug.Stack())
		}
	}()
	return h(ctx, handlerTx{tx}, e)
}

// consumed records a handled item whose ack has been sent.
func (s *session) consumed(it *item) {
	c := s.c
	c.metrics.outcome(it.e.Type, it.outcome)
	c.settled(it.e, it.outcome)
	if it.outcome == "applied" {
		c.metrics.lag.Observe(it.handled.Sub(it.e.Time).Seconds())
	}
	if c.log.Enabled(s.ctx, slog.LevelDebug) {
		c.log.Debug("consumed", "event_id", it.e.ID, "event_type", it.e.Type, "attempt", it.attempt, "outcome", it.outcome)
	}
}

// settle sends a failed item to a delay queue or the parking queue, and acks it once the broker
// confirmed that.
func (s *session) settle(it *item) {
	c := s.c
	log := c.log.With("event_id", it.e.ID, "event_type", it.e.Type, "attempt", it.attempt)
	if it.e.ID == "" {
		log = c.log.With("message_id", it.d.MessageId, "routing_key", it.key, "attempt", it.attempt)
	}
	typ := it.e.Type
	if typ == "" || c.handler(typ) == nil {
		typ = "unknown"
	}
	if it.poisoned || IsPermanent(it.failure) || it.attempt >= c.opts.MaxAttempts {
		reason := it.failure.Error()
		if err := s.republish(it, c.parked, amqp.Table{
			HeaderReason:   reason,
			HeaderAttempt:  int32(it.attempt),
			HeaderParkedAt: time.Now().UTC().Format(time.RFC3339Nano),
			HeaderConsumer: c.opts.Name,
		}); err != nil {
			s.fail(fmt.Errorf("park %s: %w", it.d.MessageId, err))
			return
		}
		c.metrics.parked.Inc()
		c.metrics.inParked.Inc()
		c.metrics.outcome(typ, "parked")
		c.settled(it.e, "parked")
		log.Error("event parked", "reason", reason)
		return
	}
	delay := c.retryDelay(it.attempt)
	if err := s.republish(it, delayQueueName(c.opts.Exchange, c.opts.Name, delay), amqp.Table{
		HeaderAttempt:   int32(it.attempt + 1),
		HeaderLastError: truncate(it.failure.Error(), 1024),
	}); err != nil {
		s.fail(fmt.Errorf("retry %s: %w", it.d.MessageId, err))
		return
	}
	c.metrics.retries.Inc()
	c.metrics.outcome(typ, "retried")
	c.settled(it.e, "retried")
	log.Warn("event failed, retrying", "error", it.failure.Error(), "retry_in", delay.String())
}

func (c *Consumer) settled(e Event, outcome string) {
	if c.opts.OnSettled != nil {
		c.opts.OnSettled(e, outcome)
	}
}

// republish copies it's message to queue (through the default exchange) with extra headers,
// waits for the broker's confirm, then acks the original.
func (s *session) republish(it *item, queue string, extra amqp.Table) error {
	headers := amqp.Table{}
	for k, v := range it.d.Headers {
		if k == "x-death" || strings.HasPrefix(k, "x-inlay-") {
			continue
		}
		headers[k] = v
	}
	headers[HeaderRoutingKey] = it.key
	for k, v := range extra {
		headers[k] = v
	}
	ctx, cancel := context.WithTimeout(context.WithoutCancel(s.ctx), 15*time.Second)
	defer cancel()
	dc, err := s.pub.PublishWithDeferredConfirmWithContext(ctx, "", queue, false, false, amqp.Publishing{
		ContentType:  it.d.ContentType,
		DeliveryMode: amqp.Persistent,
		MessageId:    it.d.MessageId,
		Type:         it.d.Type,
		Timestamp:    it.d.Timestamp,
		AppId:        it.d.AppId,
		Headers:      headers,
		Body:         it.d.Body,
	})
	if err != nil {
		return fmt.Errorf("publish to %s: %w", queue, err)
	}
	ok, err := dc.WaitContext(ctx)
	if err != nil {
		return fmt.Errorf("confirm publish to %s: %w", queue, err)
	}
	if !ok {
		return fmt.Errorf("broker refused the message for %s", queue)
	}
	if err := s.acks.ack(it.d.DeliveryTag); err != nil {
		return fmt.Errorf("ack: %w", err)
	}
	return nil
}

func headerInt(v any) (int, bool) {
	switch n := v.(type) {
	case int:
		return n, true
	case int8:
		return int(n), true
	case int16:
		return int(n), true
	case int32:
		return int(n), true
	case int64:
		return int(n), true
	case uint8:
		return int(n), true
	case uint16:
		return int(n), true
	case uint32:
		return int(n), true
	}
	return 0, false
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n]
}

// DeleteQueues deletes the consumer's main, delay and parking queues (tests clean up with it).
func (c *Consumer) DeleteQueues(ctx context.Context) error {
	conn, err := dial(ctx, c.opts.AMQPURL, c.opts.Name+".admin")
	if err != nil {
		return err
	}
	defer conn.Close()
	ch, err := conn.Channel()
	if err != nil {
		return fmt.Errorf("open channel: %w", err)
	}
	names := []string{c.queue, c.parked}
	for _, d := range c.delays() {
		names = append(names, delayQueueName(c.opts.Exchange, c.opts.Name, d))
	}
	var errs []error
	for _, q := range names {
		if _, err := ch.QueueDelete(q, false, false, false); err != nil {
			errs = append(errs, fmt.Errorf("delete queue %s: %w", q, err))
			if ch, err = conn.Channel(); err != nil {
				return errors.Join(append(errs, err)...)
			}
		}
	}
	return errors.Join(errs...)
}

// DeleteExchange deletes exchange (tests clean up with it).
func DeleteExchange(ctx context.Context, amqpURL, exchange string) error {
	conn, err := dial(ctx, amqpURL, "events.admin")
	if err != nil {
		return err
	}
	defer conn.Close()
	ch, err := conn.Channel()
	if err != nil {
		return fmt.Errorf("open channel: %w", err)
	}
	if err := ch.ExchangeDelete(exchange, false, false); err != nil {
		return fmt.Errorf("delete exchange %s: %w", exchange, err)
	}
	return nil
}

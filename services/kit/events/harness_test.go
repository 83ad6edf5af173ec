package events

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"net"
	"net/url"
	"os"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
	amqp "github.com/rabbitmq/amqp091-go"

	"github.com/inlay-dev/inlay/services/kit/kittest"
)

// testEnv is one test's isolated database (migrated, with an "applied" table the test handlers
// write to) and exchange.
type testEnv struct {
	pool     *pgxpool.Pool
	exchange string
	amqpURL  string
	log      *slog.Logger
	outbox   *Outbox
}

func newEnv(t *testing.T) *testEnv {
	t.Helper()
	pool := kittest.Postgres(t, nil)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := Migrate(ctx, pool); err != nil {
		t.Fatal(err)
	}
	if _, err := pool.Exec(ctx, `CREATE TABLE applied (
		n         bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
		event_id  uuid NOT NULL,
		subject   text NOT NULL,
		seq       int  NOT NULL
	)`); err != nil {
		t.Fatal(err)
	}
	exchange := kittest.Exchange(t)
	env := &testEnv{
		pool:     pool,
		exchange: exchange,
		amqpURL:  kittest.AMQPURL(),
		log:      testLogger(t),
		outbox:   NewOutbox("test"),
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if err := DeleteExchange(ctx, env.amqpURL, exchange); err != nil {
			t.Logf("delete exchange: %v", err)
		}
	})
	return env
}

// testLogger logs to the test's output when EVENTS_TEST_LOG is set, nowhere otherwise.
func testLogger(t *testing.T) *slog.Logger {
	if os.Getenv("EVENTS_TEST_LOG") == "" {
		return slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	return slog.New(slog.NewTextHandler(tWriter{t}, &slog.HandlerOptions{Level: slog.LevelDebug}))
}

type tWriter struct{ t *testing.T }

func (w tWriter) Write(p []byte) (int, error) { w.t.Log(string(p)); return len(p), nil }

// payload is what the test events carry.
type payload struct {
	Seq int `json:"seq"`
}

// add writes events for subject with sequence numbers from..to-1 in one transaction.
func (env *testEnv) add(t *testing.T, ctx context.Context, typ, subject string, from, to int) []Event {
	t.Helper()
	var es []Event
	err := pgx.BeginFunc(ctx, env.pool, func(tx pgx.Tx) error {
		for i := from; i < to; i++ {
			e, err := env.outbox.New(typ, subject, payload{Seq: i})
			if err != nil {
				return err
			}
			if err := env.outbox.Add(ctx, tx, e); err != nil {
				return err
			}
			es = append(es, e)
		}
		return nil
	})
	if err != nil {
		t.Fatalf("add events: %v", err)
	}
	return es
}

// record is the test handler's work: one row per application.
func record(ctx context.Context, tx pgx.Tx, e Event) error {
	var p payload
	if err := e.DecodeData(&p); err != nil {
		return Permanent(err)
	}
	_, err := tx.Exec(ctx, `INSERT INTO applied (event_id, subject, seq) VALUES ($1, $2, $3)`, e.ID, e.Subject, p.Seq)
	return err
}

func (env *testEnv) count(t *testing.T, query string, args ...any) int {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	var n int
	if err := env.pool.QueryRow(ctx, query, args...).Scan(&n); err != nil {
		t.Fatalf("%s: %v", query, err)
	}
	return n
}

// startRelay runs a relay until the test ends (or the returned stop is called).
func (env *testEnv) startRelay(t *testing.T, opts RelayOptions) (r *Relay, stop func()) {
	t.Helper()
	opts.Pool, opts.AMQPURL, opts.Exchange, opts.Log = env.pool, orDefault(opts.AMQPURL, env.amqpURL), env.exchange, env.log
	if opts.Name == "" {
		opts.Name = "test"
	}
	if opts.PollInterval == 0 {
		opts.PollInterval = 200 * time.Millisecond
	}
	if opts.MaxBackoff == 0 {
		opts.MaxBackoff = 500 * time.Millisecond
	}
	r = NewRelay(opts)
	return r, runInBackground(t, "relay", r.Run)
}

// startConsumer registers handlers and runs a consumer until the test ends; its queues are deleted then.
func (env *testEnv) startConsumer(t *testing.T, opts ConsumerOptions, handlers map[string]Handler) (c *Consumer, stop func()) {
	t.Helper()
	opts.Pool, opts.AMQPURL, opts.Exchange, opts.Log = env.pool, orDefault(opts.AMQPURL, env.amqpURL), env.exchange, env.log
	if opts.Name == "" {
		opts.Name = "svc"
	}
	if opts.RetryDelays == nil {
		opts.RetryDelays = []time.Duration{20 * time.Millisecond, 50 * time.Millisecond}
	}
	if opts.MaxBackoff == 0 {
		opts.MaxBackoff = 500 * time.Millisecond
	}
	c = NewConsumer(opts)
	for k, h := range handlers {
		c.Handle(k, h)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		opts := c.opts
		opts.AMQPURL = env.amqpURL // the proxy may be gone
		if err := (&Consumer{opts: opts, queue: c.queue, parked: c.parked}).DeleteQueues(ctx); err != nil {
			t.Logf("delete queues: %v", err)
		}
	})
	stop = runInBackground(t, "consumer", c.Run)
	waitFor(t, 10*time.Second, "consumer ready", func() bool { return c.Ready(context.Background()) == nil })
	return c, stop
}

func orDefault(v, def string) string {
	if v == "" {
		return def
	}
	return v
}

// runInBackground runs fn until stop is called or the test ends, failing the test if fn fails.
func runInBackground(t *testing.T, what string, fn func(context.Context) error) (stop func()) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		if err := fn(ctx); err != nil {
			t.Errorf("%s: %v", what, err)
		}
	}()
	var once sync.Once
	stop = func() {
		once.Do(func() {
			cancel()
			select {
			case <-done:
			case <-time.After(30 * time.Second):
				t.Errorf("%s did not stop", what)
			}
		})
	}
	t.Cleanup(stop)
	return stop
}

// waitFor polls cond until it holds, failing the test after timeout.
func waitFor(t *testing.T, timeout time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	tick := time.NewTicker(10 * time.Millisecond)
	defer tick.Stop()
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %s waiting for %s", timeout, what)
		}
		<-tick.C
	}
}

// value reads a counter or gauge: for a vector, the sum of its children, 0 before it has any (a
// relay counts an event only after its mark commits, so a test that saw the commit may read the
// vector before the first child exists).
func value(t *testing.T, c prometheus.Collector) float64 {
	t.Helper()
	ch := make(chan prometheus.Metric, 256)
	c.Collect(ch) // synchronous: every metric is in ch when it returns
	close(ch)
	sum := 0.0
	for pm := range ch {
		var m dto.Metric
		if err := pm.Write(&m); err != nil {
			t.Fatal(err)
		}
		switch {
		case m.Counter != nil:
			sum += m.Counter.GetValue()
		case m.Gauge != nil:
			sum += m.Gauge.GetValue()
		default:
			t.Fatalf("not a counter or gauge: %v", &m)
		}
	}
	return sum
}

func (c *Consumer) handledCount(t *testing.T, typ, outcome string) float64 {
	return value(t, c.metrics.handled.WithLabelValues(c.opts.Name, typ, outcome))
}

// publishRaw publishes body to the exchange with routing key key, bypassing the outbox.
func (env *testEnv) publishRaw(t *testing.T, key string, msg amqp.Publishing) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	conn, err := dial(ctx, env.amqpURL, "test.raw")
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	ch, err := conn.Channel()
	if err != nil {
		t.Fatal(err)
	}
	if err := ch.Confirm(false); err != nil {
		t.Fatal(err)
	}
	dc, err := ch.PublishWithDeferredConfirmWithContext(ctx, env.exchange, key, false, false, msg)
	if err != nil {
		t.Fatal(err)
	}
	if ok, err := dc.WaitContext(ctx); err != nil || !ok {
		t.Fatalf("confirm raw publish: %t %v", ok, err)
	}
}

// bind binds queue to the test exchange with key.
func (env *testEnv) bind(t *testing.T, queue, key string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	conn, err := dial(ctx, env.amqpURL, "test.bind")
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	ch, err := conn.Channel()
	if err != nil {
		t.Fatal(err)
	}
	if err := ch.QueueBind(queue, key, env.exchange, false, nil); err != nil {
		t.Fatal(err)
	}
}

// proxy is a TCP proxy to RabbitMQ whose connections the test can cut.
type proxy struct {
	ln    net.Listener
	mu    sync.Mutex
	conns []net.Conn
	wg    sync.WaitGroup
}

// newProxy proxies to the broker of AMQPURL and returns the proxy and the URL to use.
func newProxy(t *testing.T) (*proxy, string) {
	t.Helper()
	u, err := url.Parse(kittest.AMQPURL())
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &proxy{ln: ln}
	upstream := u.Host
	p.wg.Go(func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			up, err := net.DialTimeout("tcp", upstream, 5*time.Second)
			if err != nil {
				c.Close()
				continue
			}
			p.mu.Lock()
			p.conns = append(p.conns, c, up)
			p.mu.Unlock()
			pipe := func(dst, src net.Conn) {
				_, _ = io.Copy(dst, src)
				dst.Close()
				src.Close()
			}
			p.wg.Go(func() { pipe(up, c) })
			p.wg.Go(func() { pipe(c, up) })
		}
	})
	t.Cleanup(func() {
		ln.Close()
		p.dropAll()
		p.wg.Wait()
	})
	u.Host = ln.Addr().String()
	return p, u.String()
}

// dropAll cuts every proxied connection at once, as a broker or network failure would.
func (p *proxy) dropAll() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	n := len(p.conns) / 2
	for _, c := range p.conns {
		if tc, ok := c.(*net.TCPConn); ok {
			_ = tc.SetLinger(0) // RST, not FIN
		}
		c.Close()
	}
	p.conns = nil
	return n
}

var errBoom = errors.New("boom")

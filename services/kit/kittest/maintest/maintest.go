// Package maintest is the harness of a service's main test: it runs the process's wiring (its run
// function) in the test, or its command as a built binary, against the real local stores, in a
// database prefix and an exchange of the test's own, and stands in for the other contexts: a probe
// that consumes what the service publishes, a publisher of what it consumes. Everything it starts
// stops, and everything it creates is removed, when the test ends.
//
//	p := maintest.New(t)
//	cfg := maintest.Load[Config](t)
//	p.Configure(&cfg.Common, "inventory")
//	cfg.Addr = kittest.FreeAddr(t)
//	stop := maintest.Run(t, ctx, cfg.Addr, func(ctx context.Context) error { return run(ctx, cfg, log) })
package maintest

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/prometheus/client_golang/prometheus/testutil/promlint"

	"github.com/inlay-dev/inlay/services/kit/config"
	"github.com/inlay-dev/inlay/services/kit/events"
	"github.com/inlay-dev/inlay/services/kit/kittest"
	"github.com/inlay-dev/inlay/services/kit/logging"
	"github.com/inlay-dev/inlay/services/kit/postgres"
)

// Platform is one test's share of the local stores: a database prefix and an exchange.
type Platform struct {
	t testing.TB
	// Prefix is INLAY_DB_PREFIX: a service's database is Prefix+name.
	Prefix string
	// Exchange is INLAY_EXCHANGE; it is deleted when the test ends.
	Exchange string
}

// New returns a platform of t's own.
func New(t testing.TB) *Platform {
	t.Helper()
	p := &Platform{t: t, Prefix: kittest.UniqueName("t") + "_", Exchange: kittest.Exchange(t)}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if err := events.DeleteExchange(ctx, kittest.AMQPURL(), p.Exchange); err != nil {
			t.Logf("delete exchange: %v", err)
		}
	})
	return p
}

// Load reads a process's configuration from the environment with its defaults, as kit.Main does.
func Load[C any](t testing.TB) C {
	t.Helper()
	var cfg C
	if err := config.Load(&cfg); err != nil {
		t.Fatal(err)
	}
	return cfg
}

// Configure points c at the local stores, the platform's database prefix and exchange, in dev mode,
// and has the service name's database and queues removed when the test ends (after the processes
// the test starts later have stopped).
func (p *Platform) Configure(c *config.Common, name string) {
	p.t.Helper()
	c.Env = "dev"
	c.PostgresURL, c.AMQPURL = kittest.PostgresURL(), kittest.AMQPURL()
	c.DBPrefix, c.Exchange = p.Prefix, p.Exchange
	p.removeAfter(name)
}

// Environ is the environment of the service name's binary in the platform: the local stores, its
// database prefix and exchange, dev mode, warnings only. The service's database and queues are
// removed when the test ends.
func (p *Platform) Environ(name string) []string {
	p.t.Helper()
	p.removeAfter(name)
	return []string{"INLAY_ENV=dev", "LOG_LEVEL=warn", "POSTGRES_URL=" + kittest.PostgresURL(),
		"INLAY_DB_PREFIX=" + p.Prefix, "AMQP_URL=" + kittest.AMQPURL(), "INLAY_EXCHANGE=" + p.Exchange}
}

// DatabaseURL is the URL of the service name's database in the platform.
func (p *Platform) DatabaseURL(name string) string {
	p.t.Helper()
	c := config.Common{PostgresURL: kittest.PostgresURL(), DBPrefix: p.Prefix}
	u, err := c.DatabaseURL(name)
	if err != nil {
		p.t.Fatal(err)
	}
	return u
}

func (p *Platform) removeAfter(name string) {
	dbURL := p.DatabaseURL(name)
	p.t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		q := events.NewConsumer(events.ConsumerOptions{Name: name, AMQPURL: kittest.AMQPURL(), Exchange: p.Exchange})
		if err := q.DeleteQueues(ctx); err != nil {
			p.t.Logf("delete %s queues: %v", name, err)
		}
		if err := postgres.DropDatabase(ctx, dbURL); err != nil {
			p.t.Logf("drop %s database: %v", name, err)
		}
	})
}

// Log is a logger for a process the test runs, which drops everything below errors.
func Log(name string) *slog.Logger { return logging.New(io.Discard, name, slog.LevelError) }

// Probe consumes the events matching patterns from the platform's exchange, like another context
// would, with handle (in a database of its own). It is consuming when Probe returns, and is removed
// when the test ends.
func (p *Platform) Probe(ctx context.Context, handle events.Handler, patterns ...string) {
	t := p.t
	t.Helper()
	pool := kittest.Postgres(t, nil)
	if err := events.Migrate(ctx, pool); err != nil {
		t.Fatal(err)
	}
	c := events.NewConsumer(events.ConsumerOptions{Name: "probe", Pool: pool, AMQPURL: kittest.AMQPURL(),
		Exchange: p.Exchange, Log: Log("probe")})
	for _, pattern := range patterns {
		c.Handle(pattern, handle)
	}
	p.Consume(ctx, c)
}

// Consume runs c (a consumer on the platform's exchange, its handlers registered) until the test
// ends, then deletes its queues. It is consuming when Consume returns: nothing published after is
// lost.
func (p *Platform) Consume(ctx context.Context, c *events.Consumer) {
	t := p.t
	t.Helper()
	runCtx, stop := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- c.Run(runCtx) }()
	t.Cleanup(func() {
		stop()
		if err := <-done; err != nil {
			t.Errorf("consumer %s: %v", c.Queue(), err)
		}
		cctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if err := c.DeleteQueues(cctx); err != nil {
			t.Logf("delete queues of %s: %v", c.Queue(), err)
		}
	})
	WaitFor(t, ctx, "consumer "+c.Queue(), func() bool { return c.Ready(ctx) == nil })
}

// Publisher is another context's side of the exchange: an outbox in a database of its own, and its
// relay.
type Publisher struct {
	t      testing.TB
	ctx    context.Context
	DB     *pgxpool.Pool
	Outbox *events.Outbox
}

// Publisher starts the outbox and relay of the context source on the platform's exchange; they stop
// when the test ends.
func (p *Platform) Publisher(ctx context.Context, source string) *Publisher {
	t := p.t
	t.Helper()
	// As a service's (kit.Start): the relay is woken by the commits of this pool.
	signal := events.NewCommitSignal(nil)
	db, err := postgres.Open(ctx, postgres.Options{URL: kittest.DatabaseURL(t), Tracer: signal})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(db.Close)
	if err := events.Migrate(ctx, db); err != nil {
		t.Fatal(err)
	}
	relay := events.NewRelay(events.RelayOptions{Name: source, Pool: db, AMQPURL: kittest.AMQPURL(),
		Exchange: p.Exchange, Log: Log(source), PollInterval: 100 * time.Millisecond, Signal: signal})
	runCtx, stop := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- relay.Run(runCtx) }()
	t.Cleanup(func() {
		stop()
		if err := <-done; err != nil {
			t.Errorf("%s relay: %v", source, err)
		}
	})
	return &Publisher{t: t, ctx: ctx, DB: db, Outbox: events.NewOutbox(source)}
}

// Publish writes es to the outbox in one transaction; the relay publishes them.
func (p *Publisher) Publish(es ...events.Event) {
	p.t.Helper()
	if err := pgx.BeginFunc(p.ctx, p.DB, func(tx pgx.Tx) error {
		return p.Outbox.AddBatch(p.ctx, tx, es)
	}); err != nil {
		p.t.Fatal(err)
	}
}

// Run runs a process's wiring (run, bound to addr) in the background and waits until it answers
// /readyz; the test fails when run ends first. The returned stop ends it and fails the test when
// run returned an error; it runs at most once, and when the test ends.
func Run(t testing.TB, ctx context.Context, addr string, run func(ctx context.Context) error) (stop func()) {
	t.Helper()
	runCtx, cancel := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- run(runCtx) }()
	var once sync.Once
	stop = func() {
		once.Do(func() {
			cancel()
			if err := <-done; err != nil {
				t.Errorf("%s: %v", addr, err)
			}
		})
	}
	t.Cleanup(stop)
	WaitFor(t, ctx, addr+" to be ready", func() bool {
		select {
		case err := <-done:
			done <- err // for stop
			t.Fatalf("the process on %s ended before it was ready: %v", addr, err)
		default:
		}
		code, _ := Call(ctx, http.MethodGet, "http://"+addr+"/readyz?full=1", "", "")
		return code == http.StatusOK
	})
	return stop
}

// WaitFor polls ok every 20 ms until it holds; the test fails when ctx ends first.
func WaitFor(t testing.TB, ctx context.Context, what string, ok func() bool) {
	t.Helper()
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	for !ok() {
		select {
		case <-ctx.Done():
			t.Fatalf("waiting for %s: %v", what, ctx.Err())
		case <-tick.C:
		}
	}
}

var client = &http.Client{Timeout: 5 * time.Second}

// Call sends a request with body (none when empty) and, when token is not empty, a bearer token, and
// returns the status and the body; the status is 0, with the error as body, when the request failed.
func Call(ctx context.Context, method, url, token, body string) (int, string) {
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req, err := http.NewRequestWithContext(ctx, method, url, rd)
	if err != nil {
		return 0, err.Error()
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := client.Do(req)
	if err != nil {
		return 0, err.Error()
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return 0, err.Error()
	}
	return resp.StatusCode, string(b)
}

// LintMetrics fails t for every Prometheus naming or convention problem in a /metrics scrape
// (promlint, what testutil.CollectAndLint runs on a collector).
func LintMetrics(t testing.TB, body string) {
	t.Helper()
	problems, err := promlint.New(strings.NewReader(body)).Lint()
	if err != nil {
		t.Fatalf("lint metrics: %v", err)
	}
	for _, p := range problems {
		t.Errorf("metric %s: %s", p.Metric, p.Text)
	}
}

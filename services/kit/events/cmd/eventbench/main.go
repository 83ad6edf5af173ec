// Command eventbench measures the event backbone end to end (outbox → relay → RabbitMQ → consumer
// → inbox) against the local PostgreSQL and RabbitMQ, in a database and exchange of its own that it
// removes afterwards, and prints a markdown table:
//
//	go run ./services/kit/events/cmd/eventbench
//	go run ./services/kit/events/cmd/eventbench -n 20000 -rate 1000 -duration 10s
//
// Ceiling: -n messages through one quorum queue with RabbitMQ alone (events.Ceiling: published in
// batches with confirms as the relay publishes, consumed with manual acks as the consumer acks, no
// database), in the same run, so the backbone's figures can be read as a share of what the broker
// moves on this machine. Throughput: -n events already in the outbox are drained (relay and consumer running), then -n
// more are written by concurrent producers while everything runs; events/s counts from the start
// until the last event is handled (its inbox row committed and the message acked). Latency: after a
// VACUUM of what the throughput runs left, events are written one per transaction at a fixed -rate,
// -warmup unmeasured and then -duration measured; publish-to-handled is from the moment the
// producing transaction's commit returned to the moment the consumer settled the event (its inbox
// transaction committed and the ack sent). -timeline prints the worst latency per window. CPU per
// 1,000 events (Linux, from /proc): what RabbitMQ, the PostgreSQL backends of the benchmark's database
// and eventbench itself used during the first ceiling run and during the drain; where both runs are
// CPU-bound, drain/ceiling is about the inverse of the ratio of their CPU per event.
// POSTGRES_URL and AMQP_URL are read like the services read them.
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net/url"
	"os"
	"os/signal"
	"runtime/pprof"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/inlay-dev/inlay/services/kit/events"
	"github.com/inlay-dev/inlay/services/kit/postgres"
)

type options struct {
	postgresURL, amqpURL string
	n, subjects          int
	rate                 int
	duration, warmup     time.Duration
	producers, perTx     int
	writers              int
	concurrency, batch   int
	prefetch             int
	cpuprofile           string
	signal               bool
	timeline             time.Duration
}

func main() {
	var o options
	flag.StringVar(&o.postgresURL, "postgres", env("POSTGRES_URL", "postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable"), "PostgreSQL server URL")
	flag.StringVar(&o.amqpURL, "amqp", env("AMQP_URL", "amqp://guest:guest@127.0.0.1:5672/"), "RabbitMQ URL")
	flag.IntVar(&o.n, "n", 20000, "events per throughput run")
	flag.IntVar(&o.subjects, "subjects", 1000, "distinct subjects (aggregates)")
	flag.IntVar(&o.rate, "rate", 1000, "events/s for the latency run")
	flag.DurationVar(&o.duration, "duration", 10*time.Second, "length of the latency run")
	flag.DurationVar(&o.warmup, "warmup", 2*time.Second, "unmeasured lead-in of the latency run, at the same rate")
	flag.IntVar(&o.producers, "producers", 8, "concurrent producers in the sustained run")
	flag.IntVar(&o.writers, "writers", 0, "database connections of the producers; 0: pgx's default (max(4, cores)), as the services run")
	flag.IntVar(&o.perTx, "per-tx", 20, "events per producer transaction in the sustained run")
	flag.IntVar(&o.concurrency, "concurrency", 2, "consumer workers (one per core: fewer, fuller transactions)")
	flag.IntVar(&o.batch, "batch", 64, "consumer events per transaction")
	flag.IntVar(&o.prefetch, "prefetch", 1024, "consumer prefetch")
	flag.BoolVar(&o.signal, "signal", true, "wake the relay from the producers' commits (events.CommitSignal, as the services run); false: polling and NOTIFY only")
	flag.StringVar(&o.cpuprofile, "cpuprofile", "", "write a CPU profile of the whole run to this file")
	flag.DurationVar(&o.timeline, "timeline", 0, "print the latency run's events and worst latency per window of this length (stderr)")
	flag.Parse()
	if o.cpuprofile != "" {
		f, err := os.Create(o.cpuprofile)
		if err != nil {
			fmt.Fprintln(os.Stderr, "eventbench:", err)
			os.Exit(1)
		}
		if err := pprof.StartCPUProfile(f); err != nil {
			fmt.Fprintln(os.Stderr, "eventbench:", err)
			os.Exit(1)
		}
		defer func() {
			pprof.StopCPUProfile()
			f.Close()
		}()
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, o, os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "eventbench:", err)
		os.Exit(1)
	}
}

func env(name, def string) string {
	if v := os.Getenv(name); v != "" {
		return v
	}
	return def
}

const eventType = "bench.thing.happened.v1"

// warmupPrefix marks the subjects of the latency run's warm-up events, which are not measured.
const warmupPrefix = "warmup-"

// bench is one run's wiring and bookkeeping.
type bench struct {
	pool    *pgxpool.Pool
	outbox  *events.Outbox
	handled atomic.Int64
	dups    atomic.Int64
	early   atomic.Int64 // handled before its producer saw the commit return
	mu      sync.Mutex
	lat     []time.Duration
	at      []time.Time // when each measured event's commit returned (for -timeline)
	measure atomic.Bool
	commits sync.Map // event id → when its producing transaction committed (latency run)
	done    chan struct{}
	target  atomic.Int64
}

func run(ctx context.Context, o options, out io.Writer) error {
	u, err := url.Parse(o.postgresURL)
	if err != nil {
		return fmt.Errorf("POSTGRES_URL: %w", err)
	}
	suffix := uuid.NewString()[:8]
	u.Path = "/inlay_eventbench_" + suffix
	dbURL := u.String()
	exchange := "inlay.bench." + suffix
	pool, err := postgres.Open(ctx, postgres.Options{URL: dbURL, CreateDatabase: true, MaxConns: int32(o.concurrency + 8)})
	if err != nil {
		return err
	}
	defer func() {
		pool.Close()
		cctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		if err := postgres.DropDatabase(cctx, dbURL); err != nil {
			fmt.Fprintln(os.Stderr, "eventbench: drop database:", err)
		}
	}()
	if err := events.Migrate(ctx, pool); err != nil {
		return err
	}
	// Producers get a pool of their own, as a service's request handlers would not queue the relay
	// and consumer behind hundreds of waiting writers. It is sized as the services' pools are (pgx's
	// default): more connections only add commits contending for the same two cores.
	var signal *events.CommitSignal
	wopts := postgres.Options{URL: dbURL, MaxConns: int32(o.writers)}
	if o.signal {
		signal = events.NewCommitSignal(nil)
		wopts.Tracer = signal
	}
	wpool, err := postgres.Open(ctx, wopts)
	if err != nil {
		return err
	}
	defer wpool.Close()
	log := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	b := &bench{pool: wpool, outbox: events.NewOutbox("bench"), done: make(chan struct{}, 1)}

	consumer := events.NewConsumer(events.ConsumerOptions{
		Name: "bench", Pool: pool, AMQPURL: o.amqpURL, Exchange: exchange, Log: log,
		Concurrency: o.concurrency, BatchSize: o.batch, Prefetch: o.prefetch,
		OnSettled: b.settled,
	})
	consumer.Handle(eventType, func(ctx context.Context, tx pgx.Tx, e events.Event) error { return nil })
	defer func() {
		cctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		if err := consumer.DeleteQueues(cctx); err != nil {
			fmt.Fprintln(os.Stderr, "eventbench:", err)
		}
		if err := events.DeleteExchange(cctx, o.amqpURL, exchange); err != nil {
			fmt.Fprintln(os.Stderr, "eventbench:", err)
		}
	}()
	relay := events.NewRelay(events.RelayOptions{Name: "bench", Pool: pool, AMQPURL: o.amqpURL, Exchange: exchange, Log: log, Signal: signal})

	rctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var wg sync.WaitGroup
	defer wg.Wait()
	defer cancel()
	start := func(name string, f func(context.Context) error) {
		wg.Go(func() {
			if err := f(rctx); err != nil {
				fmt.Fprintf(os.Stderr, "eventbench: %s: %v\n", name, err)
				cancel()
			}
		})
	}
	start("consumer", consumer.Run)
	if err := waitReady(ctx, consumer); err != nil {
		return err
	}

	// 0. Ceiling: RabbitMQ alone moving n messages (an event's JSON each) through one quorum queue,
	// published and acknowledged as the relay and the consumer do, with no database.
	sample, err := b.outbox.New(eventType, "s-0", map[string]int{"n": 0})
	if err != nil {
		return err
	}
	body, err := json.Marshal(sample)
	if err != nil {
		return err
	}
	// It runs before the drain and again after the sustained run, and the drain is compared with
	// their mean: on a shared machine the load moves within one run.
	ceilingRun := func() (float64, error) {
		took, err := events.Ceiling(ctx, events.CeilingOptions{AMQPURL: o.amqpURL, Exchange: exchange,
			Queue: exchange + ".ceiling", Messages: o.n, Body: body, Prefetch: o.prefetch, AckEvery: o.batch})
		if err != nil {
			return 0, fmt.Errorf("ceiling: %w", err)
		}
		return float64(o.n) / took.Seconds(), nil
	}
	dbName := strings.TrimPrefix(u.Path, "/")
	use0 := readUse(dbName)
	ceiling1, err := ceilingRun()
	if err != nil {
		return err
	}
	ceilingUse := readUse(dbName).per1000(use0, o.n, false)

	// 1. Drain: n events already in the outbox when the relay starts.
	if err := b.write(ctx, o.n, o.subjects, 1, 500); err != nil {
		return err
	}
	b.target.Store(int64(o.n))
	use0 = readUse(dbName)
	t0 := time.Now()
	start("relay", relay.Run)
	if err := b.wait(ctx, 2*time.Minute); err != nil {
		return fmt.Errorf("drain: %w", err)
	}
	drain := float64(o.n) / time.Since(t0).Seconds()
	drainUse := readUse(dbName).per1000(use0, o.n, true)

	// 2. Sustained: producers write n more (transactions of 10) while relay and consumer run.
	b.target.Add(int64(o.n))
	t0 = time.Now()
	if err := b.write(ctx, o.n, o.subjects, o.producers, o.perTx); err != nil {
		return err
	}
	if err := b.wait(ctx, 2*time.Minute); err != nil {
		return fmt.Errorf("sustained: %w", err)
	}
	sustained := float64(o.n) / time.Since(t0).Seconds()
	ceiling2, err := ceilingRun()
	if err != nil {
		return err
	}
	ceiling := (ceiling1 + ceiling2) / 2

	// The throughput runs leave 2n updated outbox rows and 2n inbox rows; autovacuum would clean
	// them up during the latency run. Do it now, so that the latency run measures the backbone at a
	// steady rate rather than the aftermath of the bursts.
	if _, err := pool.Exec(ctx, `VACUUM (ANALYZE) inlay_outbox, inlay_outbox_published, inlay_inbox`); err != nil {
		return fmt.Errorf("vacuum after the throughput runs: %w", err)
	}

	// 3. Latency at a fixed rate, one event per transaction, after -warmup at the same rate (the
	// producers' pool grows to the connections the rate needs; the warm-up events are handled but
	// not measured).
	warm := int(float64(o.rate) * o.warmup.Seconds())
	total := int(float64(o.rate) * o.duration.Seconds())
	b.target.Add(int64(warm + total))
	b.measure.Store(true)
	// Open loop: each event is written on its own schedule by its own goroutine (at most 256 at
	// once), so a slow commit delays only its own event, as with independent requests.
	interval := time.Second / time.Duration(o.rate)
	sem := make(chan struct{}, 256)
	var pw sync.WaitGroup
	var perr atomic.Value
	var fromSeq int64
	var cpu0 cpuTimes
	t0 = time.Now()
	for i := range warm + total {
		if d := time.Until(t0.Add(time.Duration(i) * interval)); d > 0 {
			select {
			case <-ctx.Done():
				return ctx.Err()
			case <-time.After(d):
			}
		}
		subject := fmt.Sprintf("s-%d", i%o.subjects)
		if i < warm {
			subject = warmupPrefix + subject
		} else if i == warm {
			// Everything written from here on is measured.
			if err := wpool.QueryRow(ctx, `SELECT GREATEST((SELECT max(seq) FROM inlay_outbox), (SELECT max(seq) FROM inlay_outbox_published), 0)`).Scan(&fromSeq); err != nil {
				return fmt.Errorf("read outbox position: %w", err)
			}
			cpu0 = readCPU()
		}
		sem <- struct{}{}
		pw.Go(func() {
			defer func() { <-sem }()
			if err := b.add(ctx, i, subject); err != nil {
				perr.Store(err)
			}
		})
	}
	pw.Wait()
	if err, ok := perr.Load().(error); ok {
		return err
	}
	achieved := float64(warm+total) / time.Since(t0).Seconds()
	cpuBusy := readCPU().busySince(cpu0)
	if err := b.wait(ctx, time.Minute); err != nil {
		return fmt.Errorf("latency run: %w", err)
	}
	// The relay's share: from the row's insert to its mark as sent (after the broker's confirm).
	var relayP50, relayP99 float64
	if err := pool.QueryRow(ctx, `SELECT
		COALESCE(percentile_cont(0.5) WITHIN GROUP (ORDER BY EXTRACT(EPOCH FROM sent_at - created_at)), 0)::float8,
		COALESCE(percentile_cont(0.99) WITHIN GROUP (ORDER BY EXTRACT(EPOCH FROM sent_at - created_at)), 0)::float8
		FROM inlay_outbox_published WHERE seq > $1`, fromSeq).Scan(&relayP50, &relayP99); err != nil {
		return fmt.Errorf("measure relay latency: %w", err)
	}
	if o.timeline > 0 {
		b.mu.Lock()
		printTimeline(os.Stderr, b.at, b.lat, o.timeline)
		b.mu.Unlock()
	}
	b.mu.Lock()
	lat := slices.Clone(b.lat)
	b.mu.Unlock()
	slices.Sort(lat)
	pct := func(p float64) string {
		if len(lat) == 0 {
			return "-"
		}
		return fmt.Sprintf("%.2f ms", float64(lat[min(len(lat)-1, int(p*float64(len(lat))))])/1e6)
	}

	fmt.Fprintf(out, "| event backbone (outbox → relay → RabbitMQ → consumer → inbox) | value |\n|---|---|\n")
	fmt.Fprintf(out, "| ceiling: RabbitMQ alone, %d messages through one quorum queue (batches of 500 with confirms, manual acks per %d; no database), before the drain / after the sustained run | %.0f / %.0f messages/s |\n", o.n, o.batch, ceiling1, ceiling2)
	fmt.Fprintf(out, "| throughput, draining %d queued outbox rows | %.0f events/s |\n", o.n, drain)
	fmt.Fprintf(out, "| draining / ceiling (the mean of the two; target ≥ 0.8) | %.2f× |\n", drain/ceiling)
	fmt.Fprintf(out, "| CPU per 1,000 messages, ceiling (the first) | %s |\n", ceilingUse)
	fmt.Fprintf(out, "| CPU per 1,000 events, draining (PostgreSQL: the backends of the benchmark's database) | %s |\n", drainUse)
	fmt.Fprintf(out, "| throughput, %d events written by %d producers (%d per tx) while relaying | %.0f events/s |\n", o.n, o.producers, o.perTx, sustained)
	fmt.Fprintf(out, "| latency run: rate achieved (target %d/s for %s after %s of warm-up, 1 event per tx) | %.0f events/s |\n", o.rate, o.duration, o.warmup, achieved)
	fmt.Fprintf(out, "| latency run: machine CPU busy (all processes: producers, PostgreSQL, RabbitMQ, relay, consumer) | %s |\n", cpuBusy)
	fmt.Fprintf(out, "| publish → handled p50 | %s |\n", pct(0.50))
	fmt.Fprintf(out, "| publish → handled p99 (target ≤ 25 ms) | %s |\n", pct(0.99))
	fmt.Fprintf(out, "| publish → handled max | %s |\n", pct(1))
	fmt.Fprintf(out, "| of which outbox insert → marked sent (relay + broker confirm) p50 / p99 | %.2f ms / %.2f ms |\n", relayP50*1e3, relayP99*1e3)
	fmt.Fprintf(out, "| duplicates skipped | %d |\n", b.dups.Load())
	if n := b.early.Load(); n > 0 {
		fmt.Fprintf(out, "| handled before the producer's commit returned (counted as 0 ms) | %d |\n", n)
	}
	fmt.Fprintf(out, "\nconsumer: %d workers, %d events/tx, prefetch %d; %d subjects; relay woken by the producers' commits: %t\n", o.concurrency, o.batch, o.prefetch, o.subjects, o.signal)
	return nil
}

func waitReady(ctx context.Context, c *events.Consumer) error {
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	tick := time.NewTicker(10 * time.Millisecond)
	defer tick.Stop()
	for c.Ready(ctx) != nil {
		select {
		case <-ctx.Done():
			return fmt.Errorf("consumer not ready: %w", ctx.Err())
		case <-tick.C:
		}
	}
	return nil
}

func (b *bench) settled(e events.Event, outcome string) {
	switch outcome {
	case "applied":
		if b.measure.Load() && !strings.HasPrefix(e.Subject, warmupPrefix) {
			now := time.Now()
			var d time.Duration
			if v, loaded := b.commits.LoadOrStore(e.ID, now); loaded {
				b.commits.Delete(e.ID)
				d = now.Sub(v.(time.Time))
			} else {
				b.early.Add(1) // handled before the producer's commit returned: counted as 0
			}
			b.mu.Lock()
			b.lat = append(b.lat, d)
			b.at = append(b.at, now.Add(-d))
			b.mu.Unlock()
		}
		if b.handled.Add(1) == b.target.Load() {
			select {
			case b.done <- struct{}{}:
			default:
			}
		}
	case "duplicate":
		b.dups.Add(1)
	}
}

// wait blocks until the handled count reaches the target.
func (b *bench) wait(ctx context.Context, timeout time.Duration) error {
	t := time.NewTimer(timeout)
	defer t.Stop()
	for b.handled.Load() < b.target.Load() {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-t.C:
			return fmt.Errorf("only %d of %d events handled after %s", b.handled.Load(), b.target.Load(), timeout)
		case <-b.done:
		}
	}
	return nil
}

// write adds n events over subjects from producers goroutines, perTx per transaction.
func (b *bench) write(ctx context.Context, n, subjects, producers, perTx int) error {
	var next atomic.Int64
	errs := make(chan error, producers)
	var wg sync.WaitGroup
	for range producers {
		wg.Go(func() {
			for {
				from := int(next.Add(int64(perTx))) - perTx
				if from >= n {
					errs <- nil
					return
				}
				cnt := min(perTx, n-from)
				if err := b.addMany(ctx, from, cnt, subjects); err != nil {
					errs <- err
					return
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	var all []error
	for err := range errs {
		all = append(all, err)
	}
	return errors.Join(all...)
}

func (b *bench) addMany(ctx context.Context, from, cnt, subjects int) error {
	return pgx.BeginFunc(ctx, b.pool, func(tx pgx.Tx) error {
		es := make([]events.Event, 0, cnt)
		for i := from; i < from+cnt; i++ {
			e, err := b.outbox.New(eventType, fmt.Sprintf("s-%d", i%subjects), map[string]int{"n": i})
			if err != nil {
				return err
			}
			es = append(es, e)
		}
		if len(es) == 1 {
			return b.outbox.Add(ctx, tx, es[0])
		}
		return b.outbox.AddBatch(ctx, tx, es)
	})
}

// add writes one event in its own transaction and records when the commit returned: the event is
// published from then on, so publish → handled starts there.
func (b *bench) add(ctx context.Context, n int, subject string) error {
	e, err := b.outbox.New(eventType, subject, map[string]int{"n": n})
	if err != nil {
		return err
	}
	if err := pgx.BeginFunc(ctx, b.pool, func(tx pgx.Tx) error {
		return b.outbox.Add(ctx, tx, e)
	}); err != nil {
		return err
	}
	if _, loaded := b.commits.LoadOrStore(e.ID, time.Now()); loaded {
		b.commits.Delete(e.ID) // already handled (see settled)
	}
	return nil
}

// cpuTimes are the machine's CPU counters from /proc/stat (Linux), in clock ticks.
type cpuTimes struct{ busy, total uint64 }

func readCPU() cpuTimes {
	b, err := os.ReadFile("/proc/stat")
	if err != nil {
		return cpuTimes{}
	}
	line, _, _ := strings.Cut(string(b), "\n")
	fields := strings.Fields(line)
	var t cpuTimes
	for i, f := range fields[1:] {
		v, err := strconv.ParseUint(f, 10, 64)
		if err != nil {
			return cpuTimes{}
		}
		t.total += v
		if i != 3 && i != 4 { // idle, iowait
			t.busy += v
		}
	}
	return t
}

// busySince is the share of CPU time spent busy since t0, "-" where /proc/stat is missing.
func (t cpuTimes) busySince(t0 cpuTimes) string {
	if t.total <= t0.total || t0.total == 0 {
		return "-"
	}
	return fmt.Sprintf("%.0f%%", 100*float64(t.busy-t0.busy)/float64(t.total-t0.total))
}

// printTimeline writes, per window of the latency run (by commit time), how many events were
// committed and the worst publish-to-handled latency among them: a stall shows as one bad window,
// a saturated machine as many.
func printTimeline(w io.Writer, at []time.Time, lat []time.Duration, window time.Duration) {
	if len(at) == 0 {
		return
	}
	t0 := slices.MinFunc(at, func(a, b time.Time) int { return a.Compare(b) })
	n := map[int]int{}
	worst := map[int]time.Duration{}
	last := 0
	for i, t := range at {
		k := int(t.Sub(t0) / window)
		n[k]++
		worst[k] = max(worst[k], lat[i])
		last = max(last, k)
	}
	for k := 0; k <= last; k++ {
		fmt.Fprintf(w, "%8s  %5d events  worst %s\n", (time.Duration(k) * window).String(), n[k], worst[k].Round(100*time.Microsecond))
	}
}

package events

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	amqp "github.com/rabbitmq/amqp091-go"
)

const testType = "test.thing.happened.v1"

func TestRoundTrip(t *testing.T) {
	t.Parallel()
	env := newEnv(t)
	reg := prometheus.NewRegistry()
	got := make(chan Event, 1)
	var gotTrace atomic.Value
	c, _ := env.startConsumer(t, ConsumerOptions{Registry: reg}, map[string]Handler{
		testType: func(ctx context.Context, tx pgx.Tx, e Event) error {
			gotTrace.Store(TraceparentFrom(ctx))
			if err := record(ctx, tx, e); err != nil {
				return err
			}
			got <- e
			return nil
		},
	})
	r, _ := env.startRelay(t, RelayOptions{Registry: reg})

	tp := "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"
	ctx := ContextWithTraceparent(context.Background(), tp)
	sent := env.add(t, ctx, testType, "thing-1", 7, 8)[0]

	var e Event
	select {
	case e = <-got:
	case <-time.After(10 * time.Second):
		t.Fatal("event not handled within 10s")
	}
	if e.ID != sent.ID || e.Type != testType || e.Source != "test" || e.Subject != "thing-1" ||
		!e.Time.Equal(sent.Time) || e.Traceparent != tp {
		t.Fatalf("handled %+v, want %+v", e, sent)
	}
	var p payload
	if err := e.DecodeData(&p); err != nil || p.Seq != 7 {
		t.Fatalf("data = %s (%v)", e.Data, err)
	}
	if gotTrace.Load() != tp {
		t.Fatalf("handler context traceparent = %v, want %s", gotTrace.Load(), tp)
	}
	waitFor(t, 10*time.Second, "the row marked sent", func() bool {
		return env.count(t, `SELECT count(*) FROM inlay_outbox`) == 0 &&
			env.count(t, `SELECT count(*) FROM inlay_outbox_published WHERE id = $1 AND sent_at >= created_at`, e.ID) == 1
	})
	waitFor(t, 10*time.Second, "the ack", func() bool { return c.handledCount(t, testType, "applied") == 1 })
	if n := env.count(t, `SELECT count(*) FROM inlay_inbox WHERE consumer = 'svc' AND event_id = $1`, e.ID); n != 1 {
		t.Fatalf("inbox rows = %d", n)
	}
	// Counted once the mark has committed, which the wait above saw: wait for the count too.
	waitFor(t, 10*time.Second, "the published metric at 1", func() bool { return value(t, r.metrics.published) == 1 })
	families, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	problems, err := testutil.GatherAndLint(reg)
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range problems {
		t.Errorf("metric %s: %s", p.Metric, p.Text)
	}
	names := map[string]bool{}
	for _, f := range families {
		names[f.GetName()] = true
	}
	for _, n := range []string{"inlay_events_outbox_backlog", "inlay_events_outbox_oldest_age_seconds",
		"inlay_events_published_total", "inlay_events_handled_total", "inlay_events_consume_lag_seconds",
		"inlay_events_parked_messages"} {
		if !names[n] {
			t.Errorf("metric %s not registered", n)
		}
	}
}

func TestDuplicateAppliesOnce(t *testing.T) {
	t.Parallel()
	env := newEnv(t)
	c, _ := env.startConsumer(t, ConsumerOptions{}, map[string]Handler{testType: record})
	e, err := New("test", testType, "thing-1", payload{Seq: 1})
	if err != nil {
		t.Fatal(err)
	}
	body, _ := e.Marshal()
	msg := amqp.Publishing{MessageId: e.ID, Body: body, Headers: amqp.Table{HeaderSubject: e.Subject}, DeliveryMode: amqp.Persistent}
	env.publishRaw(t, testType, msg)
	env.publishRaw(t, testType, msg)

	waitFor(t, 10*time.Second, "both deliveries", func() bool {
		return c.handledCount(t, testType, "applied")+c.handledCount(t, testType, "duplicate") == 2
	})
	if n := env.count(t, `SELECT count(*) FROM applied`); n != 1 {
		t.Fatalf("applied %d times, want 1", n)
	}
	if d := c.handledCount(t, testType, "duplicate"); d != 1 {
		t.Fatalf("duplicates = %v, want 1", d)
	}
}

func TestFailingTwiceThenSucceeding(t *testing.T) {
	t.Parallel()
	env := newEnv(t)
	var calls atomic.Int32
	c, _ := env.startConsumer(t, ConsumerOptions{MaxAttempts: 5}, map[string]Handler{
		testType: func(ctx context.Context, tx pgx.Tx, e Event) error {
			if err := record(ctx, tx, e); err != nil {
				return err
			}
			if calls.Add(1) <= 2 {
				return errBoom // the recorded row is rolled back
			}
			return nil
		},
	})
	env.startRelay(t, RelayOptions{})
	env.add(t, context.Background(), testType, "thing-1", 1, 2)

	waitFor(t, 10*time.Second, "the third attempt", func() bool { return c.handledCount(t, testType, "applied") == 1 })
	if n := calls.Load(); n != 3 {
		t.Fatalf("handler called %d times, want 3", n)
	}
	if n := env.count(t, `SELECT count(*) FROM applied`); n != 1 {
		t.Fatalf("applied %d times, want 1", n)
	}
	if r := value(t, c.metrics.retries); r != 2 {
		t.Fatalf("retries = %v, want 2", r)
	}
	if p := value(t, c.metrics.parked); p != 0 {
		t.Fatalf("parked = %v", p)
	}
}

func TestPoisonParkedAndReplayed(t *testing.T) {
	t.Parallel()
	env := newEnv(t)
	var broken atomic.Bool
	broken.Store(true)
	c, _ := env.startConsumer(t, ConsumerOptions{MaxAttempts: 3}, map[string]Handler{
		testType: func(ctx context.Context, tx pgx.Tx, e Event) error {
			if broken.Load() {
				return fmt.Errorf("cannot apply %s: %w", e.Subject, errBoom)
			}
			return record(ctx, tx, e)
		},
		"test.thing.*.v2": record,
	})
	env.startRelay(t, RelayOptions{})
	poison := env.add(t, context.Background(), testType, "thing-1", 1, 2)[0]
	// Garbage, an envelope of a version nobody handles, and a valid v2 event that is not JSON in data.
	env.publishRaw(t, testType, amqp.Publishing{MessageId: "garbage-1", Body: []byte("not json")})
	// A binding left over from an earlier deployment brings a version nobody handles any more.
	env.bind(t, c.Queue(), "test.thing.happened.v3")
	v3, _ := New("test", "test.thing.happened.v3", "thing-2", payload{Seq: 1})
	body, _ := v3.Marshal()
	env.publishRaw(t, "test.thing.happened.v3", amqp.Publishing{MessageId: v3.ID, Body: body})
	// An envelope whose type is not its routing key.
	lie, _ := New("test", "test.thing.happened.v3", "thing-2", payload{Seq: 1})
	body, _ = lie.Marshal()
	env.publishRaw(t, testType, amqp.Publishing{MessageId: lie.ID, Body: body})
	v2, _ := New("test", "test.thing.happened.v2", "thing-3", []byte(`"a string"`))
	body, _ = v2.Marshal()
	env.publishRaw(t, "test.thing.happened.v2", amqp.Publishing{MessageId: v2.ID, Body: body})

	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	var parked []Parked
	waitFor(t, 10*time.Second, "five parked messages", func() bool {
		var err error
		parked, err = ListParked(ctx, env.amqpURL, env.exchange, "svc", 0)
		if err != nil {
			t.Fatal(err)
		}
		return len(parked) == 5
	})
	reasons := map[string]Parked{}
	for _, p := range parked {
		reasons[p.EventID] = p
	}
	for id, want := range map[string]string{
		poison.ID:   "boom",
		"garbage-1": "malformed envelope",
		v3.ID:       "no handler for event type \"test.thing.happened.v3\"",
		v2.ID:       "permanent",
		lie.ID:      "does not match routing key",
	} {
		p, ok := reasons[id]
		if !ok || !strings.Contains(p.Reason, want) {
			t.Errorf("parked %s = %+v, want reason with %q", id, p, want)
		}
	}
	if p := reasons[poison.ID]; p.Attempts != 3 || p.Type != testType || p.ParkedAt.IsZero() || p.Subject != "thing-1" {
		t.Errorf("parked poison = %+v, want 3 attempts, type, subject and time", p)
	}
	if v := value(t, c.metrics.parked); v != 5 {
		t.Errorf("parked metric = %v", v)
	}

	// Fixed: replay only the poison message; the rest stay parked.
	broken.Store(false)
	n, err := ReplayParked(ctx, env.amqpURL, env.exchange, "svc", poison.ID)
	if err != nil || n != 1 {
		t.Fatalf("ReplayParked = %d, %v", n, err)
	}
	waitFor(t, 10*time.Second, "the replayed event applied", func() bool {
		return env.count(t, `SELECT count(*) FROM applied WHERE event_id = $1`, poison.ID) == 1
	})
	left, err := ListParked(ctx, env.amqpURL, env.exchange, "svc", 0)
	if err != nil || len(left) != 4 {
		t.Fatalf("left parked = %d (%v), want 4", len(left), err)
	}
	// Replaying it again (it was already applied) applies nothing twice.
	if _, err := ReplayParked(ctx, env.amqpURL, env.exchange, "svc"); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 10*time.Second, "the replays parked again", func() bool {
		l, err := ListParked(ctx, env.amqpURL, env.exchange, "svc", 0)
		return err == nil && len(l) == 4 && value(t, c.metrics.parked) == 9
	})
	if n := env.count(t, `SELECT count(*) FROM applied`); n != 1 {
		t.Fatalf("applied %d rows, want 1", n)
	}
}

func TestRelayKilledBetweenPublishAndMark(t *testing.T) {
	t.Parallel()
	env := newEnv(t)
	c, _ := env.startConsumer(t, ConsumerOptions{}, map[string]Handler{testType: record})
	env.add(t, context.Background(), testType, "thing-1", 0, 10)

	var stop1 func()
	confirmed := make(chan struct{})
	var once sync.Once
	_, stop1 = env.startRelay(t, RelayOptions{afterConfirm: func() error {
		once.Do(func() { close(confirmed) })
		return fmt.Errorf("killed: %w", errBoom)
	}})
	<-confirmed
	stop1()
	waitFor(t, 10*time.Second, "the published events applied", func() bool {
		return env.count(t, `SELECT count(*) FROM applied`) == 10
	})
	if n := env.count(t, `SELECT count(*) FROM inlay_outbox WHERE sent_at IS NULL`); n != 10 {
		t.Fatalf("%d rows unsent after the kill, want 10", n)
	}

	env.startRelay(t, RelayOptions{})
	waitFor(t, 10*time.Second, "the rows marked sent", func() bool {
		return env.count(t, `SELECT count(*) FROM inlay_outbox WHERE sent_at IS NULL`) == 0
	})
	waitFor(t, 10*time.Second, "the republished events skipped", func() bool {
		return c.handledCount(t, testType, "duplicate") >= 10
	})
	if n := env.count(t, `SELECT count(*) FROM applied`); n != 10 {
		t.Fatalf("applied %d rows, want 10", n)
	}
}

func TestConnectionDroppedMidStream(t *testing.T) {
	t.Parallel()
	env := newEnv(t)
	px, viaProxy := newProxy(t)
	const subjects, perSubject = 20, 50
	const total = subjects * perSubject
	var handled atomic.Int32
	var drops atomic.Int32
	firstDrop := make(chan struct{})
	c, _ := env.startConsumer(t, ConsumerOptions{AMQPURL: viaProxy, Prefetch: 100, Concurrency: 4, BatchSize: 16},
		map[string]Handler{testType: func(ctx context.Context, tx pgx.Tx, e Event) error {
			// Cut every broker connection (relay and consumer) twice while events flow: once in the
			// first half, once while the second half is being written.
			switch handled.Add(1) {
			case 300:
				go func() { drops.Add(int32(px.dropAll())); close(firstDrop) }()
			case 700:
				go func() { drops.Add(int32(px.dropAll())) }()
			}
			return record(ctx, tx, e)
		}})
	env.startRelay(t, RelayOptions{AMQPURL: viaProxy, BatchSize: 100})
	write := func(from, to int) {
		var wg sync.WaitGroup
		for s := range subjects {
			wg.Go(func() {
				for i := from; i < to; i += 5 {
					env.add(t, context.Background(), testType, fmt.Sprintf("thing-%d", s), i, i+5)
				}
			})
		}
		wg.Wait()
	}
	write(0, perSubject/2)
	select {
	case <-firstDrop:
	case <-time.After(20 * time.Second):
		t.Fatal("the first half was not consumed")
	}
	write(perSubject/2, perSubject)

	waitFor(t, 40*time.Second, "all 1,000 events applied", func() bool {
		return env.count(t, `SELECT count(DISTINCT event_id) FROM applied`) == total
	})
	waitFor(t, 20*time.Second, "the outbox drained", func() bool {
		return env.count(t, `SELECT count(*) FROM inlay_outbox WHERE sent_at IS NULL`) == 0
	})
	if n := env.count(t, `SELECT count(*) FROM applied`); n != total {
		t.Fatalf("applied %d rows for %d events: some applied twice", n, total)
	}
	if n := env.count(t, `SELECT count(*) FROM inlay_inbox`); n != total {
		t.Fatalf("inbox has %d rows, want %d", n, total)
	}
	if drops.Load() < 4 {
		t.Fatalf("dropped %d connections, want the relay's and the consumer's twice", drops.Load())
	}
	t.Logf("dropped %d connections; %d handler calls, %v duplicates skipped",
		drops.Load(), handled.Load(), c.handledCount(t, testType, "duplicate"))
}

func TestLateCommitIsPublished(t *testing.T) {
	t.Parallel()
	env := newEnv(t)
	env.startConsumer(t, ConsumerOptions{}, map[string]Handler{testType: record})
	env.startRelay(t, RelayOptions{})
	ctx := context.Background()
	// tx takes the lower seq but commits after a later event is already published.
	tx, err := env.pool.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = tx.Rollback(ctx) }()
	early, _ := New("test", testType, "thing-1", payload{Seq: 1})
	if err := env.outbox.Add(ctx, tx, early); err != nil {
		t.Fatal(err)
	}
	later := env.add(t, ctx, testType, "thing-2", 2, 3)[0]
	waitFor(t, 10*time.Second, "the later event applied", func() bool {
		return env.count(t, `SELECT count(*) FROM applied WHERE event_id = $1`, later.ID) == 1
	})
	if err := tx.Commit(ctx); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 10*time.Second, "the late event applied", func() bool {
		return env.count(t, `SELECT count(*) FROM applied WHERE event_id = $1`, early.ID) == 1
	})
}

func TestIdleRelayWakesOnNotify(t *testing.T) {
	t.Parallel()
	env := newEnv(t)
	got := make(chan Event, 1)
	env.startConsumer(t, ConsumerOptions{}, map[string]Handler{testType: func(ctx context.Context, tx pgx.Tx, e Event) error {
		got <- e
		return nil
	}})
	// A backup poll far beyond the test: only NOTIFY (or the short grace after going idle) can
	// wake the relay.
	env.startRelay(t, RelayOptions{PollInterval: time.Hour})
	waitFor(t, 10*time.Second, "the relay listening", func() bool {
		return env.count(t, `SELECT count(*) FROM inlay_outbox_relay WHERE listening`) == 1
	})
	for i := range 3 {
		sent := env.add(t, context.Background(), testType, "thing-1", i, i+1)[0]
		select {
		case e := <-got:
			if e.ID != sent.ID {
				t.Fatalf("got %s, want %s", e.ID, sent.ID)
			}
		case <-time.After(10 * time.Second):
			t.Fatalf("event %d not delivered: the relay did not wake", i)
		}
	}
}

func TestOrderPerSubjectWithTwoRelays(t *testing.T) {
	t.Parallel()
	env := newEnv(t)
	const subjects, perSubject = 8, 100
	var mu sync.Mutex
	last := map[string]int{}
	var outOfOrder []string
	env.startConsumer(t, ConsumerOptions{Concurrency: 4, BatchSize: 8, Prefetch: 64}, map[string]Handler{
		testType: func(ctx context.Context, tx pgx.Tx, e Event) error {
			var p payload
			if err := e.DecodeData(&p); err != nil {
				return err
			}
			mu.Lock()
			if prev, ok := last[e.Subject]; (ok && p.Seq != prev+1) || (!ok && p.Seq != 0) {
				outOfOrder = append(outOfOrder, fmt.Sprintf("%s: %d after %d", e.Subject, p.Seq, prev))
			}
			last[e.Subject] = p.Seq
			mu.Unlock()
			return record(ctx, tx, e)
		}})
	// Two relays on one outbox: one publishes, the other stands by.
	env.startRelay(t, RelayOptions{Name: "one", BatchSize: 50})
	env.startRelay(t, RelayOptions{Name: "two", BatchSize: 50})
	var wg sync.WaitGroup
	for s := range subjects {
		wg.Go(func() {
			for from := 0; from < perSubject; from += 5 {
				env.add(t, context.Background(), testType, fmt.Sprintf("thing-%d", s), from, from+5)
			}
		})
	}
	wg.Wait()
	waitFor(t, 30*time.Second, "all events applied", func() bool {
		return env.count(t, `SELECT count(*) FROM applied`) == subjects*perSubject
	})
	mu.Lock()
	defer mu.Unlock()
	if len(outOfOrder) > 0 {
		t.Fatalf("out of order: %v", outOfOrder)
	}
	// The database agrees: per subject, commit order follows seq.
	if n := env.count(t, `SELECT count(*) FROM (SELECT seq, lag(seq) OVER (PARTITION BY subject ORDER BY n) AS prev
		FROM applied) s WHERE prev IS NOT NULL AND seq <> prev + 1`); n != 0 {
		t.Fatalf("%d rows applied out of order", n)
	}
}

func TestRelayRetentionAndBacklogMetrics(t *testing.T) {
	t.Parallel()
	env := newEnv(t)
	env.add(t, context.Background(), testType, "thing-1", 0, 5)
	// Nothing is bound to the exchange: the events are confirmed and dropped by the broker.
	r, _ := env.startRelay(t, RelayOptions{Retention: time.Millisecond, PollInterval: 20 * time.Millisecond})
	waitFor(t, 10*time.Second, "sent rows and their records deleted", func() bool {
		return env.count(t, `SELECT count(*) FROM inlay_outbox`) == 0 &&
			env.count(t, `SELECT count(*) FROM inlay_outbox_published`) == 0
	})
	waitFor(t, 10*time.Second, "the published metric at 5", func() bool { return value(t, r.metrics.published) == 5 })
	waitFor(t, 10*time.Second, "backlog gauge at zero", func() bool {
		return value(t, r.metrics.backlog) == 0 && value(t, r.metrics.oldest) == 0
	})
}

func TestMigrateIsIdempotentAndConcurrent(t *testing.T) {
	t.Parallel()
	env := newEnv(t) // migrated once already
	var wg sync.WaitGroup
	errs := make(chan error, 4)
	for range 4 {
		wg.Go(func() {
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			errs <- Migrate(ctx, env.pool)
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
}

package events

import (
	"context"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
)

// signalledPool opens a second pool on env's database whose tracer is a CommitSignal.
func (env *testEnv) signalledPool(t *testing.T) (*pgxpool.Pool, *CommitSignal) {
	t.Helper()
	cfg, err := pgxpool.ParseConfig(env.pool.Config().ConnString())
	if err != nil {
		t.Fatal(err)
	}
	sig := NewCommitSignal(nil)
	cfg.ConnConfig.Tracer = sig
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(pool.Close)
	return pool, sig
}

// signalled reports whether sig has a wake-up waiting, and takes it. The tracer runs inside the
// statement's call, so a wake-up is there as soon as the call that caused it has returned.
func signalled(sig *CommitSignal) bool {
	select {
	case <-sig.wakeups():
		return true
	default:
		return false
	}
}

func TestCommitSignal(t *testing.T) {
	t.Parallel()
	env := newEnv(t)
	pool, sig := env.signalledPool(t)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	event := func() Event {
		e, err := New("test", testType, "thing-1", payload{Seq: 1})
		if err != nil {
			t.Fatal(err)
		}
		return e
	}

	if _, err := pool.Exec(ctx, `INSERT INTO applied (event_id, subject, seq) VALUES (gen_random_uuid(), 'x', 1)`); err != nil {
		t.Fatal(err)
	}
	if _, err := pool.Exec(ctx, `INSERT INTO inlay_outbox_relay (id, listening) VALUES (1, true)`); err != nil {
		t.Fatal(err)
	}
	if signalled(sig) {
		t.Fatal("signalled by statements that do not write the outbox")
	}

	// Add in a transaction: nothing until the commit.
	tx, err := pool.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if err := env.outbox.Add(ctx, tx, event()); err != nil {
		t.Fatal(err)
	}
	if _, err := tx.Exec(ctx, `SELECT 1`); err != nil {
		t.Fatal(err)
	}
	if signalled(sig) {
		t.Fatal("signalled before the commit")
	}
	if err := tx.Commit(ctx); err != nil {
		t.Fatal(err)
	}
	if !signalled(sig) {
		t.Fatal("not signalled after the commit of an Add")
	}

	// Queue: a batch in its implicit transaction.
	b := &pgx.Batch{}
	if err := env.outbox.Queue(ctx, b, event()); err != nil {
		t.Fatal(err)
	}
	if err := pool.SendBatch(ctx, b).Close(); err != nil {
		t.Fatal(err)
	}
	if !signalled(sig) {
		t.Fatal("not signalled after a batch with Queue")
	}

	// AddBatch: a COPY in a transaction.
	if err := pgx.BeginFunc(ctx, pool, func(tx pgx.Tx) error {
		return env.outbox.AddBatch(ctx, tx, []Event{event(), event()})
	}); err != nil {
		t.Fatal(err)
	}
	if !signalled(sig) {
		t.Fatal("not signalled after the commit of an AddBatch")
	}
	if n := env.count(t, `SELECT count(*) FROM inlay_outbox`); n != 4 {
		t.Fatalf("%d outbox rows, want 4", n)
	}
}

// A relay asleep with producers not notifying it (they saw it busy) is woken by the signal alone.
func TestRelayWokenByCommitSignal(t *testing.T) {
	t.Parallel()
	env := newEnv(t)
	pool, sig := env.signalledPool(t)
	got := make(chan Event, 1)
	env.startConsumer(t, ConsumerOptions{}, map[string]Handler{testType: func(ctx context.Context, tx pgx.Tx, e Event) error {
		got <- e
		return nil
	}})
	// A backup poll far beyond the test.
	env.startRelay(t, RelayOptions{PollInterval: time.Hour, Signal: sig})
	waitFor(t, 10*time.Second, "the relay listening", func() bool {
		return env.count(t, `SELECT count(*) FROM inlay_outbox_relay WHERE listening`) == 1
	})
	// A relay that has just gone listening reads every busyPoll for listenGrace; this waits out that
	// grace (it was already running when the flag was seen), so that only a wake-up can make it read.
	<-time.After(2 * listenGrace)
	ctx := context.Background()
	// Producers stop notifying, as they do while a relay says it is busy.
	if _, err := env.pool.Exec(ctx, `UPDATE inlay_outbox_relay SET listening = false`); err != nil {
		t.Fatal(err)
	}
	sent, err := New("test", testType, "thing-1", payload{Seq: 1})
	if err != nil {
		t.Fatal(err)
	}
	if err := pgx.BeginFunc(ctx, pool, func(tx pgx.Tx) error { return env.outbox.Add(ctx, tx, sent) }); err != nil {
		t.Fatal(err)
	}
	select {
	case e := <-got:
		if e.ID != sent.ID {
			t.Fatalf("got %s, want %s", e.ID, sent.ID)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("event not delivered: the commit signal did not wake the relay")
	}
}

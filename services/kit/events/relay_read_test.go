package events

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/inlay-dev/inlay/services/kit/kittest"
)

func TestSkipDescribesTheRowsInFlight(t *testing.T) {
	for _, c := range []struct {
		seqs    []int64
		maxGaps int
		lo, hi  int64
		gaps    []int64
		ok      bool
	}{
		{nil, 10, 0, 0, nil, true},
		{[]int64{7}, 10, 7, 7, nil, true},
		{[]int64{3, 4, 5}, 10, 3, 5, nil, true},
		{[]int64{3, 5, 6, 9}, 10, 3, 9, []int64{4, 7, 8}, true},
		{[]int64{3, 5, 6, 9}, 3, 3, 9, []int64{4, 7, 8}, true},
		{[]int64{3, 5, 6, 9}, 2, 0, 0, nil, false},
	} {
		lo, hi, gaps, ok := skip(c.seqs, c.maxGaps)
		if lo != c.lo || hi != c.hi || !slices.Equal(gaps, c.gaps) || ok != c.ok {
			t.Errorf("skip(%v, %d) = %d, %d, %v, %t; want %d, %d, %v, %t",
				c.seqs, c.maxGaps, lo, hi, gaps, ok, c.lo, c.hi, c.gaps, c.ok)
		}
	}
}

// The relay's two reads return the same rows: the oldest unsent ones that are not in flight,
// including rows below, inside (gaps) and above the run of seqs in flight.
func TestReadsSkipExactlyTheRowsInFlight(t *testing.T) {
	t.Parallel()
	env := newEnv(t)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	env.add(t, ctx, testType, "thing", 1, 13) // seqs 1…12
	// Rows 1 and 2 are not in flight (committed late, say), 3…10 are except 5 and 8.
	inFlight := []int64{3, 4, 6, 7, 9, 10}
	read := func(query string, args ...any) []int64 {
		t.Helper()
		rows, err := env.pool.Query(ctx, query, args...)
		if err != nil {
			t.Fatal(err)
		}
		got, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (int64, error) {
			var o outboxRow
			err := row.Scan(&o.seq, &o.id, &o.typ, &o.subject, &o.body, &o.traceparent)
			return o.seq, err
		})
		if err != nil {
			t.Fatal(err)
		}
		return got
	}
	lo, hi, gaps, ok := skip(inFlight, 10)
	if !ok {
		t.Fatal("skip refused two gaps")
	}
	want := []int64{1, 2, 5, 8, 11}
	if got := read(readAround, 5, lo, hi, gaps); !slices.Equal(got, want) {
		t.Errorf("readAround = %v, want %v", got, want)
	}
	if got := read(readExcept, 5, inFlight); !slices.Equal(got, want) {
		t.Errorf("readExcept = %v, want %v", got, want)
	}
	if got := read(readAround, 500, 0, 0, []int64(nil)); len(got) != 12 {
		t.Errorf("readAround with nothing in flight read %v, want 1…12", got)
	}
}

// A database migrated by the version that marked rows with sent_at: Migrate moves its sent rows
// to inlay_outbox_published, keeps the unsent ones and drops the indexes that served sent_at.
func TestMigrateMovesRowsMarkedSent(t *testing.T) {
	t.Parallel()
	pool := kittest.Postgres(t, nil)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	old := `CREATE TABLE inlay_outbox (
		seq         bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
		id          uuid        NOT NULL,
		type        text        NOT NULL,
		subject     text        NOT NULL,
		body        bytea       NOT NULL,
		traceparent text        NOT NULL DEFAULT '',
		created_at  timestamptz NOT NULL DEFAULT clock_timestamp(),
		sent_at     timestamptz
	);
	CREATE UNIQUE INDEX inlay_outbox_id ON inlay_outbox (id);
	CREATE INDEX inlay_outbox_unsent ON inlay_outbox (seq) WHERE sent_at IS NULL;
	CREATE INDEX inlay_outbox_sent ON inlay_outbox (sent_at) WHERE sent_at IS NOT NULL;
	INSERT INTO inlay_outbox (id, type, subject, body, sent_at)
	SELECT gen_random_uuid(), 'test.thing.v1', 's-' || i, '{}', CASE WHEN i <= 3 THEN clock_timestamp() END
	FROM generate_series(1, 5) i`
	if _, err := pool.Exec(ctx, old); err != nil {
		t.Fatal(err)
	}
	for range 2 {
		if err := Migrate(ctx, pool); err != nil {
			t.Fatal(err)
		}
	}
	count := func(q string) int {
		t.Helper()
		var n int
		if err := pool.QueryRow(ctx, q).Scan(&n); err != nil {
			t.Fatal(err)
		}
		return n
	}
	if n := count(`SELECT count(*) FROM inlay_outbox_published WHERE seq <= 3 AND subject = 's-' || seq`); n != 3 {
		t.Errorf("%d sent rows moved, want 3", n)
	}
	if n := count(`SELECT count(*) FROM inlay_outbox WHERE sent_at IS NULL AND seq > 3`); n != 2 ||
		count(`SELECT count(*) FROM inlay_outbox`) != 2 {
		t.Errorf("outbox holds %d unsent rows (of %d), want 2 (of 2)", n, count(`SELECT count(*) FROM inlay_outbox`))
	}
	if n := count(`SELECT count(*) FROM pg_indexes WHERE indexname IN ('inlay_outbox_unsent', 'inlay_outbox_sent')`); n != 0 {
		t.Errorf("%d of the sent_at indexes left", n)
	}
}

// A relay of the older version, publishing during a deploy, marked a row sent after Migrate ran: the
// relay that takes the lead next moves it out of the outbox and publishes only the unmarked one.
func TestRelayMovesRowsAnOlderRelayMarked(t *testing.T) {
	t.Parallel()
	env := newEnv(t)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	es := env.add(t, ctx, testType, "thing", 1, 3)
	if _, err := env.pool.Exec(ctx, `UPDATE inlay_outbox SET sent_at = clock_timestamp() WHERE id = $1`, es[0].ID); err != nil {
		t.Fatal(err)
	}
	r, _ := env.startRelay(t, RelayOptions{})
	waitFor(t, 10*time.Second, "the outbox emptied and the published row counted", func() bool {
		return env.count(t, `SELECT count(*) FROM inlay_outbox`) == 0 &&
			env.count(t, `SELECT count(*) FROM inlay_outbox_published`) == 2 && value(t, r.metrics.published) >= 1
	})
	if v := value(t, r.metrics.published); v != 1 {
		t.Fatalf("published = %v, want 1 (the row marked sent is not published again)", v)
	}
}

package load

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
)

// ReadModel is a team's copy of the catalogue: a table of one row per variant in its database.
type ReadModel struct {
	Team, Table string
	// Metrics is the team's /metrics URL, for its consumer's backlog.
	Metrics string
}

// ReadModels are the copies of the catalogue the teams keep from decide's events, on `make run`'s ports.
var ReadModels = []ReadModel{
	{"explore", "variants", "http://127.0.0.1:8102/metrics"},
	{"inspire", "variants", "http://127.0.0.1:8104/metrics"},
	{"checkout", "variants", "http://127.0.0.1:8103/metrics"},
	{"inventory", "stock", "http://127.0.0.1:8105/metrics"},
}

// CatalogSample is the state of the catalogue's spread at one moment.
type CatalogSample struct {
	At time.Duration // since the watch started
	// Variants is decide's variant count; Outbox counts decide's events written and not yet relayed,
	// Relayed those relayed.
	Variants, Outbox, Relayed int64
	// Rows is each read model's variant count; Backlog its consumer's queue depth (-1 unknown).
	Rows, Backlog []int64
}

// CatalogWatch samples decide's outbox and every read model.
type CatalogWatch struct {
	PostgresURL, DBPrefix string
	Models                []ReadModel
	HTTP                  *http.Client
}

func (w CatalogWatch) conn(ctx context.Context, team string) (*pgx.Conn, error) {
	cfg, err := pgx.ParseConfig(w.PostgresURL)
	if err != nil {
		return nil, fmt.Errorf("POSTGRES_URL: %w", err)
	}
	cfg.Database = w.DBPrefix + team
	c, err := pgx.ConnectConfig(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("connect to %s: %w", cfg.Database, err)
	}
	return c, nil
}

// Watcher holds a connection to each database it samples.
type Watcher struct {
	w      CatalogWatch
	decide *pgx.Conn
	models []*pgx.Conn
	start  time.Time
}

// Open connects to decide's and every read model's database.
func (w CatalogWatch) Open(ctx context.Context) (*Watcher, error) {
	wt := &Watcher{w: w, start: time.Now()}
	var err error
	if wt.decide, err = w.conn(ctx, "decide"); err != nil {
		return nil, err
	}
	for _, m := range w.Models {
		c, err := w.conn(ctx, m.Team)
		if err != nil {
			wt.Close(ctx)
			return nil, err
		}
		wt.models = append(wt.models, c)
	}
	return wt, nil
}

// Close closes the connections.
func (wt *Watcher) Close(ctx context.Context) {
	for _, c := range append(wt.models, wt.decide) {
		if c != nil {
			_ = c.Close(ctx)
		}
	}
}

// Sample reads the figures now.
func (wt *Watcher) Sample(ctx context.Context) (CatalogSample, error) {
	s := CatalogSample{At: time.Since(wt.start)}
	err := wt.decide.QueryRow(ctx, `SELECT (SELECT count(*) FROM inlay_outbox WHERE sent_at IS NULL), (SELECT count(*) FROM inlay_outbox_published)`).
		Scan(&s.Outbox, &s.Relayed)
	if err != nil {
		return s, fmt.Errorf("decide's outbox: %w", err)
	}
	if err := wt.decide.QueryRow(ctx, `SELECT count(*) FROM variants`).Scan(&s.Variants); err != nil {
		return s, fmt.Errorf("decide's variants: %w", err)
	}
	for i, m := range wt.w.Models {
		var n int64
		// The table name is one of ReadModels' constants, never input.
		if err := wt.models[i].QueryRow(ctx, `SELECT count(*) FROM `+pgx.Identifier{m.Table}.Sanitize()).Scan(&n); err != nil {
			return s, fmt.Errorf("%s.%s: %w", m.Team, m.Table, err)
		}
		s.Rows = append(s.Rows, n)
		s.Backlog = append(s.Backlog, wt.w.backlog(ctx, m.Metrics))
	}
	return s, nil
}

// backlog reads inlay_events_queue_ready_messages from a team's /metrics; -1 when it cannot.
func (w CatalogWatch) backlog(ctx context.Context, metricsURL string) int64 {
	if w.HTTP == nil || metricsURL == "" {
		return -1
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, metricsURL, nil)
	if err != nil {
		return -1
	}
	resp, err := w.HTTP.Do(req)
	if err != nil {
		return -1
	}
	defer resp.Body.Close()
	return parseGauge(resp.Body, "inlay_events_queue_ready_messages")
}

// parseGauge returns the sum of the samples of the gauge name in Prometheus text format; -1 when
// there is none.
func parseGauge(r io.Reader, name string) int64 {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	var sum int64 = -1
	for sc.Scan() {
		line := sc.Text()
		if !strings.HasPrefix(line, name+"{") && !strings.HasPrefix(line, name+" ") {
			continue
		}
		f := strings.Fields(line)
		v, err := strconv.ParseFloat(f[len(f)-1], 64)
		if err != nil {
			continue
		}
		sum = max(sum, 0) + int64(v)
	}
	return sum
}

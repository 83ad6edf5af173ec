package events_test

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
	"time"

	"github.com/inlay-dev/inlay/services/kit/events"
)

// readyAfter answers /readyz with 503 n times, then 200.
func readyAfter(t *testing.T, n int32) *httptest.Server {
	t.Helper()
	var calls atomic.Int32
	s := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/readyz" || calls.Add(1) <= n {
			w.WriteHeader(http.StatusServiceUnavailable)
			return
		}
		w.WriteHeader(http.StatusOK)
	}))
	t.Cleanup(s.Close)
	return s
}

func TestCatchUpWaitsForConsumers(t *testing.T) {
	t.Parallel()
	inspire, explore := readyAfter(t, 0), readyAfter(t, 3)
	var republished atomic.Int32
	c := events.CatchUp{
		Consumers: []string{"inspire", "explore", "inventory"}, // inventory is not registered: not awaited
		Teams: map[string][]string{"inspire": {inspire.URL}, "explore": {"http://127.0.0.1:1", explore.URL},
			"shell": {"http://127.0.0.1:1"}}, // not a consumer: never asked
		Republish: func(context.Context) (int, error) { republished.Add(1); return 23, nil },
		Interval:  time.Millisecond,
		Deadline:  time.Minute,
		Log:       slog.New(slog.NewTextHandler(io.Discard, nil)),
	}
	if err := c.Run(context.Background()); err != nil {
		t.Fatal(err)
	}
	// inspire is ready at once, explore after three rounds: one republish for each.
	if republished.Load() != 2 {
		t.Fatalf("republished %d times, want twice", republished.Load())
	}
}

func TestCatchUpRepublishesAtTheDeadline(t *testing.T) {
	t.Parallel()
	never := readyAfter(t, 1<<30)
	var republished atomic.Int32
	c := events.CatchUp{
		Consumers: []string{"checkout"},
		Teams:     map[string][]string{"checkout": {never.URL}},
		Republish: func(context.Context) (int, error) { republished.Add(1); return 1, nil },
		Interval:  time.Millisecond,
		Deadline:  20 * time.Millisecond,
		Log:       slog.New(slog.NewTextHandler(io.Discard, nil)),
	}
	if err := c.Run(context.Background()); err != nil {
		t.Fatal(err)
	}
	if republished.Load() != 1 {
		t.Fatalf("republished %d times, want once", republished.Load())
	}
}

func TestCatchUpStopsWithItsContext(t *testing.T) {
	t.Parallel()
	never := readyAfter(t, 1<<30)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	c := events.CatchUp{
		Consumers: []string{"inventory"},
		Teams:     map[string][]string{"inventory": {never.URL}},
		Republish: func(context.Context) (int, error) { return 0, errors.New("must not be called") },
		Interval:  time.Millisecond,
		Log:       slog.New(slog.NewTextHandler(io.Discard, nil)),
	}
	if err := c.Run(ctx); err != nil {
		t.Fatal(err)
	}
}

func TestCatchUpReportsRepublishFailure(t *testing.T) {
	t.Parallel()
	c := events.CatchUp{
		Consumers: []string{"inspire"},
		Teams:     map[string][]string{"inspire": {readyAfter(t, 0).URL}},
		Republish: func(context.Context) (int, error) { return 0, errors.New("db down") },
		Interval:  time.Millisecond,
		Log:       slog.New(slog.NewTextHandler(io.Discard, nil)),
	}
	if err := c.Run(context.Background()); err == nil {
		t.Fatal("a failed republish must be an error")
	}
}

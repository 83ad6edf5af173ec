package localrate_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/inlay-dev/inlay/services/kit/localrate"
)

func TestAllow(t *testing.T) {
	t.Parallel()
	var l localrate.Limiter
	now := time.Date(2026, 12, 1, 10, 0, 0, 0, time.UTC)
	for i := range 3 {
		if ok, _ := l.Allow("a", 3, now.Add(time.Duration(i)*time.Second)); !ok {
			t.Fatalf("request %d refused", i+1)
		}
	}
	ok, retry := l.Allow("a", 3, now.Add(10*time.Second))
	if ok || retry != 50*time.Second {
		t.Fatalf("the fourth: allowed %v, retry %v; want refused for 50s", ok, retry)
	}
	if ok, _ := l.Allow("b", 3, now.Add(10*time.Second)); !ok {
		t.Error("another key refused")
	}
	if ok, _ := l.Allow("a", 3, now.Add(time.Minute)); !ok {
		t.Error("refused in the next minute")
	}
}

// TestSharedFallsBackWhileRedisFails: a failed shared call is counted in process, and the shared
// limiter is not asked again within the outage window; its answers count while it works.
func TestSharedFallsBackWhileRedisFails(t *testing.T) {
	t.Parallel()
	var s localrate.Shared
	asked := 0
	failing := func(context.Context) (bool, time.Duration, error) {
		asked++
		return false, 0, errors.New("redis: i/o timeout")
	}
	for i := range 3 {
		if ok, _ := s.Allow(context.Background(), "k", 2, failing); ok != (i < 2) {
			t.Errorf("request %d in process: allowed %v", i+1, ok)
		}
	}
	if asked != 1 {
		t.Errorf("Redis asked %d times within the outage window, want once", asked)
	}
	var fresh localrate.Shared
	if ok, retry := fresh.Allow(context.Background(), "k", 2, func(context.Context) (bool, time.Duration, error) {
		return false, 7 * time.Second, nil
	}); ok || retry != 7*time.Second {
		t.Errorf("the shared answer: %v %v", ok, retry)
	}
}

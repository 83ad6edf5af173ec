package localrate_test

import (
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

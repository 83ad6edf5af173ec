package compose

import (
	"context"
	"fmt"
	"net/http"
	"sync/atomic"
	"testing"
	"time"
)

// TestSettled: Request.Settled is called once, when every fragment of the page has its content —
// the nested one included, which starts only when its parent has arrived — and without the page
// being written: a slow reader does not hold what the shell counts as a page in composition.
func TestSettled(t *testing.T) {
	team := newFakeTeam(t)
	team.html("outer", `<p>outer</p><inlay-fragment src="t/inner"></inlay-fragment>`, "")
	release := make(chan struct{})
	team.handle("inner", func(w http.ResponseWriter, r *http.Request) {
		<-release
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		_, _ = w.Write([]byte("<p>inner</p>"))
	})
	team.html("side", "<p>side</p>", "")
	h := newHarness(t, map[string]*fakeTeam{"t": team}, harnessOptions{})

	var calls atomic.Int32
	settled := make(chan struct{}, 2)
	doc := fmt.Sprintf(page, `<inlay-fragment src="t/outer" primary></inlay-fragment><inlay-fragment src="t/side"></inlay-fragment>`)
	c := h.engine.Start(context.Background(), Parse([]byte(doc)), Request{Settled: func() {
		calls.Add(1)
		settled <- struct{}{}
	}})
	defer c.Cancel()
	if out := c.Outcome(); out.Status != 200 {
		t.Fatalf("outcome %+v, want 200", out)
	}
	select { // the nested fragment was asked for: its parent has arrived, it has not
	case name := <-team.arrived:
		for name != "inner" {
			name = <-team.arrived
		}
	case <-time.After(10 * time.Second):
		t.Fatal("the nested fragment was never requested")
	}
	select {
	case <-settled:
		t.Fatal("Settled before the nested fragment arrived")
	default:
	}
	if c.WaitReady(0) {
		t.Error("ready before the nested fragment arrived")
	}
	close(release)
	select {
	case <-settled:
	case <-time.After(10 * time.Second):
		t.Fatal("Settled was not called once every fragment had arrived (the page never written)")
	}
	if !c.WaitReady(0) {
		t.Error("Settled, but the composition is not ready")
	}
	if n := calls.Load(); n != 1 {
		t.Errorf("Settled called %d times, want 1", n)
	}
}

// TestSettledAtOnce: a page whose every fragment is resolved while Start makes it (fresh cached
// copies, a bad src) settles in Start, once, after all of them.
func TestSettledAtOnce(t *testing.T) {
	team := newFakeTeam(t)
	h := newHarness(t, map[string]*fakeTeam{"t": team}, harnessOptions{})
	var calls atomic.Int32
	doc := fmt.Sprintf(page, `<inlay-fragment src="nosuchteam/a" primary></inlay-fragment><inlay-fragment src="nosuchteam/b"></inlay-fragment>`)
	c := h.engine.Start(context.Background(), Parse([]byte(doc)), Request{Settled: func() { calls.Add(1) }})
	defer c.Cancel()
	if n := calls.Load(); n != 1 {
		t.Errorf("Settled called %d times by the end of Start, want 1", n)
	}
}

package compose

import (
	"context"
	"testing"
	"time"
)

// settle is what lets fragments that arrive close together share a chunk: it waits for the next one
// up to the grace instead of flushing at once, and gives up at the grace or when the page ends.
func TestSettle(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	c := &Composition{ctx: ctx}

	ready := make(chan int, 1)
	ready <- 1
	if _, ok := settle(c, ready); ok {
		t.Error("no grace: settle waited (the writer must flush at once, as before WaitReady)")
	}

	ch := make(chan int)

	c.grace = time.Hour // long: only the channel or the page's end can end the wait
	go func() { ch <- 7 }()
	if v, ok := settle(c, ch); !ok || v != 7 {
		t.Errorf("settle = %d, %v; want the fragment that arrived within the grace", v, ok)
	}
	go func() { ch <- 8 }() // the timer is reused: a stopped one must not fire later
	if v, ok := settle(c, ch); !ok || v != 8 {
		t.Errorf("second settle = %d, %v", v, ok)
	}

	c.grace = time.Millisecond
	never := make(chan struct{})
	if _, ok := settle(c, never); ok {
		t.Error("settle reported a fragment that never came")
	}

	c.grace = time.Hour
	cancel()
	if _, ok := settle(c, never); ok {
		t.Error("settle outlived the page")
	}
}

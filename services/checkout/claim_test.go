package checkout_test

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"testing"
	"time"

	"github.com/inlay-dev/inlay/services/checkout"
)

// claims records what ClaimCart does to the cart store; claimErr is what ClaimPlacing answers.
type claims struct {
	busy           int // ClaimPlacing answers ErrOrderInProgress this many times first
	claimErr       error
	released       []string
	clearedOrdered []string
}

func (c *claims) ClaimPlacing(context.Context, string, string) error {
	if c.busy > 0 {
		c.busy--
		return checkout.ErrOrderInProgress
	}
	return c.claimErr
}
func (c *claims) ReleasePlacing(ctx context.Context, _, key string) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	c.released = append(c.released, key)
	return nil
}
func (c *claims) ClearOrdered(ctx context.Context, _, order, _ string, _ []checkout.CartLine) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	c.clearedOrdered = append(c.clearedOrdered, order)
	return nil
}

// TestClaimCart: a claim ends when no order was placed, stays when one was (its lines taken out) or
// may have been, and a claim whose answer was lost (an error other than "in progress") is ended.
func TestClaimCart(t *testing.T) {
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	for _, tt := range []struct {
		name         string
		then         func(*checkout.CartClaim)
		wantReleased int
	}{
		{"refused", func(*checkout.CartClaim) {}, 1},
		{"placed", func(c *checkout.CartClaim) { _ = c.Placed("o1", nil) }, 0},
		{"unsure", func(c *checkout.CartClaim) { c.Unsure() }, 0},
	} {
		st := &claims{}
		ctx, cancel := context.WithCancel(context.Background())
		c, err := checkout.ClaimCart(ctx, st, "cart", "k1", time.Time{}, log)
		if err != nil {
			t.Fatal(err)
		}
		cancel() // the request's deadline passed: what follows still reaches the store
		tt.then(c)
		c.Release()
		if len(st.released) != tt.wantReleased {
			t.Errorf("%s: released %v", tt.name, st.released)
		}
		if tt.name == "placed" && len(st.clearedOrdered) != 1 {
			t.Errorf("placed: the order's lines not taken out: %v", st.clearedOrdered)
		}
	}
	lost := &claims{claimErr: errors.New("i/o timeout")}
	if _, err := checkout.ClaimCart(context.Background(), lost, "cart", "k2", time.Time{}, log); err == nil || len(lost.released) != 1 || lost.released[0] != "k2" {
		t.Errorf("a claim whose answer was lost: %v, released %v", err, lost.released)
	}
	busy := &claims{claimErr: checkout.ErrOrderInProgress}
	if _, err := checkout.ClaimCart(context.Background(), busy, "cart", "k3", time.Time{}, log); !errors.Is(err, checkout.ErrOrderInProgress) || len(busy.released) != 0 {
		t.Errorf("another key's claim: %v, released %v", err, busy.released)
	}
	// Another tab's order ends while this request waits: the claim is this request's then.
	other := &claims{busy: 3}
	if _, err := checkout.ClaimCart(context.Background(), other, "cart", "k4", time.Now().Add(time.Minute), log); err != nil || other.busy != 0 {
		t.Errorf("waiting for another order: %v (%d answers left)", err, other.busy)
	}
	// One that would end too late is not waited for past waitUntil.
	late := &claims{busy: 1 << 30}
	if _, err := checkout.ClaimCart(context.Background(), late, "cart", "k5", time.Now().Add(100*time.Millisecond), log); !errors.Is(err, checkout.ErrOrderInProgress) {
		t.Errorf("waiting past waitUntil: %v", err)
	}
}

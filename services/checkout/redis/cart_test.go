package redis_test

import (
	"context"
	"errors"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/inlay-dev/inlay/services/checkout"
	"github.com/inlay-dev/inlay/services/checkout/redis"
	"github.com/inlay-dev/inlay/services/kit/kittest"
)

func newCarts(t *testing.T) (*redis.Carts, func(id string) time.Duration) {
	t.Helper()
	rdb, keys := kittest.Redis(t)
	ttl := func(id string) time.Duration {
		d, err := rdb.PTTL(context.Background(), keys.Key("cart", id)).Result()
		if err != nil {
			t.Fatal(err)
		}
		return d
	}
	return redis.NewCarts(rdb, keys), ttl
}

func TestAddIncrementsAndKeepsOrder(t *testing.T) {
	ctx := context.Background()
	carts, ttl := newCarts(t)
	for _, sku := range []string{"CL-01-GY", "AU-07-MT", "CL-01-GY"} {
		if _, err := carts.Add(ctx, "c1", sku, 1, 10); err != nil {
			t.Fatal(err)
		}
	}
	lines, err := carts.Lines(ctx, "c1")
	if err != nil {
		t.Fatal(err)
	}
	want := []checkout.CartLine{{SKU: "CL-01-GY", Quantity: 2}, {SKU: "AU-07-MT", Quantity: 1}}
	if len(lines) != len(want) || lines[0] != want[0] || lines[1] != want[1] {
		t.Fatalf("lines = %v, want %v", lines, want)
	}
	if d := ttl("c1"); d <= 29*24*time.Hour || d > checkout.CartTTL {
		t.Errorf("ttl = %v, want about %v", d, checkout.CartTTL)
	}
	if q, err := carts.Quantity(ctx, "c1", "CL-01-GY"); err != nil || q != 2 {
		t.Errorf("Quantity = %d, %v", q, err)
	}
	if q, err := carts.Quantity(ctx, "c1", "nope"); err != nil || q != 0 {
		t.Errorf("Quantity of a missing line = %d, %v", q, err)
	}
	if lines, err := carts.Lines(ctx, "other"); err != nil || len(lines) != 0 {
		t.Errorf("missing cart = %v, %v", lines, err)
	}
}

func TestLimits(t *testing.T) {
	ctx := context.Background()
	carts, _ := newCarts(t)
	for range 3 {
		if _, err := carts.Add(ctx, "c", "CL-01-GY", 1, 3); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := carts.Add(ctx, "c", "CL-01-GY", 1, 3); !errors.Is(err, checkout.ErrLineLimit) {
		t.Fatalf("fourth add = %v, want ErrLineLimit", err)
	}
	if _, err := carts.Add(ctx, "c", "CL-01-GY", 0, 3); err == nil {
		t.Fatal("adding 0 succeeded")
	}
	for i := 1; i < checkout.MaxLines; i++ {
		if _, err := carts.Add(ctx, "c", "SKU-"+string(rune('A'+i)), 1, 10); err != nil {
			t.Fatalf("line %d: %v", i, err)
		}
	}
	if _, err := carts.Add(ctx, "c", "ONE-TOO-MANY", 1, 10); !errors.Is(err, checkout.ErrCartFull) {
		t.Fatalf("line %d = %v, want ErrCartFull", checkout.MaxLines+1, err)
	}
	// An existing line may still grow in a full cart.
	if _, err := carts.Add(ctx, "c", "SKU-B", 1, 10); err != nil {
		t.Fatalf("grow a line in a full cart: %v", err)
	}
}

// TestConcurrentAddsRespectTheLimit: the limit holds under parallel adds (run with -race).
func TestConcurrentAddsRespectTheLimit(t *testing.T) {
	ctx := context.Background()
	carts, _ := newCarts(t)
	var wg sync.WaitGroup
	var mu sync.Mutex
	ok := 0
	for range 30 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if _, err := carts.Add(ctx, "c", "CL-01-GY", 1, 7); err == nil {
				mu.Lock()
				ok++
				mu.Unlock()
			} else if !errors.Is(err, checkout.ErrLineLimit) {
				t.Error(err)
			}
		}()
	}
	wg.Wait()
	q, err := carts.Quantity(ctx, "c", "CL-01-GY")
	if err != nil || q != 7 || ok != 7 {
		t.Fatalf("quantity %d, %d adds succeeded (%v), want 7", q, ok, err)
	}
}

func TestRemoveAndClear(t *testing.T) {
	ctx := context.Background()
	carts, _ := newCarts(t)
	_, _ = carts.Add(ctx, "c", "A-1", 1, 10)
	_, _ = carts.Add(ctx, "c", "B-1", 1, 10)
	if err := carts.Remove(ctx, "c", "A-1"); err != nil {
		t.Fatal(err)
	}
	if err := carts.Remove(ctx, "c", "A-1"); !errors.Is(err, checkout.ErrNotInCart) {
		t.Fatalf("second remove = %v, want ErrNotInCart", err)
	}
	lines, _ := carts.Lines(ctx, "c")
	if len(lines) != 1 || lines[0].SKU != "B-1" {
		t.Fatalf("lines = %v", lines)
	}
	// A removed sku added again goes to the end.
	_, _ = carts.Add(ctx, "c", "A-1", 1, 10)
	lines, _ = carts.Lines(ctx, "c")
	if len(lines) != 2 || lines[1].SKU != "A-1" {
		t.Fatalf("lines = %v", lines)
	}
	// The order of the whole cart takes all of it out (the cart goes).
	if err := carts.ClearOrdered(ctx, "c", "o1", "k0", lines); err != nil {
		t.Fatal(err)
	}
	if lines, _ := carts.Lines(ctx, "c"); len(lines) != 0 {
		t.Fatalf("cleared cart = %v", lines)
	}
}

// TestClearOrdered: an order's lines leave the cart once, whatever was added while it was placed
// stays, and a replay of the order takes nothing out of the basket filled since.
func TestClearOrdered(t *testing.T) {
	ctx := context.Background()
	carts, _ := newCarts(t)
	_, _ = carts.Add(ctx, "c", "A-1", 2, 10)
	_, _ = carts.Add(ctx, "c", "B-1", 1, 10)
	ordered, err := carts.Lines(ctx, "c")
	if err != nil {
		t.Fatal(err)
	}
	// While the order is placed: one more A-1 and a new C-1.
	_, _ = carts.Add(ctx, "c", "A-1", 1, 10)
	_, _ = carts.Add(ctx, "c", "C-1", 1, 10)
	if err := carts.ClaimPlacing(ctx, "c", "k1"); err != nil {
		t.Fatal(err)
	}
	if err := carts.ClearOrdered(ctx, "c", "o1", "k1", ordered); err != nil {
		t.Fatal(err)
	}
	want := []checkout.CartLine{{SKU: "A-1", Quantity: 1}, {SKU: "C-1", Quantity: 1}}
	if lines, _ := carts.Lines(ctx, "c"); !slices.Equal(lines, want) {
		t.Fatalf("after the order: %v, want %v", lines, want)
	}
	if err := carts.ClaimPlacing(ctx, "c", "k2"); err != nil {
		t.Errorf("the claim outlived the order: %v", err)
	}
	// A replay of o1 (its key again) takes nothing more out.
	if err := carts.ClearOrdered(ctx, "c", "o1", "k1", ordered); err != nil {
		t.Fatal(err)
	}
	if lines, _ := carts.Lines(ctx, "c"); !slices.Equal(lines, want) {
		t.Fatalf("after a replay: %v, want %v", lines, want)
	}
}

func TestFormFlash(t *testing.T) {
	ctx := context.Background()
	carts, _ := newCarts(t)
	f := checkout.CheckoutForm{FirstName: "Ada", Card: "4242424242424242", IdempotencyKey: "k1"}
	if err := carts.SaveForm(ctx, "c", f, checkout.FieldErrors{checkout.FieldLastName: "Last name is required."}); err != nil {
		t.Fatal(err)
	}
	got, errs, ok, err := carts.TakeForm(ctx, "c")
	if err != nil || !ok {
		t.Fatalf("TakeForm = %v, %v", ok, err)
	}
	if got.FirstName != "Ada" || got.IdempotencyKey != "k1" || got.Card != "" {
		t.Errorf("form = %+v (the card number must not be kept)", got)
	}
	if errs[checkout.FieldLastName] == "" {
		t.Errorf("errors = %v", errs)
	}
	if _, _, ok, err := carts.TakeForm(ctx, "c"); ok || err != nil {
		t.Errorf("second TakeForm = %v, %v; want none", ok, err)
	}
}

// TestChangeOnlyALineThatIsThere: Change sets a line's quantity, within the limit, and never brings
// back a line removed meanwhile (another tab).
func TestChangeOnlyALineThatIsThere(t *testing.T) {
	ctx := context.Background()
	carts, _ := newCarts(t)
	if _, err := carts.Add(ctx, "c1", "CL-01-GY", 2, 10); err != nil {
		t.Fatal(err)
	}
	if err := carts.Change(ctx, "c1", "CL-01-GY", 5, 10); err != nil {
		t.Fatal(err)
	}
	if q, _ := carts.Quantity(ctx, "c1", "CL-01-GY"); q != 5 {
		t.Errorf("quantity %d after Change to 5", q)
	}
	if err := carts.Change(ctx, "c1", "CL-01-GY", 4, 3); !errors.Is(err, checkout.ErrLineLimit) {
		t.Errorf("over the limit: %v, want ErrLineLimit", err)
	}
	if err := carts.Remove(ctx, "c1", "CL-01-GY"); err != nil {
		t.Fatal(err)
	}
	if err := carts.Change(ctx, "c1", "CL-01-GY", 1, 10); !errors.Is(err, checkout.ErrNotInCart) {
		t.Errorf("a removed line: %v, want ErrNotInCart", err)
	}
	if lines, _ := carts.Lines(ctx, "c1"); len(lines) != 0 {
		t.Errorf("a removed line came back: %v", lines)
	}
	if err := carts.Change(ctx, "c1", "CL-01-GY", 0, 10); err == nil {
		t.Error("a quantity of 0 was taken")
	}
}

func TestNewCartIDIsOnePerVisitor(t *testing.T) {
	ctx := context.Background()
	carts, _ := newCarts(t)
	ids := make([]string, 8)
	var wg sync.WaitGroup
	for i := range ids {
		wg.Go(func() {
			id, err := carts.NewCartID(ctx, "token-a")
			if err != nil {
				t.Error(err)
			}
			ids[i] = id
		})
	}
	wg.Wait()
	for _, id := range ids[1:] {
		if id != ids[0] || id == "" {
			t.Fatalf("one visitor's first adds got carts %v, want one", ids)
		}
	}
	if _, err := uuid.Parse(ids[0]); err != nil || strings.Contains(ids[0], "token") {
		t.Errorf("cart id %q is not a fresh UUID: %v", ids[0], err)
	}
	other, err := carts.NewCartID(ctx, "token-b")
	if err != nil || other == ids[0] {
		t.Errorf("another visitor got %q (%v), the first %q", other, err, ids[0])
	}
	a, errA := carts.NewCartID(ctx, "")
	b, errB := carts.NewCartID(ctx, "")
	if errA != nil || errB != nil || a == b {
		t.Errorf("visitors without a token share cart %q %q (%v %v)", a, b, errA, errB)
	}
}

func TestPlacingClaim(t *testing.T) {
	ctx := context.Background()
	carts, _ := newCarts(t)
	if err := carts.ClaimPlacing(ctx, "c", "k1"); err != nil {
		t.Fatal(err)
	}
	// The same key again (a retry) goes on; another key waits for the claim to end.
	if err := carts.ClaimPlacing(ctx, "c", "k1"); err != nil {
		t.Errorf("same key: %v", err)
	}
	if err := carts.ClaimPlacing(ctx, "c", "k2"); !errors.Is(err, checkout.ErrOrderInProgress) {
		t.Errorf("another key: %v", err)
	}
	if err := carts.ClaimPlacing(ctx, "other", "k2"); err != nil {
		t.Errorf("another cart: %v", err)
	}
	// Releasing is the holder's alone.
	if err := carts.ReleasePlacing(ctx, "c", "k2"); err != nil {
		t.Fatal(err)
	}
	if err := carts.ClaimPlacing(ctx, "c", "k2"); !errors.Is(err, checkout.ErrOrderInProgress) {
		t.Errorf("after another key's release: %v", err)
	}
	if err := carts.ReleasePlacing(ctx, "c", "k1"); err != nil {
		t.Fatal(err)
	}
	if err := carts.ClaimPlacing(ctx, "c", "k2"); err != nil {
		t.Errorf("after the holder's release: %v", err)
	}
	// Another key's order (its claim expired before it took its lines out) does not end k2's claim.
	if err := carts.ClearOrdered(ctx, "c", "o0", "k1", nil); err != nil {
		t.Fatal(err)
	}
	if err := carts.ClaimPlacing(ctx, "c", "k3"); !errors.Is(err, checkout.ErrOrderInProgress) {
		t.Errorf("another key's ClearOrdered ended the claim: %v", err)
	}
	// Taking the order's lines out of the cart (the order stands) ends the claim.
	if err := carts.ClearOrdered(ctx, "c", "o1", "k2", nil); err != nil {
		t.Fatal(err)
	}
	if err := carts.ClaimPlacing(ctx, "c", "k3"); err != nil {
		t.Errorf("after ClearOrdered: %v", err)
	}
}

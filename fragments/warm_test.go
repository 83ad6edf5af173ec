package fragments

import (
	"context"
	"errors"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gofiber/fiber/v2"
)

func TestLocalGuestContextIsAcceptedOnlyByItsVerifier(t *testing.T) {
	t.Parallel()
	pub, _, err := GenerateKey()
	if err != nil {
		t.Fatal(err)
	}
	v, other := NewVerifier(pub, false), NewVerifier(pub, false)
	h, err := v.localGuest()
	if err != nil {
		t.Fatal(err)
	}
	if c, err := v.Verify(h, time.Now()); err != nil || !c.Guest() {
		t.Fatalf("own local guest context: %+v %v", c, err)
	}
	if _, err := other.Verify(h, time.Now()); !errors.Is(err, ErrForgedContext) {
		t.Fatalf("another process's local context = %v, want forged", err)
	}
	customer, err := NewSigner(v.local).Sign(Context{CustomerID: "c1", Expires: time.Now().Add(time.Minute)})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := v.Verify(customer, time.Now()); !errors.Is(err, ErrForgedContext) {
		t.Fatalf("a customer's context signed locally = %v, want forged", err)
	}
}

func TestWarmUpRendersEachFragmentUntilItSucceeds(t *testing.T) {
	t.Parallel()
	pub, _, err := GenerateKey()
	if err != nil {
		t.Fatal(err)
	}
	v := NewVerifier(pub, false) // production: no unsigned requests
	app := fiber.New()
	var teasers, flaky atomic.Int32
	g := app.Group("/fragments", Middleware(v))
	g.Get("/teasers", func(c *fiber.Ctx) error {
		if !ContextFrom(c.UserContext()).Guest() {
			t.Error("warm-up request is not a guest's")
		}
		teasers.Add(1)
		return c.SendString("<p>t</p>")
	})
	g.Get("/category", func(c *fiber.Ctx) error {
		if c.Query("category") != "classic" {
			return c.SendStatus(400)
		}
		if flaky.Add(1) == 1 {
			return c.SendStatus(503) // the pool is not open yet
		}
		return c.SendString("<p>c</p>")
	})
	check := WarmUp(app, v, "teasers", "category?category=classic")
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := check(ctx); err == nil {
		t.Fatal("warm-up passed while a fragment answered 503")
	}
	if err := check(ctx); err != nil {
		t.Fatalf("second warm-up: %v", err)
	}
	if err := check(ctx); err != nil {
		t.Fatal(err)
	}
	if teasers.Load() != 1 || flaky.Load() != 2 {
		t.Errorf("rendered teasers %d times, category %d times; want 1 and 2", teasers.Load(), flaky.Load())
	}
}

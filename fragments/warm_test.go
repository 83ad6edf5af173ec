package fragments

import (
	"context"
	"errors"
	"strings"
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
	ctx := context.Background()
	// The first check starts the warm-up and is not ready; the category's 503 fails the first
	// round, which a later check starts again; then every check passes.
	if err := check(ctx); err == nil {
		t.Fatal("ready before the warm-up ran")
	}
	deadline := time.Now().Add(30 * time.Second)
	for check(ctx) != nil {
		if time.Now().After(deadline) {
			t.Fatalf("never ready: %v", check(ctx))
		}
		time.Sleep(5 * time.Millisecond)
	}
	if err := check(ctx); err != nil {
		t.Fatal(err)
	}
	if teasers.Load() != 1 || flaky.Load() != 2 {
		t.Errorf("rendered teasers %d times, category %d times; want 1 and 2", teasers.Load(), flaky.Load())
	}
}

func TestWarmUpRefusedIsNotReady(t *testing.T) {
	t.Parallel()
	pub, _, err := GenerateKey()
	if err != nil {
		t.Fatal(err)
	}
	app := fiber.New()
	// A Verifier other than the one WarmUp signs with: every warm-up request is refused (401).
	app.Group("/fragments", Middleware(NewVerifier(pub, false))).Get("/teasers", func(c *fiber.Ctx) error {
		return c.SendString("<p>t</p>")
	})
	check := WarmUp(app, NewVerifier(pub, false), "teasers")
	deadline := time.Now().Add(30 * time.Second)
	for {
		err := check(context.Background())
		if err == nil {
			t.Fatal("ready although every warm-up request was refused")
		}
		if strings.Contains(err.Error(), "status 401") {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("no refusal reported: %v", err)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

package fragments

import (
	"context"
	"errors"
	"fmt"
	"net/http/httptest"
	"strings"
	"sync"

	"github.com/gofiber/fiber/v2"
)

// WarmUp returns a readiness check that renders each of a team's fragments once through app, in
// process, as a guest: the first shopper's request then finds the database pool's connections open,
// their statements prepared and the rendering code warm, instead of paying for all of it against the
// shell's deadline. Each target is a fragment path with its query, relative to /fragments/
// ("teasers", "category?category=classic").
//
// The check starts one warm-up in the background and fails ("warming up") until it has finished;
// a warm-up that failed is started again by the next check. So a slow or failing render never piles
// up behind probes, and a probe never waits for it. A target is done once it answers below 500 —
// a 404 (a product this catalogue lacks) still opened the pool and ran the queries — but never with
// 401 or 403, which would mean the request was refused before it rendered anything. The requests
// carry a guest context signed with v's process-local key, which only v accepts and which never
// crosses the network.
func WarmUp(app *fiber.App, v *Verifier, targets ...string) func(ctx context.Context) error {
	w := &warmer{app: app, v: v, targets: targets, done: make(map[string]bool, len(targets))}
	return w.check
}

type warmer struct {
	app     *fiber.App
	v       *Verifier
	targets []string

	mu      sync.Mutex
	done    map[string]bool
	running bool
	ready   bool
	last    error
}

func (w *warmer) check(context.Context) error {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.ready {
		return nil
	}
	if !w.running {
		w.running = true
		go w.run()
	}
	if w.last != nil {
		return fmt.Errorf("warming up: %w", w.last)
	}
	return errors.New("warming up")
}

// run renders every target not done yet, one after another.
func (w *warmer) run() {
	var errs []error
	for _, target := range w.targets {
		w.mu.Lock()
		done := w.done[target]
		w.mu.Unlock()
		if done {
			continue
		}
		if err := warm(w.app, w.v, target); err != nil {
			errs = append(errs, err)
			continue
		}
		w.mu.Lock()
		w.done[target] = true
		w.mu.Unlock()
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	w.running = false
	w.last = errors.Join(errs...)
	w.ready = w.last == nil
}

func warm(app *fiber.App, v *Verifier, target string) error {
	h, err := v.localGuest()
	if err != nil {
		return fmt.Errorf("warm %s: %w", target, err)
	}
	req := httptest.NewRequest(fiber.MethodGet, "/fragments/"+strings.TrimPrefix(target, "/"), nil)
	req.Header.Set(ContextHeader, h)
	// No timeout of its own: the handler's queries have theirs, and only this one warm-up runs.
	resp, err := app.Test(req, -1)
	if err != nil {
		return fmt.Errorf("warm %s: %w", target, err)
	}
	_ = resp.Body.Close()
	if resp.StatusCode >= 500 || resp.StatusCode == fiber.StatusUnauthorized || resp.StatusCode == fiber.StatusForbidden {
		return fmt.Errorf("warm %s: status %d", target, resp.StatusCode)
	}
	return nil
}

package fragments

import (
	"context"
	"errors"
	"fmt"
	"net/http/httptest"
	"strings"
	"sync"
	"time"

	"github.com/gofiber/fiber/v2"
)

// WarmUp returns a readiness check that renders each of a team's fragments once through app, in
// process, as a guest: the first shopper's request then finds the database pool's connections open,
// their statements prepared and the rendering code warm, instead of paying for all of it against the
// shell's deadline. Each target is a fragment path with its query, relative to /fragments/
// ("teasers", "category?category=classic"). A target answering below 500 is done and not rendered
// again; the check passes once every target is done. The requests carry a guest context signed with
// v's process-local key, which only v accepts and which never crosses the network.
func WarmUp(app *fiber.App, v *Verifier, targets ...string) func(ctx context.Context) error {
	var mu sync.Mutex
	done := make(map[string]bool, len(targets))
	return func(ctx context.Context) error {
		mu.Lock()
		defer mu.Unlock()
		var errs []error
		for _, target := range targets {
			if done[target] {
				continue
			}
			if err := warm(ctx, app, v, target); err != nil {
				errs = append(errs, err)
				continue
			}
			done[target] = true
		}
		return errors.Join(errs...)
	}
}

func warm(ctx context.Context, app *fiber.App, v *Verifier, target string) error {
	h, err := v.localGuest()
	if err != nil {
		return fmt.Errorf("warm %s: %w", target, err)
	}
	req := httptest.NewRequestWithContext(ctx, fiber.MethodGet, "/fragments/"+strings.TrimPrefix(target, "/"), nil)
	req.Header.Set(ContextHeader, h)
	timeout := 2 * time.Second
	if dl, ok := ctx.Deadline(); ok {
		timeout = time.Until(dl)
	}
	if timeout <= 0 {
		return fmt.Errorf("warm %s: %w", target, context.DeadlineExceeded)
	}
	resp, err := app.Test(req, int(timeout.Milliseconds()))
	if err != nil {
		return fmt.Errorf("warm %s: %w", target, err)
	}
	resp.Body.Close()
	if resp.StatusCode >= 500 {
		return fmt.Errorf("warm %s: status %d", target, resp.StatusCode)
	}
	return nil
}

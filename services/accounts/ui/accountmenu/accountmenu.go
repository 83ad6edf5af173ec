// Package accountmenu serves accounts' Account Menu, nested in explore's Header: "Sign in" for a
// guest; for a customer, their name linking to /account and a "Sign out" button, a form posting to
// POST /accounts/logout (accounts' /ui/logout), which ends the session and goes home.
package accountmenu

import (
	"context"
	"errors"
	"fmt"

	"github.com/gofiber/fiber/v2"

	"github.com/inlay-dev/inlay/fragments"
	"github.com/inlay-dev/inlay/services/accounts"
	"github.com/inlay-dev/inlay/services/accounts/ui/internal/form"
)

// Name is the fragment's name in accounts' manifest.
const Name = "account-menu"

// CustomerReader finds the signed-in customer.
type CustomerReader interface {
	// Customer returns the customer id, or accounts.ErrCustomerNotFound.
	Customer(ctx context.Context, id string) (accounts.Customer, error)
}

// Model is what the menu shows: a guest when Name is empty.
type Model struct {
	Name string
	CSRF string
}

// Handler serves the menu.
func Handler(customers CustomerReader, opts ...fragments.RenderOption) fiber.Handler {
	return func(c *fiber.Ctx) error {
		ctx := c.UserContext()
		fc := fragments.ContextFrom(ctx)
		m := Model{CSRF: fc.CSRF}
		if !fc.Guest() {
			cu, err := customers.Customer(ctx, fc.CustomerID)
			switch {
			case errors.Is(err, accounts.ErrCustomerNotFound):
				// The account is gone: a guest, whose next page the shell resolves as one.
			case err != nil:
				return fmt.Errorf("account menu: %w", err)
			default:
				m.Name = cu.Name
			}
		}
		return fragments.Render(c, View(m), fragments.Private, opts...)
	}
}

// SessionEnder ends sessions.
type SessionEnder interface {
	SignOut(ctx context.Context, sessionID string) error
}

// SignOut is POST /ui/logout: it ends the request's session (the cookie the shell forwards to
// accounts only), expires the cookie and sends the visitor home. Signing out without a session is
// already done.
func SignOut(sessions SessionEnder, secure bool) fiber.Handler {
	return func(c *fiber.Ctx) error {
		if err := sessions.SignOut(c.UserContext(), form.SessionID(c)); err != nil {
			return fmt.Errorf("sign out: %w", err)
		}
		form.ClearSession(c, secure)
		return c.Redirect("/", fiber.StatusSeeOther)
	}
}

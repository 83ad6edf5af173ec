// Package signin serves accounts' sign-in form (the /account/login page's content) and its endpoint
// POST /accounts/login (accounts' /ui/login). A refused attempt comes back to the form with its error
// and the typed e-mail (never the password); a successful one sets the session cookie and goes to
// the `next` page, which must be a local path (accounts.SafeNext), or /account.
package signin

import (
	"context"
	"net/url"

	"github.com/gofiber/fiber/v2"

	"github.com/inlay-dev/inlay/fragments"
	"github.com/inlay-dev/inlay/services/accounts"
	"github.com/inlay-dev/inlay/services/accounts/ui/internal/form"
)

// Name is the fragment's name in accounts' manifest; FormName names its flashes.
const (
	Name     = "sign-in"
	FormName = "sign-in"
)

// Page is where the form lives on the storefront.
const Page = "/account/login"

// Model is what the form shows.
type Model struct {
	CSRF   string
	Next   string // "" for the default
	Email  string
	Errors accounts.FieldErrors // by field; "" is the form's own error
}

// Handler serves the form. Parameters: next (where to go after signing in), error (a code, only
// "unavailable").
func Handler(flashes form.Flashes, opts ...fragments.RenderOption) fiber.Handler {
	return func(c *fiber.Ctx) error {
		ctx := c.UserContext()
		fc := fragments.ContextFrom(ctx)
		if !fc.Guest() {
			// Signed in already: where signing in would have led (the page is the primary's, so the
			// shell redirects the browser).
			return c.Redirect(accounts.SafeNext(c.Query(accounts.FieldNext)), fiber.StatusSeeOther)
		}
		m := Model{CSRF: fc.CSRF}
		if n := accounts.SafeNext(c.Query(accounts.FieldNext)); n != "/account" {
			m.Next = n
		}
		// A flash that cannot be read is a form without its last values, not a broken page.
		if fl, ok, err := flashes.Take(ctx, FormName, fc.CSRF); err == nil && ok {
			m.Email, m.Errors = fl.Values[accounts.FieldEmail], fl.Errors
		}
		if c.Query("error") == form.Unavailable {
			m.Errors = accounts.FieldErrors{"": accounts.ErrSignInUnavailable.Message}
		}
		return fragments.Render(c, View(m), fragments.Private, opts...)
	}
}

// SignInner signs customers in.
type SignInner interface {
	// SignIn returns accounts.Invalid, ErrBadCredentials, ErrThrottled or Unavailable errors.
	SignIn(ctx context.Context, cr accounts.Credentials, client, previous string) (accounts.Customer, accounts.Session, error)
}

// Submit is POST /ui/login (fields email, password, next).
func Submit(svc SignInner, flashes form.Flashes, secure bool) fiber.Handler {
	return func(c *fiber.Ctx) error {
		ctx := c.UserContext()
		fc := fragments.ContextFrom(ctx)
		next := accounts.SafeNext(c.FormValue(accounts.FieldNext))
		email := accounts.NormalizeEmail(c.FormValue(accounts.FieldEmail))
		_, sess, err := svc.SignIn(ctx, accounts.Credentials{Email: email, Password: c.FormValue(accounts.FieldPassword)},
			fc.Client, form.SessionID(c))
		if err == nil {
			form.SetSession(c, sess, secure)
			return c.Redirect(next, fiber.StatusSeeOther)
		}
		back := url.Values{}
		if next != "/account" {
			back.Set(accounts.FieldNext, next)
		}
		switch code := accounts.ErrorCode(err); code {
		case accounts.Invalid, accounts.Unauthorized, accounts.RateLimited:
			errs := accounts.FormErrors(err)
			if len(email) > accounts.MaxEmail {
				email = ""
			}
			if perr := flashes.Put(ctx, FormName, fc.CSRF, form.Flash{Values: map[string]string{accounts.FieldEmail: email}, Errors: errs}); perr != nil {
				back.Set("error", form.Unavailable)
			}
			if code == accounts.RateLimited {
				c.Set(fiber.HeaderRetryAfter, "60")
			}
			return form.Redirect(c, Page, back)
		case accounts.Unavailable:
			back.Set("error", form.Unavailable)
			return form.Redirect(c, Page, back)
		}
		return err
	}
}

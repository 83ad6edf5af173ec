// Package register serves accounts' registration form (the /account/register page's content) and its
// endpoint POST /accounts/register (accounts' /ui/register). A refused registration comes back to the
// form with its errors and the typed name and e-mail (never the password); a successful one signs the
// new customer in and goes to /account.
package register

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
	Name     = "register"
	FormName = "register"
)

// Page is where the form lives on the storefront.
const Page = "/account/register"

// Model is what the form shows.
type Model struct {
	CSRF        string
	Name, Email string
	Errors      accounts.FieldErrors
}

// Handler serves the form. Parameter: error (a code, only "unavailable").
func Handler(flashes form.Flashes, opts ...fragments.RenderOption) fiber.Handler {
	return func(c *fiber.Ctx) error {
		ctx := c.UserContext()
		fc := fragments.ContextFrom(ctx)
		if !fc.Guest() {
			// Signed in already: the account, not a form for another one.
			return c.Redirect("/account", fiber.StatusSeeOther)
		}
		m := Model{CSRF: fc.CSRF}
		if fl, ok, err := flashes.Take(ctx, FormName, fc.CSRF); err == nil && ok {
			m.Name, m.Email, m.Errors = fl.Values[accounts.FieldName], fl.Values[accounts.FieldEmail], fl.Errors
		}
		if c.Query("error") == form.Unavailable {
			m.Errors = accounts.FieldErrors{"": form.UnavailableMessage}
		}
		return fragments.Render(c, View(m), fragments.Private, opts...)
	}
}

// Registrar signs visitors up and in.
type Registrar interface {
	// Register returns accounts.Invalid errors (by field), ErrEmailTaken, ErrRegisterThrottled or
	// Unavailable errors; previous is the session the request came with, which ends.
	Register(ctx context.Context, r accounts.Registration, client, previous string) (accounts.Customer, accounts.Session, error)
}

// Submit is POST /ui/register (fields name, email, password).
func Submit(svc Registrar, flashes form.Flashes, secure bool) fiber.Handler {
	return func(c *fiber.Ctx) error {
		ctx := c.UserContext()
		fc := fragments.ContextFrom(ctx)
		r := accounts.Registration{Name: c.FormValue(accounts.FieldName), Email: c.FormValue(accounts.FieldEmail),
			Password: c.FormValue(accounts.FieldPassword)}.Normalize()
		_, sess, err := svc.Register(ctx, r, fc.Client, form.SessionID(c))
		if err == nil {
			form.SetSession(c, sess, secure)
			return c.Redirect("/account", fiber.StatusSeeOther)
		}
		back := url.Values{}
		switch code := accounts.ErrorCode(err); code {
		case accounts.Invalid, accounts.Conflict, accounts.RateLimited:
			values := map[string]string{}
			// Over-long values are not kept: the form shows the error, not a megabyte of text.
			if len(r.Name) <= 4*accounts.MaxName {
				values[accounts.FieldName] = r.Name
			}
			if len(r.Email) <= accounts.MaxEmail {
				values[accounts.FieldEmail] = r.Email
			}
			if perr := flashes.Put(ctx, FormName, fc.CSRF, form.Flash{Values: values, Errors: accounts.FormErrors(err)}); perr != nil {
				back.Set("error", form.Unavailable)
			}
			if code == accounts.RateLimited {
				c.Set(fiber.HeaderRetryAfter, "60")
			}
			return form.Redirect(c, Page, back)
		case accounts.Unavailable:
			// The customer may exist now without a session: signing in will work once Redis is back.
			back.Set("error", form.Unavailable)
			return form.Redirect(c, Page, back)
		}
		return err
	}
}

// Package form holds what accounts' form fragments and their endpoints share: the session cookie,
// the flash that carries a refused form back to its page, and the field component.
package form

import (
	"context"
	"net/url"
	"strconv"
	"time"

	"github.com/gofiber/fiber/v2"

	"github.com/inlay-dev/inlay/services/accounts"
)

// Flash is a refused form's values (never a password) and errors.
type Flash = accounts.Flash

// Flashes keeps a refused form for the page the visitor is sent back to; owner is the visitor's
// CSRF token.
type Flashes interface {
	Put(ctx context.Context, form, owner string, fl Flash) error
	Take(ctx context.Context, form, owner string) (Flash, bool, error)
}

// SetSession sets the session cookie: HttpOnly, SameSite=Lax, Path=/, Secure outside dev, for as
// long as the session may live idle. The shell passes it to the browser because accounts owns it.
func SetSession(c *fiber.Ctx, s accounts.Session, secure bool) {
	c.Cookie(&fiber.Cookie{Name: accounts.SessionCookie, Value: s.ID, Path: "/", MaxAge: int(accounts.SessionIdle.Seconds()),
		Expires: time.Now().Add(accounts.SessionIdle), HTTPOnly: true, Secure: secure, SameSite: fiber.CookieSameSiteLaxMode})
}

// ClearSession expires the session cookie.
func ClearSession(c *fiber.Ctx, secure bool) {
	c.Cookie(&fiber.Cookie{Name: accounts.SessionCookie, Value: "", Path: "/", MaxAge: -1,
		Expires: time.Unix(0, 0), HTTPOnly: true, Secure: secure, SameSite: fiber.CookieSameSiteLaxMode})
}

// SessionID returns the session cookie the shell forwards to accounts' own /ui endpoints (and to no
// other team), copied, or "".
func SessionID(c *fiber.Ctx) string {
	id := c.Cookies(accounts.SessionCookie)
	if !accounts.ValidSessionID(id) {
		return ""
	}
	return string([]byte(id))
}

// Unavailable is the ?error= code a form endpoint redirects with when its stores are down; the
// page then says so instead of the form's own errors.
const Unavailable = "unavailable"

// UnavailableMessage is what the pages show for Unavailable.
const UnavailableMessage = "Signing in and up is not possible right now. Please try again in a minute."

// Redirect sends the visitor to path with query (303, so the browser GETs it).
func Redirect(c *fiber.Ctx, path string, query url.Values) error {
	if len(query) > 0 {
		path += "?" + query.Encode()
	}
	return c.Redirect(path, fiber.StatusSeeOther)
}

func itoa(n int) string { return strconv.Itoa(n) }

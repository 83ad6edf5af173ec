package fragments

import (
	"context"
	"crypto/subtle"
	"errors"

	"github.com/gofiber/fiber/v2"
)

// CSRF token transport: forms carry it in a hidden field, script (fetch) requests in a header.
const (
	CSRFField  = "csrf"
	CSRFHeader = "X-CSRF-Token"
)

// ErrCSRF means a state-changing request's CSRF token is missing or does not match its context's.
var ErrCSRF = errors.New("missing or invalid CSRF token")

// CheckCSRF compares token with the CSRF token of the request's Inlay-Context (ContextFrom(ctx)) in
// constant time. It returns ErrCSRF when either is empty or they differ.
func CheckCSRF(ctx context.Context, token string) error {
	want := ContextFrom(ctx).CSRF
	if want == "" || token == "" || subtle.ConstantTimeCompare([]byte(want), []byte(token)) != 1 {
		return ErrCSRF
	}
	return nil
}

// RequireCSRF is middleware for a team's /ui routes, after Middleware: a request with an unsafe
// method (anything but GET, HEAD, OPTIONS, TRACE) must carry its context's CSRF token in the
// CSRFHeader header or the CSRFField form field, or it is refused with 403.
func RequireCSRF() fiber.Handler {
	return func(c *fiber.Ctx) error {
		switch c.Method() {
		case fiber.MethodGet, fiber.MethodHead, fiber.MethodOptions, fiber.MethodTrace:
			return c.Next()
		}
		token := c.Get(CSRFHeader)
		if token == "" {
			token = c.FormValue(CSRFField)
		}
		if err := CheckCSRF(c.UserContext(), token); err != nil {
			return fiber.NewError(fiber.StatusForbidden, err.Error())
		}
		return c.Next()
	}
}

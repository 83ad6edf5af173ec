// Package api is accounts' JSON API for the BFFs and the shell, under /v1 (never exposed by the
// shell):
//
//	POST   /v1/sessions  {"email","password"} → 201 {"token","expires","customer"}: sign in; the token
//	                     is a session id, usable as "Authorization: Bearer <token>"
//	DELETE /v1/sessions  (bearer) → 204: sign out
//	GET    /v1/whoami    (bearer) → 200 {"customerId","name","expires"}: resolve a session, sliding its
//	                     expiry (the shell resolves the inlay_session cookie with it)
//	GET    /v1/profile   (bearer) → 200 {"customerId","name","email","address"}
//
// Errors are RFC 9457 problem details (kit/server.Problem: "code", and "fields" for invalid input)
// with 400, 401 (WWW-Authenticate), 413, 415, 429 (Retry-After) or 503 (sign-in fails closed when
// its throttle cannot be reached). The sign-in body is application/json, at most 4 KiB, with no
// fields but email and password. Sign-in is throttled per e-mail and per caller address (the
// connection's: a BFF signs in for its own callers). Examples of every answer: testdata/*.json.
package api

import (
	"context"
	"strings"
	"time"

	"github.com/gofiber/fiber/v2"

	"github.com/inlay-dev/inlay/fragments"
	"github.com/inlay-dev/inlay/services/accounts"
	"github.com/inlay-dev/inlay/services/kit/errs"
	"github.com/inlay-dev/inlay/services/kit/server"
)

// Service is what the API asks of accounts' domain (accounts.Service).
type Service interface {
	SignIn(ctx context.Context, cr accounts.Credentials, client, previous string) (accounts.Customer, accounts.Session, error)
	SignOut(ctx context.Context, sessionID string) error
	Whoami(ctx context.Context, sessionID string) (accounts.Customer, accounts.Session, error)
}

// API serves /v1.
type API struct {
	svc      Service
	verifier *fragments.Verifier
}

// New returns the API on svc. verifier checks the Inlay-Context a BFF signs: sign-in throttles the
// client address it names, not the BFF's own address (which every app user shares).
func New(svc Service, verifier *fragments.Verifier) *API { return &API{svc: svc, verifier: verifier} }

// Mount adds the /v1 routes to r.
func (a *API) Mount(r fiber.Router) {
	v1 := r.Group("/v1", server.API(BodyLimit))
	v1.Post("/sessions", a.signIn)
	v1.Delete("/sessions", a.signOut)
	v1.Get("/whoami", a.whoami)
	v1.Get("/profile", a.profile)
}

// BodyLimit bounds a request body.
const BodyLimit = 4 << 10

// SignInRequest is POST /v1/sessions' body.
type SignInRequest struct {
	Email    string `json:"email"`
	Password string `json:"password"`
}

// Customer is a customer in answers.
type Customer struct {
	CustomerID string   `json:"customerId"`
	Name       string   `json:"name"`
	Email      string   `json:"email"`
	Address    *Address `json:"address,omitempty"`
}

// Address is a customer's address in answers.
type Address struct {
	Street   string `json:"street"`
	City     string `json:"city"`
	Postcode string `json:"postcode"`
	Country  string `json:"country"`
}

// SessionResponse is POST /v1/sessions' answer.
type SessionResponse struct {
	Token    string    `json:"token"`
	Expires  time.Time `json:"expires"`
	Customer Customer  `json:"customer"`
}

// Whoami is GET /v1/whoami's answer.
type Whoami struct {
	CustomerID string    `json:"customerId"`
	Name       string    `json:"name"`
	Expires    time.Time `json:"expires"`
}

func (a *API) signIn(c *fiber.Ctx) error {
	var req SignInRequest
	if err := server.DecodeJSON(c, &req); err != nil {
		return err
	}
	client, err := a.client(c)
	if err != nil {
		return err
	}
	cu, sess, err := a.svc.SignIn(c.UserContext(), accounts.Credentials{Email: req.Email, Password: req.Password},
		client, "")
	if err != nil {
		return fail(c, err)
	}
	c.Set(fiber.HeaderCacheControl, "no-store")
	return c.Status(fiber.StatusCreated).JSON(SessionResponse{Token: sess.ID, Expires: sess.Expires.UTC(),
		Customer: Customer{CustomerID: cu.ID, Name: cu.Name, Email: cu.Email}})
}

// client is the address sign-in throttles: the client a signed Inlay-Context names (a BFF's caller),
// else the connection's peer. A context that does not verify is refused, never ignored.
func (a *API) client(c *fiber.Ctx) (string, error) {
	h := c.Get(fragments.ContextHeader)
	if h == "" || a.verifier == nil {
		return c.Context().RemoteIP().String(), nil
	}
	fc, err := a.verifier.Verify(h, time.Now())
	if err != nil {
		return "", errs.Errorf(errs.EUNAUTHORIZED, "Inlay-Context does not verify")
	}
	if fc.Client == "" {
		return c.Context().RemoteIP().String(), nil
	}
	return fc.Client, nil
}

func (a *API) signOut(c *fiber.Ctx) error {
	if err := a.svc.SignOut(c.UserContext(), bearer(c)); err != nil {
		return err
	}
	return c.SendStatus(fiber.StatusNoContent)
}

func (a *API) whoami(c *fiber.Ctx) error {
	cu, sess, err := a.svc.Whoami(c.UserContext(), bearer(c))
	if err != nil {
		return fail(c, err)
	}
	c.Set(fiber.HeaderCacheControl, "no-store")
	return c.JSON(Whoami{CustomerID: cu.ID, Name: cu.Name, Expires: sess.Expires.UTC()})
}

func (a *API) profile(c *fiber.Ctx) error {
	cu, _, err := a.svc.Whoami(c.UserContext(), bearer(c))
	if err != nil {
		return fail(c, err)
	}
	out := Customer{CustomerID: cu.ID, Name: cu.Name, Email: cu.Email}
	if !cu.Address.Empty() {
		ad := cu.Address
		out.Address = &Address{Street: ad.Street, City: ad.City, Postcode: ad.Postcode, Country: ad.Country}
	}
	c.Set(fiber.HeaderCacheControl, "no-store")
	return c.JSON(out)
}

// bearer returns the token of "Authorization: Bearer <token>", copied, or "".
func bearer(c *fiber.Ctx) string {
	h := c.Get(fiber.HeaderAuthorization)
	if len(h) < 7 || !strings.EqualFold(h[:7], "bearer ") {
		return ""
	}
	return strings.Clone(strings.TrimSpace(h[7:]))
}

var statusByCode = map[accounts.Code]int{
	accounts.Invalid:      fiber.StatusBadRequest,
	accounts.Unauthorized: fiber.StatusUnauthorized,
	accounts.NotFound:     fiber.StatusNotFound,
	accounts.Conflict:     fiber.StatusConflict,
	accounts.RateLimited:  fiber.StatusTooManyRequests,
	accounts.Unavailable:  fiber.StatusServiceUnavailable,
}

// fail writes err's answer, problem details, when it is an accounts error; anything else goes to
// the server's error handler (500, logged).
func fail(c *fiber.Ctx, err error) error {
	code := accounts.ErrorCode(err)
	status, ok := statusByCode[code]
	if !ok {
		return err
	}
	fe := accounts.FormErrors(err)
	message := fe[""]
	var fields map[string]string
	if message == "" {
		message = "Please correct the request."
		fields = fe
	}
	switch code {
	case accounts.RateLimited:
		c.Set(fiber.HeaderRetryAfter, "60")
	case accounts.Unauthorized:
		c.Set(fiber.HeaderWWWAuthenticate, `Bearer realm="inlay"`)
	case accounts.Unavailable:
		c.Set(fiber.HeaderRetryAfter, "30")
	}
	return server.WriteProblem(c, status, string(code), message, fields)
}

package fragments

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"hash"
	"io"
	"net/http"
	"sync"

	"github.com/gofiber/fiber/v2"
)

// CSRF token transport: forms carry it in a hidden field, script (fetch) requests in a header.
const (
	CSRFField  = "csrf"
	CSRFHeader = "X-CSRF-Token"
	// CSRFPlaceholder is what a public fragment that asks for the token (Fragment.CSRF) renders where
	// the token goes (the csrf field's value): its shared copy holds no visitor's token, and the
	// shell puts the visitor's in its place on every page — only there (name="csrf" value="…", as
	// templ writes the field), never where a visitor's own text echoes the placeholder. It is not a
	// token: posted as it is (a page composed without the shell), it fails the check.
	CSRFPlaceholder = "__inlay_csrf__"
)

// ErrCSRF means a state-changing request's CSRF token is missing or does not match its context's.
var ErrCSRF = errors.New("missing or invalid CSRF token")

// CSRFMessage is what RequireCSRF tells the visitor whose token does not match: most often a page
// loaded before a sign-in or sign-out in another tab (the token changes with the session), or, on a
// first visit, a tab loaded at the same moment as another (each got a token; the browser kept one).
const CSRFMessage = "This page is out of date (another tab of the shop was opened or used to sign in or out since). Please reload it and try again."

// ErrCrossOrigin means a state-changing request came from another site (Sec-Fetch-Site: cross-site,
// or an Origin that is not the storefront's).
var ErrCrossOrigin = errors.New("cross-origin request refused")

// CheckCSRF compares token with the CSRF token of the request's Inlay-Context (ContextFrom(ctx)) in
// constant time. It returns ErrCSRF when either is empty or they differ.
func CheckCSRF(ctx context.Context, token string) error {
	want := ContextFrom(ctx).CSRF
	if want == "" || token == "" || subtle.ConstantTimeCompare([]byte(want), []byte(token)) != 1 {
		return ErrCSRF
	}
	return nil
}

// Safe reports whether method never changes state (GET, HEAD, OPTIONS, TRACE).
func Safe(method string) bool {
	switch method {
	case fiber.MethodGet, fiber.MethodHead, fiber.MethodOptions, fiber.MethodTrace:
		return true
	}
	return false
}

// CheckOrigin refuses a state-changing request that a browser says came from another site, as Go's
// net/http.CrossOriginProtection does: Sec-Fetch-Site must be same-origin or none; without that
// header, an Origin must name host (the storefront's host as the browser saw it). Requests with
// neither header (not from a browser) pass: the CSRF token still guards them.
func CheckOrigin(c *fiber.Ctx, host string) error {
	if Safe(c.Method()) {
		return nil
	}
	r := &http.Request{Method: c.Method(), Host: host, Header: http.Header{}}
	for _, h := range []string{"Sec-Fetch-Site", "Origin"} {
		if v := c.Get(h); v != "" {
			r.Header.Set(h, v)
		}
	}
	if err := http.NewCrossOriginProtection().Check(r); err != nil {
		return ErrCrossOrigin
	}
	return nil
}

// RequireCSRF is middleware for a team's /ui routes, after Middleware: a request with an unsafe
// method (anything but GET, HEAD, OPTIONS, TRACE) must come from the storefront's own pages
// (CheckOrigin against the host the shell forwards in X-Forwarded-Host) and carry its context's
// CSRF token in the CSRFHeader header or the CSRFField form field, or it is refused with 403.
func RequireCSRF() fiber.Handler {
	return func(c *fiber.Ctx) error {
		if Safe(c.Method()) {
			return c.Next()
		}
		host := c.Get(fiber.HeaderXForwardedHost)
		if host == "" {
			host = string(c.Request().Host())
		}
		if err := CheckOrigin(c, host); err != nil {
			return fiber.NewError(fiber.StatusForbidden, err.Error())
		}
		token := c.Get(CSRFHeader)
		if token == "" {
			token = bodyField(c, CSRFField)
		}
		if err := CheckCSRF(c.UserContext(), token); err != nil {
			return fiber.NewError(fiber.StatusForbidden, CSRFMessage)
		}
		return c.Next()
	}
}

// bodyField is a field of the request's form body (URL-encoded or multipart), never of its query
// string: a token taken from the URL would invite links that carry it, into logs, histories and
// Referer headers.
func bodyField(c *fiber.Ctx, name string) string {
	if v := c.Request().PostArgs().Peek(name); len(v) > 0 {
		return string(v)
	}
	if form, err := c.MultipartForm(); err == nil {
		if vs := form.Value[name]; len(vs) > 0 {
			return vs[0]
		}
	}
	return ""
}

// CSRFTokens makes and checks signed double-submit tokens: a random value and its HMAC-SHA256
// under a server key, bound to the visitor's session id when there is one. A token an attacker
// makes up (or plants as a cookie) does not verify, and a token issued before a sign-in does not
// verify for the new session. Tokens use only URL-safe base64 characters.
type CSRFTokens struct {
	key []byte
	// macs are HMAC-SHA256 states under key, reused: a new one hashes the key's pads again, a reset
	// one starts from the saved state.
	macs sync.Pool
}

const (
	csrfRandomLen = 22 // 16 random bytes, base64url without padding
	csrfMACLen    = 43 // 32 bytes of HMAC-SHA256, base64url without padding
	// CSRFTokenLen is the length of every token CSRFTokens issues.
	CSRFTokenLen = csrfRandomLen + csrfMACLen
)

// NewCSRFTokens returns CSRFTokens with a key derived from secret (for the shell: its signing
// key's seed, so every replica issues and accepts the same tokens without another secret).
func NewCSRFTokens(secret []byte) *CSRFTokens {
	m := hmac.New(sha256.New, secret)
	m.Write([]byte("inlay csrf token key v1"))
	t := &CSRFTokens{key: m.Sum(nil)}
	t.macs.New = func() any { return hmac.New(sha256.New, t.key) }
	return t
}

// Issue returns a new token bound to session ("" for a visitor without one).
func (t *CSRFTokens) Issue(session string) string {
	var b [16]byte
	_, _ = rand.Read(b[:]) // crypto/rand.Read never fails
	r := base64.RawURLEncoding.EncodeToString(b[:])
	return r + t.mac(r, session)
}

// Valid reports whether token was issued by Issue with this key for session.
func (t *CSRFTokens) Valid(token, session string) bool {
	if len(token) != CSRFTokenLen {
		return false
	}
	r, mac := token[:csrfRandomLen], token[csrfRandomLen:]
	return hmac.Equal([]byte(mac), []byte(t.mac(r, session)))
}

func (t *CSRFTokens) mac(random, session string) string {
	m := t.macs.Get().(hash.Hash)
	m.Reset()
	_, _ = io.WriteString(m, random) // a hash's Write never fails
	_, _ = m.Write([]byte{0})
	_, _ = io.WriteString(m, session)
	var sum [sha256.Size]byte
	out := base64.RawURLEncoding.EncodeToString(m.Sum(sum[:0]))
	t.macs.Put(m)
	return out
}

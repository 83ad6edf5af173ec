// Package accounts is the language of the accounts context of the Inlay storefront: customers, their
// credentials and their one address (PostgreSQL), and their sessions (Redis, cookie inlay_session).
// See docs/architecture.md and docs/security.md.
//
// The root package holds the domain types, the rules (e-mail, password, name and address policies,
// the safe `next` redirect), the coded errors and Service, which signs customers up, in and out
// through small interfaces. It imports the standard library only; the adapters live in
// sub-packages: argon2id (password hashing), postgres (customers, addresses, the outbox), redis
// (sessions, the sign-in throttle, form flashes), events (what accounts publishes), ui/<fragment>
// (the Account Menu, sign-in, registration and profile fragments with their form endpoints), api
// (the /v1 JSON API) and cmd/accountsd (the process).
package accounts

import (
	"context"
	"errors"
	"net/mail"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"
)

// Policies of the fields a customer types.
const (
	MinPassword = 8   // characters
	MaxPassword = 128 // characters
	MaxEmail    = 254 // bytes (RFC 5321's path limit)
	MaxName     = 100 // characters
)

// Session lifetime: a session ends SessionIdle after its last use (the expiry slides on every
// use), and the cookie lasts as long.
const SessionIdle = 14 * 24 * time.Hour

// SessionCookie is the cookie that carries the session id. accounts sets it (through the shell's
// proxy, which passes Set-Cookie for this name from accounts only); the shell resolves it.
const SessionCookie = "inlay_session"

// Form field names, shared by the fragments' forms and their endpoints (docs/storefront.md).
const (
	FieldName     = "name"
	FieldEmail    = "email"
	FieldPassword = "password"
	FieldStreet   = "street"
	FieldCity     = "city"
	FieldPostcode = "postcode"
	FieldCountry  = "country"
	FieldNext     = "next"
)

// Customer is a registered customer.
type Customer struct {
	ID    string
	Email string // normalised: trimmed, lower case
	Name  string
	// PasswordHash is the encoded hash with its parameters (see PasswordHasher); never shown.
	PasswordHash string
	Address      Address
	CreatedAt    time.Time
}

// Address is a customer's one postal address.
type Address struct {
	Street, City, Postcode, Country string
}

// Empty reports whether no field is set.
func (a Address) Empty() bool { return a == Address{} }

// Normalize trims every field.
func (a Address) Normalize() Address {
	return Address{Street: strings.TrimSpace(a.Street), City: strings.TrimSpace(a.City),
		Postcode: strings.TrimSpace(a.Postcode), Country: strings.TrimSpace(a.Country)}
}

// Validate checks a normalised address: every field is required, bounded and free of control
// characters. It returns nil or the errors by field.
func (a Address) Validate() FieldErrors {
	errs := FieldErrors{}
	for _, f := range []struct {
		field, label, v string
		max             int
	}{
		{FieldStreet, "street", a.Street, 200},
		{FieldCity, "city", a.City, 100},
		{FieldPostcode, "postcode", a.Postcode, 20},
		{FieldCountry, "country", a.Country, 60},
	} {
		if msg := checkText(f.label, f.v, f.max); msg != "" {
			errs[f.field] = msg
		}
	}
	return errs.OrNil()
}

// Registration is what a visitor types to sign up.
type Registration struct {
	Name, Email, Password string
}

// Normalize trims the name and normalises the e-mail; the password is kept as typed.
func (r Registration) Normalize() Registration {
	return Registration{Name: strings.TrimSpace(r.Name), Email: NormalizeEmail(r.Email), Password: r.Password}
}

// Validate checks a normalised registration and returns nil or the errors by field.
func (r Registration) Validate() FieldErrors {
	errs := FieldErrors{}
	if msg := checkText("name", r.Name, MaxName); msg != "" {
		errs[FieldName] = msg
	}
	if msg := CheckEmail(r.Email); msg != "" {
		errs[FieldEmail] = msg
	}
	if msg := CheckPassword(r.Password); msg != "" {
		errs[FieldPassword] = msg
	}
	return errs.OrNil()
}

// Credentials are what a customer types to sign in.
type Credentials struct {
	Email, Password string
}

// Session is a signed-in customer's session. ID is the secret the cookie (or a bearer token)
// carries.
type Session struct {
	ID         string
	CustomerID string
	Expires    time.Time
}

// NormalizeEmail trims s and lower-cases it: e-mail addresses are unique regardless of case.
func NormalizeEmail(s string) string { return strings.ToLower(strings.TrimSpace(s)) }

// CheckEmail returns why the normalised e-mail s is not acceptable, or "".
func CheckEmail(s string) string {
	switch {
	case s == "":
		return "Please enter your e-mail address."
	case len(s) > MaxEmail:
		return "This e-mail address is too long (254 characters at most)."
	}
	a, err := mail.ParseAddress(s)
	if err != nil || a.Address != s || a.Name != "" {
		return "Please enter a valid e-mail address, like name@example.com."
	}
	_, domain, _ := strings.Cut(s, "@")
	if !strings.Contains(domain, ".") || strings.HasPrefix(domain, ".") || strings.HasSuffix(domain, ".") {
		return "Please enter a valid e-mail address, like name@example.com."
	}
	return ""
}

// CheckPassword returns why password p is not acceptable, or "": it must be 8 to 128 characters
// long (and valid UTF-8).
func CheckPassword(p string) string {
	if !utf8.ValidString(p) {
		return "The password holds characters we cannot read."
	}
	switch n := utf8.RuneCountInString(p); {
	case n == 0:
		return "Please enter a password."
	case n < MinPassword:
		return "The password must be at least 8 characters long."
	case n > MaxPassword:
		return "The password must be at most 128 characters long."
	}
	return ""
}

// checkText checks a required single-line text field of at most max characters.
func checkText(label, v string, max int) string {
	if v == "" {
		return "Please enter your " + label + "."
	}
	if !utf8.ValidString(v) {
		return "The " + label + " holds characters we cannot read."
	}
	if utf8.RuneCountInString(v) > max {
		return "The " + label + " is too long."
	}
	for _, r := range v {
		// Control characters, and bidirectional controls (U+202E would make a name read backwards
		// wherever it is shown) or a byte order mark; zero-width (non-)joiners stay: names are
		// written with them in Persian and the Indic scripts.
		if unicode.IsControl(r) || unicode.Is(unicode.Bidi_Control, r) || r == '\uFEFF' || unicode.In(r, unicode.Zl, unicode.Zp) {
			return "The " + label + " holds characters that are not allowed."
		}
	}
	if !strings.ContainsFunc(v, shows) {
		return "Please enter your " + label + "." // nothing that shows (a zero-width space, a Hangul filler)
	}
	return ""
}

// shows reports a character that shows on its own: a letter, a digit, a punctuation or a symbol, but
// not the blank ones (Hangul fillers, the blank Braille pattern) that look like nothing.
func shows(r rune) bool {
	switch r {
	case '\u115F', '\u1160', '\u3164', '\uFFA0', '\u2800':
		return false
	}
	return unicode.IsLetter(r) || unicode.IsDigit(r) || unicode.IsPunct(r) || unicode.IsSymbol(r)
}

// SafeNext returns next when it is a local path on this site ("/checkout/cart?x=1"), else
// "/account". It never returns a URL that leaves the site: no scheme, no host, no "//" or "/\"
// prefix, no control characters or backslashes.
func SafeNext(next string) string {
	const fallback = "/account"
	if next == "" || len(next) > 512 || next[0] != '/' {
		return fallback
	}
	if len(next) > 1 && (next[1] == '/' || next[1] == '\\') {
		return fallback
	}
	for _, r := range next {
		if r < 0x20 || r == 0x7f || r == '\\' {
			return fallback
		}
	}
	return next
}

// Flash is a refused form's typed values (never a password) and its errors, kept for the page the
// visitor is sent back to.
type Flash struct {
	Values map[string]string `json:"values,omitempty"`
	Errors FieldErrors       `json:"errors,omitempty"`
}

// FieldErrors are form errors by field name; the key "" holds an error of the whole form.
type FieldErrors map[string]string

// OrNil returns nil when e is empty.
func (e FieldErrors) OrNil() FieldErrors {
	if len(e) == 0 {
		return nil
	}
	return e
}

// Code classifies an Error; the HTTP adapters map it to a status.
type Code string

// Error codes.
const (
	Invalid      Code = "invalid"      // bad input
	Unauthorized Code = "unauthorized" // wrong credentials, no or an ended session
	NotFound     Code = "not_found"
	Conflict     Code = "conflict"     // the e-mail is taken
	RateLimited  Code = "rate_limited" // too many failed sign-ins
	Unavailable  Code = "unavailable"  // a store is down (sign-in fails closed)
)

// Error is an accounts error with a code and a message safe to show to the visitor.
type Error struct {
	Code    Code
	Message string
	// Fields holds form errors by field, for Invalid.
	Fields FieldErrors
	Err    error // the cause, logged but never shown
}

func (e *Error) Error() string {
	if e.Err != nil {
		return e.Message + ": " + e.Err.Error()
	}
	return e.Message
}

func (e *Error) Unwrap() error { return e.Err }

// Is makes errors.Is(err, ErrX) match any *Error with ErrX's code and message, causes aside.
func (e *Error) Is(target error) bool {
	t, ok := target.(*Error)
	return ok && t.Code == e.Code && t.Message == e.Message
}

// ErrorCode returns the Code of the first *Error in err's chain, or "" (an unexpected error).
func ErrorCode(err error) Code {
	var e *Error
	if errors.As(err, &e) {
		return e.Code
	}
	return ""
}

// Errors every adapter may return.
var (
	// ErrBadCredentials is the one answer to a wrong password and to an unknown e-mail.
	ErrBadCredentials = &Error{Code: Unauthorized, Message: "The e-mail address or the password is not right."}
	// ErrThrottled refuses a sign-in after too many failures for the e-mail or the client address.
	ErrThrottled = &Error{Code: RateLimited, Message: "Too many failed sign-ins. Please wait a minute and try again."}
	// ErrRegisterThrottled refuses a registration after too many from the client address.
	ErrRegisterThrottled = &Error{Code: RateLimited, Message: "Too many new accounts from your address. Please wait a minute and try again."}
	// ErrSignInUnavailable refuses a sign-in when its throttle (or session store) cannot be reached:
	// sign-in fails closed.
	ErrSignInUnavailable = &Error{Code: Unavailable, Message: "Signing in is not possible right now. Please try again in a minute."}
	// ErrEmailTaken: a customer with this e-mail (in any case) exists.
	ErrEmailTaken = &Error{Code: Conflict, Message: "There is already an account with this e-mail address.",
		Fields: FieldErrors{FieldEmail: "There is already an account with this e-mail address."}}
	// ErrNoSession: the session id is unknown, expired or its customer is gone.
	ErrNoSession = &Error{Code: Unauthorized, Message: "You are not signed in."}
	// ErrCustomerNotFound: no customer with this id or e-mail.
	ErrCustomerNotFound = &Error{Code: NotFound, Message: "There is no such customer."}
)

// InvalidInput returns an Invalid *Error carrying errs.
func InvalidInput(errs FieldErrors) *Error {
	return &Error{Code: Invalid, Message: "Please correct the form.", Fields: errs}
}

// wrapUnavailable returns ErrSignInUnavailable with err as its cause.
func wrapUnavailable(err error) error {
	return &Error{Code: ErrSignInUnavailable.Code, Message: ErrSignInUnavailable.Message, Err: err}
}

// CustomerReader finds customers.
type CustomerReader interface {
	// Customer returns the customer with id, or ErrCustomerNotFound.
	Customer(ctx context.Context, id string) (Customer, error)
	// CustomerByEmail returns the customer with the normalised e-mail, or ErrCustomerNotFound.
	CustomerByEmail(ctx context.Context, email string) (Customer, error)
}

// CustomerWriter changes customers; each change commits together with its event.
type CustomerWriter interface {
	// Create stores a new customer and its customer.registered event; ErrEmailTaken when the e-mail
	// is taken.
	Create(ctx context.Context, c Customer) error
	// Update changes the customer id with fn in one transaction (address.changed when the address
	// changed) and returns the new state; ErrCustomerNotFound for an unknown id, and fn's error.
	Update(ctx context.Context, id string, fn func(c *Customer) error) (Customer, error)
}

// SessionStore keeps sessions.
type SessionStore interface {
	// NewSession starts a session of customerID with a fresh random id.
	NewSession(ctx context.Context, customerID string) (Session, error)
	// Session returns the live session id and slides its expiry; ErrNoSession when there is none.
	Session(ctx context.Context, id string) (Session, error)
	// DeleteSession ends the session id; ending one that does not exist is not an error.
	DeleteSession(ctx context.Context, id string) error
}

// Throttle counts failed sign-ins per key (an e-mail, a client address).
type Throttle interface {
	// Allowed returns ErrThrottled when a key has used its failures, ErrSignInUnavailable (or an
	// error wrapping it) when the count cannot be read.
	Allowed(ctx context.Context, keys ...string) error
	// Failed counts one failure for every key.
	Failed(ctx context.Context, keys ...string) error
}

// PasswordHasher hashes passwords into a self-describing encoded form (algorithm, parameters, salt,
// hash) and checks them in constant time.
type PasswordHasher interface {
	Hash(password string) (string, error)
	// Verify reports whether password matches encoded, and whether encoded was made with weaker
	// parameters than the hasher's own (so it should be rehashed). An error means encoded is not
	// a hash this hasher reads.
	Verify(password, encoded string) (ok, rehash bool, err error)
}

// FormErrors returns what a form shows for err: the *Error's errors by field, or its message as the
// form's own error ("" key), or a generic message for an unexpected error.
func FormErrors(err error) FieldErrors {
	var e *Error
	if !errors.As(err, &e) {
		return FieldErrors{"": "Something went wrong. Please try again."}
	}
	if len(e.Fields) > 0 {
		return e.Fields
	}
	return FieldErrors{"": e.Message}
}

// Package errs is the error vocabulary every package may use, the teams' domain packages included:
// a few codes that say what went wrong (WTF Dial's error codes) and an Error that carries a code and
// a message safe to show to the caller. It imports only the standard library; kit/server maps the
// codes to HTTP statuses in its one error handler.
package errs

import (
	"errors"
	"fmt"
)

// Error codes: the only vocabulary handlers need to choose a status. Domain packages wrap their
// errors with one of them.
const (
	EINVALID      = "invalid"      // 400: the request is malformed or fails validation
	EUNAUTHORIZED = "unauthorized" // 401: missing or bad credentials
	EFORBIDDEN    = "forbidden"    // 403: known caller, not allowed
	ENOTFOUND     = "not_found"    // 404
	ECONFLICT     = "conflict"     // 409: the state does not allow it (out of stock, duplicate)
	ETOOLARGE     = "too_large"    // 413
	// EUNPROCESSABLE is 422: a well-formed request that cannot be carried out as asked (an
	// idempotency key reused with a different request).
	EUNPROCESSABLE = "unprocessable"
	ERATELIMIT     = "rate_limited" // 429
	EUNAVAILABLE   = "unavailable"  // 503: a dependency is down
	// ETIMEOUT is 504: a dependency took the request and did not answer in time, so what was asked
	// may have been done (a change: look before sending it again).
	ETIMEOUT  = "timeout"
	EINTERNAL = "internal" // 500
)

// Codes lists every error code.
var Codes = []string{EINVALID, EUNAUTHORIZED, EFORBIDDEN, ENOTFOUND, ECONFLICT, ETOOLARGE, EUNPROCESSABLE,
	ERATELIMIT, EUNAVAILABLE, ETIMEOUT, EINTERNAL}

// Error is an error with a code and a message safe to show to the caller.
type Error struct {
	Code    string
	Message string
	Err     error // the cause, logged but never shown
	// Fields names the request's fields that failed validation, each with a caller-safe message
	// (JSON APIs answer them in the problem body's "fields").
	Fields map[string]string
}

// Errorf returns an *Error with the given code and a formatted, caller-safe message.
func Errorf(code, format string, args ...any) *Error {
	return &Error{Code: code, Message: fmt.Sprintf(format, args...)}
}

// Wrap returns an *Error with the given code and message whose cause is err.
func Wrap(code string, err error, message string) *Error {
	return &Error{Code: code, Message: message, Err: err}
}

// Invalid returns an EINVALID *Error whose fields (field name → message) failed validation.
func Invalid(message string, fields map[string]string) *Error {
	return &Error{Code: EINVALID, Message: message, Fields: fields}
}

func (e *Error) Error() string {
	if e.Err != nil {
		return e.Message + ": " + e.Err.Error()
	}
	return e.Message
}

func (e *Error) Unwrap() error { return e.Err }

// Code returns the code of the first *Error in err's chain, or EINTERNAL.
func Code(err error) string {
	var e *Error
	if errors.As(err, &e) {
		return e.Code
	}
	return EINTERNAL
}

// Message returns the caller-safe message of err: the *Error's message, or a generic one.
func Message(err error) string {
	var e *Error
	if errors.As(err, &e) {
		return e.Message
	}
	return "internal error"
}

// Fields returns the invalid fields of the first *Error in err's chain (nil when there are none).
func Fields(err error) map[string]string {
	var e *Error
	if errors.As(err, &e) {
		return e.Fields
	}
	return nil
}

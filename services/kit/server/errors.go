package server

import (
	"errors"
	"fmt"
	"net/http"
)

// Error codes: the only vocabulary handlers need to choose a status. Domain packages wrap their
// errors with one of them (WTF Dial's error codes).
const (
	EINVALID      = "invalid"      // 400: the request is malformed or fails validation
	EUNAUTHORIZED = "unauthorized" // 401: missing or bad credentials
	EFORBIDDEN    = "forbidden"    // 403: known caller, not allowed
	ENOTFOUND     = "not_found"    // 404
	ECONFLICT     = "conflict"     // 409: the state does not allow it (out of stock, duplicate)
	ETOOLARGE     = "too_large"    // 413
	ERATELIMIT    = "rate_limited" // 429
	EUNAVAILABLE  = "unavailable"  // 503: a dependency is down
	EINTERNAL     = "internal"     // 500
)

// Error is an error with a code and a message safe to show to the caller.
type Error struct {
	Code    string
	Message string
	Err     error // the cause, logged but never shown
}

// Errorf returns an *Error with the given code and a formatted, caller-safe message.
func Errorf(code, format string, args ...any) *Error {
	return &Error{Code: code, Message: fmt.Sprintf(format, args...)}
}

// Wrap returns an *Error with the given code and message whose cause is err.
func Wrap(code string, err error, message string) *Error {
	return &Error{Code: code, Message: message, Err: err}
}

func (e *Error) Error() string {
	if e.Err != nil {
		return e.Message + ": " + e.Err.Error()
	}
	return e.Message
}

func (e *Error) Unwrap() error { return e.Err }

// ErrorCode returns the code of the first *Error in err's chain, or EINTERNAL.
func ErrorCode(err error) string {
	var e *Error
	if errors.As(err, &e) {
		return e.Code
	}
	return EINTERNAL
}

// ErrorMessage returns the caller-safe message of err: the *Error's message, or a generic one.
func ErrorMessage(err error) string {
	var e *Error
	if errors.As(err, &e) {
		return e.Message
	}
	return "internal error"
}

var statusByCode = map[string]int{
	EINVALID:      http.StatusBadRequest,
	EUNAUTHORIZED: http.StatusUnauthorized,
	EFORBIDDEN:    http.StatusForbidden,
	ENOTFOUND:     http.StatusNotFound,
	ECONFLICT:     http.StatusConflict,
	ETOOLARGE:     http.StatusRequestEntityTooLarge,
	ERATELIMIT:    http.StatusTooManyRequests,
	EUNAVAILABLE:  http.StatusServiceUnavailable,
	EINTERNAL:     http.StatusInternalServerError,
}

var codeByStatus = func() map[int]string {
	m := make(map[int]string, len(statusByCode))
	for c, s := range statusByCode {
		m[s] = c
	}
	return m
}()

// Status maps an error code to its HTTP status.
func Status(code string) int {
	if s, ok := statusByCode[code]; ok {
		return s
	}
	return http.StatusInternalServerError
}

// CodeForStatus maps an HTTP status to its error code: the code of that status, else EINVALID for
// a 4xx and EINTERNAL for anything else.
func CodeForStatus(status int) string {
	if c, ok := codeByStatus[status]; ok {
		return c
	}
	if status >= 400 && status < 500 {
		return EINVALID
	}
	return EINTERNAL
}

package server

import (
	"net/http"

	"github.com/inlay-dev/inlay/services/kit/errs"
)

var statusByCode = map[string]int{
	errs.EINVALID:       http.StatusBadRequest,
	errs.EUNAUTHORIZED:  http.StatusUnauthorized,
	errs.EFORBIDDEN:     http.StatusForbidden,
	errs.ENOTFOUND:      http.StatusNotFound,
	errs.ECONFLICT:      http.StatusConflict,
	errs.ETOOLARGE:      http.StatusRequestEntityTooLarge,
	errs.EUNPROCESSABLE: http.StatusUnprocessableEntity,
	errs.ERATELIMIT:     http.StatusTooManyRequests,
	errs.EUNAVAILABLE:   http.StatusServiceUnavailable,
	errs.ETIMEOUT:       http.StatusGatewayTimeout,
	errs.EINTERNAL:      http.StatusInternalServerError,
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
		return errs.EINVALID
	}
	return errs.EINTERNAL
}

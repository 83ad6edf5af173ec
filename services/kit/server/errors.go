package server

import (
	"net/http"

	"github.com/inlay-dev/inlay/services/kit/errs"
)

var statusByCode = map[string]int{
	errs.EINVALID:      http.StatusBadRequest,
	errs.EUNAUTHORIZED: http.StatusUnauthorized,
	errs.EFORBIDDEN:    http.StatusForbidden,
	errs.ENOTFOUND:     http.StatusNotFound,
	errs.ECONFLICT:     http.StatusConflict,
	errs.ETOOLARGE:     http.StatusRequestEntityTooLarge,
	errs.ERATELIMIT:    http.StatusTooManyRequests,
	errs.EUNAVAILABLE:  http.StatusServiceUnavailable,
	errs.EINTERNAL:     http.StatusInternalServerError,
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

package errs_test

import (
	"errors"
	"fmt"
	"testing"

	"github.com/inlay-dev/inlay/services/kit/errs"
)

func TestCodeAndMessage(t *testing.T) {
	t.Parallel()
	cause := errors.New("connection refused")
	tests := []struct {
		name          string
		err           error
		code, message string
	}{
		{"nil", nil, errs.EINTERNAL, "internal error"},
		{"plain error", cause, errs.EINTERNAL, "internal error"},
		{"coded", errs.Errorf(errs.ENOTFOUND, "order %q not found", "o1"), errs.ENOTFOUND, `order "o1" not found`},
		{"wrapped with context", fmt.Errorf("load: %w", errs.Wrap(errs.EUNAVAILABLE, cause, "try again")), errs.EUNAVAILABLE, "try again"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			if got := errs.Code(tt.err); got != tt.code {
				t.Errorf("Code = %q, want %q", got, tt.code)
			}
			if got := errs.Message(tt.err); got != tt.message {
				t.Errorf("Message = %q, want %q", got, tt.message)
			}
		})
	}
}

func TestWrapKeepsTheCause(t *testing.T) {
	t.Parallel()
	cause := errors.New("out of stock")
	err := errs.Wrap(errs.ECONFLICT, cause, "Tractor X is out of stock")
	if !errors.Is(err, cause) {
		t.Error("errors.Is does not find the cause")
	}
	if got := err.Error(); got != "Tractor X is out of stock: out of stock" {
		t.Errorf("Error() = %q", got)
	}
}

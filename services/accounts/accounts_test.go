package accounts_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/inlay-dev/inlay/services/accounts"
)

func TestCheckEmail(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		in string
		ok bool
	}{
		{"ada@example.com", true},
		{accounts.NormalizeEmail("  Ada@Example.COM "), true},
		{"", false},
		{"ada", false},
		{"ada@", false},
		{"ada@localhost", false},
		{"Ada <ada@example.com>", false},
		{"ada@example.com\r\nBcc: x@example.com", false},
		{strings.Repeat("a", 243) + "@example.com", false}, // 255 bytes
		{strings.Repeat("a", 242) + "@example.com", true},  // 254 bytes
	} {
		if got := accounts.CheckEmail(tc.in) == ""; got != tc.ok {
			t.Errorf("CheckEmail(%q) ok = %v, want %v", tc.in, got, tc.ok)
		}
	}
	if accounts.NormalizeEmail("  Ada@Example.COM ") != "ada@example.com" {
		t.Error("NormalizeEmail")
	}
}

func TestCheckPassword(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		in string
		ok bool
	}{
		{"", false},
		{"1234567", false},
		{"12345678", true},
		{strings.Repeat("x", 128), true},
		{strings.Repeat("x", 129), false},
		{strings.Repeat("ä", 128), true}, // characters, not bytes
		{"\xff\xfe\xfd\xfc\xfb\xfa\xf9\xf8", false},
	} {
		if got := accounts.CheckPassword(tc.in) == ""; got != tc.ok {
			t.Errorf("CheckPassword(%q) ok = %v, want %v", tc.in, got, tc.ok)
		}
	}
}

func TestRegistrationValidate(t *testing.T) {
	t.Parallel()
	r := accounts.Registration{Name: "  Ada ", Email: " ADA@example.com", Password: "long enough"}.Normalize()
	if r.Name != "Ada" || r.Email != "ada@example.com" || r.Validate() != nil {
		t.Errorf("%+v: %v", r, r.Validate())
	}
	errs := accounts.Registration{Name: "", Email: "nope", Password: "short"}.Validate()
	for _, f := range []string{accounts.FieldName, accounts.FieldEmail, accounts.FieldPassword} {
		if errs[f] == "" {
			t.Errorf("no error for %s: %v", f, errs)
		}
	}
	if errs := (accounts.Registration{Name: strings.Repeat("n", 101), Email: "a@example.com", Password: "12345678"}).Validate(); errs[accounts.FieldName] == "" {
		t.Error("over-long name accepted")
	}
	if errs := (accounts.Registration{Name: "a\x00b", Email: "a@example.com", Password: "12345678"}).Validate(); errs[accounts.FieldName] == "" {
		t.Error("control character in name accepted")
	}
	for _, name := range []string{"Ada\u202eecalevol", "\u200b", "\ufeffAda", "\u3164", "\u2800", "Ada\u2028Lovelace"} {
		if errs := (accounts.Registration{Name: name, Email: "a@example.com", Password: "12345678"}).Validate(); errs[accounts.FieldName] == "" {
			t.Errorf("name %q accepted", name)
		}
	}
	// A zero-width non-joiner is part of how some names are written (Persian).
	if errs := (accounts.Registration{Name: "\u0645\u06cc\u200c\u0631\u0632\u0627", Email: "a@example.com", Password: "12345678"}).Validate(); errs != nil {
		t.Errorf("a Persian name refused: %v", errs)
	}
}

func TestAddressValidate(t *testing.T) {
	t.Parallel()
	a := accounts.Address{Street: " Main Street 1 ", City: "Springfield", Postcode: "12345", Country: "US"}.Normalize()
	if a.Street != "Main Street 1" || a.Validate() != nil {
		t.Errorf("%+v: %v", a, a.Validate())
	}
	errs := accounts.Address{Postcode: strings.Repeat("1", 21)}.Validate()
	if len(errs) != 4 {
		t.Errorf("errors %v, want one per field", errs)
	}
}

func TestSafeNext(t *testing.T) {
	t.Parallel()
	for in, want := range map[string]string{
		"":                             "/account",
		"/account":                     "/account",
		"/checkout/cart?x=1":           "/checkout/cart?x=1",
		"//evil.example":               "/account",
		"/\\evil.example":              "/account",
		"https://evil.example":         "/account",
		"javascript:alert(1)":          "/account",
		"evil.example/x":               "/account",
		"/a\r\nLocation: //evil":       "/account",
		"/a\\b":                        "/account",
		"/" + strings.Repeat("a", 600): "/account",
	} {
		if got := accounts.SafeNext(in); got != want {
			t.Errorf("SafeNext(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestIDs(t *testing.T) {
	t.Parallel()
	id := accounts.NewID()
	if !accounts.ValidID(id) || accounts.ValidID(strings.ToUpper(id)) || accounts.ValidID(id[1:]) {
		t.Errorf("NewID %q / ValidID", id)
	}
	s := accounts.NewSessionID()
	if !accounts.ValidSessionID(s) || s == accounts.NewSessionID() || accounts.ValidSessionID(s+"=") {
		t.Errorf("NewSessionID %q", s)
	}
}

func TestErrorIs(t *testing.T) {
	t.Parallel()
	wrapped := &accounts.Error{Code: accounts.ErrBadCredentials.Code, Message: accounts.ErrBadCredentials.Message, Err: errors.New("cause")}
	if !errors.Is(wrapped, accounts.ErrBadCredentials) || errors.Is(wrapped, accounts.ErrThrottled) {
		t.Error("Error.Is")
	}
	if accounts.ErrorCode(errors.New("x")) != "" || accounts.ErrorCode(accounts.ErrThrottled) != accounts.RateLimited {
		t.Error("ErrorCode")
	}
}

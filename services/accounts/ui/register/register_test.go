package register_test

import (
	"context"
	"net/url"
	"strings"
	"testing"

	"github.com/inlay-dev/inlay/fragments"
	"github.com/inlay-dev/inlay/services/accounts"
	"github.com/inlay-dev/inlay/services/accounts/ui/internal/uitest"
	"github.com/inlay-dev/inlay/services/accounts/ui/register"
)

type registerFunc func(ctx context.Context, r accounts.Registration) (accounts.Customer, accounts.Session, error)

func (f registerFunc) Register(ctx context.Context, r accounts.Registration, _, _ string) (accounts.Customer, accounts.Session, error) {
	return f(ctx, r)
}

var guest = fragments.Context{CSRF: "tok"}

// TestSubmit: a valid registration signs in and lands on /account; bad input and a taken e-mail come
// back to the form with the errors by field and the typed name and e-mail, never the password, and
// set no cookie.
func TestSubmit(t *testing.T) {
	t.Parallel()
	svc := registerFunc(func(_ context.Context, r accounts.Registration) (accounts.Customer, accounts.Session, error) {
		if errs := r.Validate(); errs != nil {
			return accounts.Customer{}, accounts.Session{}, accounts.InvalidInput(errs)
		}
		if r.Email == "taken@example.com" {
			return accounts.Customer{}, accounts.Session{}, accounts.ErrEmailTaken
		}
		if r.Email == "throttled@example.com" {
			return accounts.Customer{}, accounts.Session{}, accounts.ErrRegisterThrottled
		}
		return accounts.Customer{ID: "c"}, accounts.Session{ID: accounts.NewSessionID()}, nil
	})
	fl := &uitest.Flashes{}
	post := func(v url.Values) (string, bool) {
		t.Helper()
		res, _ := uitest.Do(t, register.Submit(svc, fl, false), guest, "POST", "/", v)
		var cookie bool
		for _, c := range res.Cookies() {
			cookie = cookie || c.Name == accounts.SessionCookie && c.Value != ""
		}
		return res.Header.Get("Location"), cookie
	}
	if loc, cookie := post(url.Values{"name": {"Ada"}, "email": {"ada@example.com"}, "password": {"12345678"}}); loc != "/account" || !cookie {
		t.Errorf("register → %q, cookie %v", loc, cookie)
	}
	for _, tc := range []struct {
		form  url.Values
		field string
	}{
		{url.Values{"name": {""}, "email": {"a@example.com"}, "password": {"12345678"}}, "name"},
		{url.Values{"name": {"A"}, "email": {"not an e-mail"}, "password": {"12345678"}}, "email"},
		{url.Values{"name": {"A"}, "email": {strings.Repeat("a", 250) + "@example.com"}, "password": {"12345678"}}, "email"},
		{url.Values{"name": {"A"}, "email": {"a@example.com"}, "password": {"short"}}, "password"},
		{url.Values{"name": {"A"}, "email": {"a@example.com"}, "password": {strings.Repeat("p", 129)}}, "password"},
		{url.Values{"name": {"A"}, "email": {"Taken@Example.com"}, "password": {"12345678"}}, "email"},
	} {
		loc, cookie := post(tc.form)
		if loc != "/account/register" || cookie {
			t.Errorf("%v → %q, cookie %v", tc.form, loc, cookie)
			continue
		}
		_, doc := uitest.Do(t, register.Handler(fl), guest, "GET", "/", nil)
		if msg := uitest.Text(doc, `[data-testid="register-`+tc.field+`-error"]`); msg == "" {
			t.Errorf("%v: no error on %s: %s", tc.form, tc.field, uitest.Text(doc, "form"))
		}
		if got := doc.Find(`input[name="name"]`).AttrOr("value", ""); got != tc.form.Get("name") {
			t.Errorf("%v: name kept %q", tc.form, got)
		}
		if doc.Find(`input[name="password"]`).AttrOr("value", "") != "" {
			t.Errorf("%v: the password is echoed", tc.form)
		}
	}
	// Too many from the client: back to the form with the throttle's message and a Retry-After.
	res, _ := uitest.Do(t, register.Submit(svc, fl, false), guest, "POST", "/",
		url.Values{"name": {"A"}, "email": {"throttled@example.com"}, "password": {"12345678"}})
	if res.Header.Get("Location") != "/account/register" || res.Header.Get("Retry-After") != "60" {
		t.Errorf("throttled → %q, Retry-After %q", res.Header.Get("Location"), res.Header.Get("Retry-After"))
	}
	_, doc := uitest.Do(t, register.Handler(fl), guest, "GET", "/", nil)
	if msg := uitest.Text(doc, `[data-testid="register-error"]`); !strings.Contains(msg, "Too many new accounts") {
		t.Errorf("throttled: the form says %q", msg)
	}
}

package signin_test

import (
	"context"
	"errors"
	"net/url"
	"testing"

	"github.com/inlay-dev/inlay/fragments"
	"github.com/inlay-dev/inlay/services/accounts"
	"github.com/inlay-dev/inlay/services/accounts/ui/internal/uitest"
	"github.com/inlay-dev/inlay/services/accounts/ui/signin"
)

type signInFunc func(ctx context.Context, cr accounts.Credentials, client, previous string) (accounts.Customer, accounts.Session, error)

func (f signInFunc) SignIn(ctx context.Context, cr accounts.Credentials, client, previous string) (accounts.Customer, accounts.Session, error) {
	return f(ctx, cr, client, previous)
}

var guest = fragments.Context{CSRF: "tok", Client: "192.0.2.1"}

func TestForm(t *testing.T) {
	t.Parallel()
	res, doc := uitest.Do(t, signin.Handler(&uitest.Flashes{}), guest, "GET", "/?next=%2Fcheckout%2Fcart", nil)
	if res.StatusCode != 200 {
		t.Fatalf("status %d", res.StatusCode)
	}
	root := doc.Find(`[data-boundary="accounts"][data-testid="sign-in"]`)
	form := root.Find(`form[method="post"][action="/accounts/login"]`)
	if form.Length() != 1 || form.Find(`input[name="csrf"]`).AttrOr("value", "") != "tok" ||
		form.Find(`input[name="next"]`).AttrOr("value", "") != "/checkout/cart" {
		t.Fatalf("form: %s", uitest.Text(doc, "body"))
	}
	pw := form.Find(`input[name="password"]`)
	if pw.AttrOr("type", "") != "password" || pw.AttrOr("minlength", "") != "8" || pw.AttrOr("maxlength", "") != "128" {
		t.Errorf("password input %v", pw.Nodes[0].Attr)
	}
	// A foreign next is not carried.
	_, doc = uitest.Do(t, signin.Handler(&uitest.Flashes{}), guest, "GET", "/?next=https%3A%2F%2Fevil.example", nil)
	if doc.Find(`input[name="next"]`).Length() != 0 {
		t.Error("a foreign next is carried in the form")
	}
	_, doc = uitest.Do(t, signin.Handler(&uitest.Flashes{}), guest, "GET", "/?error=unavailable", nil)
	if uitest.Text(doc, `[data-testid="sign-in-error"]`) != accounts.ErrSignInUnavailable.Message {
		t.Errorf("unavailable: %q", uitest.Text(doc, `[data-testid="sign-in-error"]`))
	}
}

// TestSubmit: success sets the cookie and goes to a local next only; a refusal comes back to the form
// with the error and the e-mail, never the password; a throttle down (Redis) refuses clearly.
func TestSubmit(t *testing.T) {
	t.Parallel()
	var gotClient string
	svc := signInFunc(func(_ context.Context, cr accounts.Credentials, client, _ string) (accounts.Customer, accounts.Session, error) {
		gotClient = client
		switch cr.Password {
		case "right password":
			return accounts.Customer{ID: "c"}, accounts.Session{ID: accounts.NewSessionID()}, nil
		case "redis down":
			return accounts.Customer{}, accounts.Session{}, &accounts.Error{Code: accounts.Unavailable, Message: "x", Err: errors.New("dial")}
		}
		return accounts.Customer{}, accounts.Session{}, accounts.ErrBadCredentials
	})
	fl := &uitest.Flashes{}
	post := func(pw, next string) (string, bool) {
		res, _ := uitest.Do(t, signin.Submit(svc, fl, true), guest, "POST", "/",
			url.Values{"email": {" Ada@Example.com "}, "password": {pw}, "next": {next}})
		var cookie bool
		for _, c := range res.Cookies() {
			cookie = cookie || c.Name == accounts.SessionCookie && c.Value != "" && c.HttpOnly && c.Secure
		}
		if res.StatusCode != 303 {
			t.Fatalf("status %d", res.StatusCode)
		}
		return res.Header.Get("Location"), cookie
	}
	if loc, cookie := post("right password", "/checkout/cart"); loc != "/checkout/cart" || !cookie || gotClient != "192.0.2.1" {
		t.Errorf("success → %q, cookie %v, client %q", loc, cookie, gotClient)
	}
	if loc, _ := post("right password", "//evil.example/"); loc != "/account" {
		t.Errorf("foreign next → %q, want /account", loc)
	}
	if loc, cookie := post("wrong password", "/checkout/cart"); loc != "/account/login?next=%2Fcheckout%2Fcart" || cookie {
		t.Errorf("wrong password → %q, cookie %v", loc, cookie)
	}
	_, doc := uitest.Do(t, signin.Handler(fl), guest, "GET", "/", nil)
	if uitest.Text(doc, `[data-testid="sign-in-error"]`) != accounts.ErrBadCredentials.Message ||
		doc.Find(`input[name="email"]`).AttrOr("value", "") != "ada@example.com" || doc.Find(`input[name="password"]`).AttrOr("value", "") != "" {
		t.Errorf("form after a refusal: %s", uitest.Text(doc, "body"))
	}
	if loc, cookie := post("redis down", ""); loc != "/account/login?error=unavailable" || cookie {
		t.Errorf("throttle down → %q, cookie %v", loc, cookie)
	}
}

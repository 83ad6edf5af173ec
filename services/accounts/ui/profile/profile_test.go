package profile_test

import (
	"context"
	"net/url"
	"testing"

	"github.com/inlay-dev/inlay/fragments"
	"github.com/inlay-dev/inlay/services/accounts"
	"github.com/inlay-dev/inlay/services/accounts/ui/internal/uitest"
	"github.com/inlay-dev/inlay/services/accounts/ui/profile"
)

type store struct{ c accounts.Customer }

func (s *store) Customer(_ context.Context, id string) (accounts.Customer, error) {
	if id != s.c.ID {
		return accounts.Customer{}, accounts.ErrCustomerNotFound
	}
	return s.c, nil
}

func (s *store) ChangeAddress(_ context.Context, id string, a accounts.Address) (accounts.Customer, error) {
	if errs := a.Validate(); errs != nil {
		return accounts.Customer{}, accounts.InvalidInput(errs)
	}
	s.c.Address = a
	return s.c, nil
}

func TestProfile(t *testing.T) {
	t.Parallel()
	s := &store{c: accounts.Customer{ID: "c-1", Name: "Ada", Email: "ada@example.com"}}
	fl := &uitest.Flashes{}
	me := fragments.Context{CustomerID: "c-1", CSRF: "tok"}
	// A guest, or a customer whose account is gone, is sent to sign in.
	for _, fc := range []fragments.Context{{CSRF: "tok"}, {CustomerID: "gone"}} {
		res, _ := uitest.Do(t, profile.Handler(s, fl), fc, "GET", "/", nil)
		if res.StatusCode != 303 || res.Header.Get("Location") != "/account/login?next=%2Faccount" {
			t.Errorf("%+v: %d → %q", fc, res.StatusCode, res.Header.Get("Location"))
		}
	}
	res, _ := uitest.Do(t, profile.SubmitAddress(s, fl), fragments.Context{CSRF: "tok"}, "POST", "/", url.Values{"street": {"x"}})
	if res.StatusCode != 303 || res.Header.Get("Location") != "/account/login?next=%2Faccount" {
		t.Errorf("guest address post: %d → %q", res.StatusCode, res.Header.Get("Location"))
	}

	_, doc := uitest.Do(t, profile.Handler(s, fl), me, "GET", "/", nil)
	if uitest.Text(doc, `[data-testid="profile-name"]`) != "Ada" || uitest.Text(doc, `[data-testid="profile-email"]`) != "ada@example.com" ||
		doc.Find(`form[method="post"][action="/accounts/address"] input[name="csrf"]`).AttrOr("value", "") != "tok" {
		t.Fatalf("profile: %s", uitest.Text(doc, "body"))
	}
	// A refused address comes back with its values and errors and changes nothing.
	res, _ = uitest.Do(t, profile.SubmitAddress(s, fl), me, "POST", "/", url.Values{"street": {"Main Street 1"}, "postcode": {"12345"}})
	if res.Header.Get("Location") != "/account" || !s.c.Address.Empty() {
		t.Fatalf("refused: → %q, stored %+v", res.Header.Get("Location"), s.c.Address)
	}
	_, doc = uitest.Do(t, profile.Handler(s, fl), me, "GET", "/", nil)
	if doc.Find(`input[name="street"]`).AttrOr("value", "") != "Main Street 1" || uitest.Text(doc, `[data-testid="address-city-error"]`) == "" {
		t.Errorf("after a refusal: %s", uitest.Text(doc, "form"))
	}
	res, _ = uitest.Do(t, profile.SubmitAddress(s, fl), me, "POST", "/", url.Values{"street": {"Main Street 1"}, "city": {"Springfield"}, "postcode": {"12345"}, "country": {"US"}})
	if res.Header.Get("Location") != "/account?saved=1" || s.c.Address.City != "Springfield" {
		t.Fatalf("saved: → %q, stored %+v", res.Header.Get("Location"), s.c.Address)
	}
	_, doc = uitest.Do(t, profile.Handler(s, fl), me, "GET", "/?saved=1", nil)
	if doc.Find(`[data-testid="address-saved"]`).Length() != 1 || doc.Find(`input[name="city"]`).AttrOr("value", "") != "Springfield" {
		t.Errorf("after saving: %s", uitest.Text(doc, "body"))
	}
}

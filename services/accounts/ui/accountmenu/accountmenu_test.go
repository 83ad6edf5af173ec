package accountmenu_test

import (
	"context"
	"testing"

	"github.com/inlay-dev/inlay/fragments"
	"github.com/inlay-dev/inlay/services/accounts"
	"github.com/inlay-dev/inlay/services/accounts/ui/accountmenu"
	"github.com/inlay-dev/inlay/services/accounts/ui/internal/uitest"
)

type customers map[string]accounts.Customer

func (m customers) Customer(_ context.Context, id string) (accounts.Customer, error) {
	c, ok := m[id]
	if !ok {
		return accounts.Customer{}, accounts.ErrCustomerNotFound
	}
	return c, nil
}

func TestMenu(t *testing.T) {
	t.Parallel()
	h := accountmenu.Handler(customers{"c-1": {ID: "c-1", Name: "Ada <Lovelace>"}})
	_, doc := uitest.Do(t, h, fragments.Context{CSRF: "tok"}, "GET", "/", nil)
	if a := doc.Find(`[data-testid="account-menu"][data-boundary="accounts"] a[data-testid="account-menu-sign-in"]`); a.AttrOr("href", "") != "/account/login" || a.Text() != "Sign in" {
		t.Errorf("guest menu: %s", uitest.Text(doc, "body"))
	}
	if doc.Find(`[data-testid="account-menu-sign-out"]`).Length() != 0 {
		t.Error("a guest can sign out")
	}
	res, doc := uitest.Do(t, h, fragments.Context{CustomerID: "c-1", CSRF: "tok"}, "GET", "/", nil)
	if res.Header.Get("Cache-Control") == "" || res.Header.Get("Cache-Control")[:7] != "private" {
		t.Errorf("Cache-Control %q", res.Header.Get("Cache-Control"))
	}
	name := doc.Find(`a[data-testid="account-menu-name"]`)
	if name.AttrOr("href", "") != "/account" || name.Text() != "Ada <Lovelace>" {
		t.Errorf("name link %q → %q", name.Text(), name.AttrOr("href", ""))
	}
	form := doc.Find(`form[method="post"][action="/accounts/logout"]`)
	if form.Find(`input[name="csrf"]`).AttrOr("value", "") != "tok" || form.Find(`button[data-testid="account-menu-sign-out"]`).Text() != "Sign out" {
		t.Errorf("sign-out form: %s", uitest.Text(doc, "body"))
	}
	// A customer whose account is gone sees the guest menu.
	_, doc = uitest.Do(t, h, fragments.Context{CustomerID: "gone"}, "GET", "/", nil)
	if doc.Find(`[data-testid="account-menu-sign-in"]`).Length() != 1 {
		t.Error("a deleted account's menu is not a guest's")
	}
}

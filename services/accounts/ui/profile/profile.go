// Package profile serves accounts' profile (the /account page's content: name, e-mail and the address
// form) and its endpoint POST /accounts/address (accounts' /ui/address). A guest is redirected to
// /account/login?next=/account, by the fragment (the page takes the primary's redirect) and by the
// endpoint.
package profile

import (
	"context"
	"errors"
	"fmt"
	"net/url"

	"github.com/gofiber/fiber/v2"

	"github.com/inlay-dev/inlay/fragments"
	"github.com/inlay-dev/inlay/services/accounts"
	"github.com/inlay-dev/inlay/services/accounts/ui/internal/form"
)

// Name is the fragment's name in accounts' manifest; FormName names its flashes.
const (
	Name     = "profile"
	FormName = "address"
)

// Page is where the profile lives on the storefront, and SignInPage where a guest is sent.
const (
	Page       = "/account"
	SignInPage = "/account/login?next=%2Faccount"
)

// CustomerReader finds the signed-in customer.
type CustomerReader interface {
	// Customer returns the customer id, or accounts.ErrCustomerNotFound.
	Customer(ctx context.Context, id string) (accounts.Customer, error)
}

// Model is what the profile shows.
type Model struct {
	CSRF    string
	Name    string
	Email   string
	Address accounts.Address // the form's values: the stored address, or the refused one
	Errors  accounts.FieldErrors
	Saved   bool
}

// Handler serves the profile. Parameter: saved ("1" after the address was saved).
func Handler(customers CustomerReader, flashes form.Flashes, opts ...fragments.RenderOption) fiber.Handler {
	return func(c *fiber.Ctx) error {
		ctx := c.UserContext()
		fc := fragments.ContextFrom(ctx)
		if fc.Guest() {
			return c.Redirect(SignInPage, fiber.StatusSeeOther)
		}
		cu, err := customers.Customer(ctx, fc.CustomerID)
		if errors.Is(err, accounts.ErrCustomerNotFound) {
			return c.Redirect(SignInPage, fiber.StatusSeeOther)
		}
		if err != nil {
			return fmt.Errorf("profile: %w", err)
		}
		m := Model{CSRF: fc.CSRF, Name: cu.Name, Email: cu.Email, Address: cu.Address, Saved: c.Query("saved") == "1"}
		if fl, ok, err := flashes.Take(ctx, FormName, fc.CSRF); err == nil && ok {
			v := fl.Values
			m.Address = accounts.Address{Street: v[accounts.FieldStreet], City: v[accounts.FieldCity],
				Postcode: v[accounts.FieldPostcode], Country: v[accounts.FieldCountry]}
			m.Errors, m.Saved = fl.Errors, false
		}
		return fragments.Render(c, View(m), fragments.Private, opts...)
	}
}

// AddressChanger changes a customer's address.
type AddressChanger interface {
	// ChangeAddress returns accounts.Invalid errors by field, or ErrCustomerNotFound.
	ChangeAddress(ctx context.Context, customerID string, a accounts.Address) (accounts.Customer, error)
}

// maxKept bounds a refused value kept for the form.
const maxKept = 400

// SubmitAddress is POST /ui/address (fields street, city, postcode, country).
func SubmitAddress(svc AddressChanger, flashes form.Flashes) fiber.Handler {
	return func(c *fiber.Ctx) error {
		ctx := c.UserContext()
		fc := fragments.ContextFrom(ctx)
		if fc.Guest() {
			return c.Redirect(SignInPage, fiber.StatusSeeOther)
		}
		a := accounts.Address{Street: c.FormValue(accounts.FieldStreet), City: c.FormValue(accounts.FieldCity),
			Postcode: c.FormValue(accounts.FieldPostcode), Country: c.FormValue(accounts.FieldCountry)}.Normalize()
		_, err := svc.ChangeAddress(ctx, fc.CustomerID, a)
		switch {
		case err == nil:
			return form.Redirect(c, Page, url.Values{"saved": {"1"}})
		case errors.Is(err, accounts.ErrCustomerNotFound):
			return c.Redirect(SignInPage, fiber.StatusSeeOther)
		case accounts.ErrorCode(err) == accounts.Invalid:
			values := map[string]string{}
			for k, v := range map[string]string{accounts.FieldStreet: a.Street, accounts.FieldCity: a.City,
				accounts.FieldPostcode: a.Postcode, accounts.FieldCountry: a.Country} {
				if len(v) <= maxKept {
					values[k] = v
				}
			}
			if perr := flashes.Put(ctx, FormName, fc.CSRF, form.Flash{Values: values, Errors: accounts.FormErrors(err)}); perr != nil {
				return fmt.Errorf("keep the refused address: %w", perr)
			}
			return c.Redirect(Page, fiber.StatusSeeOther)
		}
		return fmt.Errorf("change address: %w", err)
	}
}

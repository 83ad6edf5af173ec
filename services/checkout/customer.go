package checkout

import (
	"strings"
	"time"
)

// CustomerCopy is checkout's copy of an account, kept by accounts' events: what prefills the checkout
// form of a signed-in customer.
type CustomerCopy struct {
	ID      string
	Email   string
	Name    string
	Address Address
	// RegisteredAt is when the account was made (customer.registered's); zero when not known.
	RegisteredAt time.Time
}

// Address is a customer's postal address.
type Address struct {
	Street, City, Postcode, Country string
}

// Empty reports whether no field is set.
func (a Address) Empty() bool { return a == Address{} }

// String is the address on one line: "Main Street 1, 12345 Springfield, US".
func (a Address) String() string {
	var parts []string
	for _, p := range []string{a.Street, strings.TrimSpace(a.Postcode + " " + a.City), a.Country} {
		if p != "" {
			parts = append(parts, p)
		}
	}
	return strings.Join(parts, ", ")
}

// Prefill fills the empty name and e-mail fields of f from c: the first word of the name is the
// first name, the rest the last name.
func (c CustomerCopy) Prefill(f CheckoutForm) CheckoutForm {
	first, last, _ := strings.Cut(strings.TrimSpace(c.Name), " ")
	if f.FirstName == "" && f.LastName == "" {
		f.FirstName, f.LastName = first, strings.TrimSpace(last)
	}
	if f.Email == "" {
		f.Email = c.Email
	}
	return f
}

// CustomerCartID is the id of the cart a signed-in customer's lines live in: it stays with the
// account across devices and sign-outs.
func CustomerCartID(customerID string) string { return customerCartPrefix + customerID }

const customerCartPrefix = "customer-"

// GuestCartID returns id when it can name a guest's cart, and "" when it names a customer's
// (CustomerCartID): a cart id from a context — a cookie's value the shell signed, whatever the
// browser sent — must never reach a customer's cart, its lines or its orders.
func GuestCartID(id string) string {
	if strings.HasPrefix(id, customerCartPrefix) {
		return ""
	}
	return id
}

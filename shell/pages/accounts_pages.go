package pages

import (
	"github.com/a-h/templ"

	"github.com/inlay-dev/inlay/shell"
)

// accounts is the team that owns the account pages.
const accounts = "accounts"

// orderHistoryTimeout bounds checkout's Order History on the account page; its fallback says the
// orders cannot be shown, the rest of the page stands.
const orderHistoryTimeout = "500ms"

// Login is GET /account/login: Header, accounts' sign-in form (primary) and Footer. ?next= is where
// a successful sign-in goes (accounts accepts only a local path); ?error= a code accounts shows.
func Login() shell.Page {
	return shell.Page{
		Name:   "login",
		Route:  "/account/login",
		Layout: func(r shell.PageRequest) templ.Component { return LoginLayout(r) },
	}
}

// Register is GET /account/register: Header, accounts' registration form (primary) and Footer.
func Register() shell.Page {
	return shell.Page{
		Name:   "register",
		Route:  "/account/register",
		Layout: func(r shell.PageRequest) templ.Component { return RegisterLayout(r) },
	}
}

// Account is GET /account: Header, accounts' profile with the address form (primary: for a guest it
// redirects to /account/login?next=/account, and so does the page), checkout's Order History and
// Footer.
func Account() shell.Page {
	return shell.Page{
		Name:   "account",
		Route:  "/account",
		Layout: func(r shell.PageRequest) templ.Component { return AccountLayout(r) },
	}
}

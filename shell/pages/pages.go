// Package pages holds the storefront's page layouts (docs/storefront.md). Each page is a shell.Page: a route
// and a templ layout whose <inlay-fragment> tags name the fragments the page is composed of. The shell
// fetches every tag's fragment at once, waits for the primary one's status (a 404 or redirect becomes
// the page's), and streams the rest; an async slot never holds the page back.
//
// To add a page: write its layout in a .templ file here (wrap it in Page, give every slot a src built
// with shell.Src, mark the fragment that decides the page's status primary), add a constructor
// returning shell.Page next to it, list it in All, and run `go tool templ generate -path shell/pages`.
package pages

import "github.com/inlay-dev/inlay/shell"

// All returns every storefront page, in route order.
func All() []shell.Page {
	return []shell.Page{
		Home(),
		Category(),
		CategoryAll(),
		Stores(),
		Product(),
		Search(),
		Cart(), Checkout(), Thanks(), Order(),
		Login(), Register(), Account(),
	}
}

// Team names, for data-boundary-page: the team that owns each page.
const (
	explore = "explore"
	decide  = "decide"
)

// Deadlines of the slots every page shares. Header and Footer answer from explore's own database; a
// slow one gives way to its fallback rather than hold the page.
const (
	headerTimeout = "300ms"
	footerTimeout = "300ms"
	// recommendationsTimeout bounds inspire's slot; it is async as well, so the page never waits for it.
	recommendationsTimeout = "300ms"
	// addToCartTimeout bounds checkout's slot on the product page, which shows its fallback after it.
	addToCartTimeout = "300ms"
)

// title is a page title in the store's form; it is also the Title of the pages whose primary
// fragment names what they show (the product's name, the category's, the search).
func title(s string) string {
	if s == "" {
		return "The Tractor Store"
	}
	return s + " · The Tractor Store"
}

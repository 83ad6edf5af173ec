// Package pages holds the storefront's page layouts (STOREFRONT.md). Each page is a shell.Page: a route
// and a templ layout whose <inlay-fragment> tags name the fragments the page is composed of.
//
// To add a page: write its layout in a .templ file here (wrap it in layout.Document, give every slot a
// src built with shell.Src, mark the fragment that decides the page's status primary), add a
// constructor returning shell.Page next to it, list it in All, and run
// `go tool templ generate -path shell/pages`.
package pages

import "github.com/inlay-dev/inlay/shell"

// All returns every storefront page, in route order.
func All() []shell.Page {
	return []shell.Page{
		Home(),
	}
}

// Package shell is Inlay's storefront edge: it composes pages from the teams' fragments (package
// compose), proxies each team's interaction endpoints and assets, and signs the request context the
// teams receive. See docs/fragments.md.
//
// A page is a Page value: a route and a templ layout that emits <inlay-fragment> tags. Storefront
// pages live in shell/pages; page template files (HTML with the same tags) are read from a directory.
package shell

import (
	"net/url"
	"strings"

	"github.com/a-h/templ"
)

// Page is one composed page of the storefront.
type Page struct {
	// Name identifies the page in logs and metrics: "home", "product".
	Name string
	// Route is the Fiber route pattern: "/", "/product/:id".
	Route string
	// Layout renders the page's layout for one request. Its output is an HTML document whose
	// <inlay-fragment> tags the engine replaces with fragments.
	Layout func(r PageRequest) templ.Component
	// Title, when set, makes the page's <title> from what its primary fragment says the page shows
	// (fragments.TitleHeader: "AutoPilot X1 (Silver)"), in the store's form ("AutoPilot X1 (Silver) ·
	// The Tractor Store"). Without it, or when the primary names nothing, the layout's own title
	// stays. Its result is HTML-escaped.
	Title func(primary string) string
}

// PageRequest is what a layout may read of the request it renders. It is a copy: layouts never see
// the Fiber context, cookies or headers.
type PageRequest struct {
	// Path is the request path.
	Path string
	// Params holds the route parameters by name, percent-decoded.
	Params map[string]string
	// Query is the parsed query string.
	Query url.Values
	// Locale is the negotiated locale ("en").
	Locale string
	// Nonce is the response's CSP nonce, for inline scripts.
	Nonce string
}

// Param returns the route parameter name, or "".
func (r PageRequest) Param(name string) string { return r.Params[name] }

// Src builds the src of an <inlay-fragment> tag: "context/name" followed by the given query
// parameters as key, value pairs, escaped. An odd trailing key is ignored; empty values are dropped.
//
//	shell.Src("decide", "product", "id", id, "sku", sku) == "decide/product?id=..&sku=.."
func Src(context, name string, kv ...string) string {
	var b strings.Builder
	b.Grow(len(context) + len(name) + 1 + 16*len(kv))
	b.WriteString(context)
	b.WriteByte('/')
	b.WriteString(name)
	sep := byte('?')
	for i := 0; i+1 < len(kv); i += 2 {
		if kv[i+1] == "" {
			continue
		}
		b.WriteByte(sep)
		sep = '&'
		b.WriteString(url.QueryEscape(kv[i]))
		b.WriteByte('=')
		b.WriteString(url.QueryEscape(kv[i+1]))
	}
	return b.String()
}

package pages

import (
	"github.com/a-h/templ"

	"github.com/inlay-dev/inlay/shell"
)

// NotFound is the storefront's 404 page for addresses no page serves: Header, the message with the
// ways back into the store, Footer. It is not in All (it has no route of its own): the shell serves it
// for any unmatched GET, with status 404. Unknown products and categories do not come here — their
// pages' primary fragments answer 404 with their own message, and the page takes that status.
func NotFound() shell.Page {
	return shell.Page{Name: "not-found", Route: "/*", Layout: func(r shell.PageRequest) templ.Component { return NotFoundLayout(r) }}
}

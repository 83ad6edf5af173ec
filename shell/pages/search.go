package pages

import (
	"github.com/a-h/templ"

	"github.com/inlay-dev/inlay/shell"
)

// Search is GET /search?q=: explore's search form and results.
func Search() shell.Page {
	return shell.Page{Name: "search", Route: "/search",
		Layout: func(r shell.PageRequest) templ.Component { return SearchLayout(r, r.Query.Get("q")) }}
}

package pages

import (
	"github.com/a-h/templ"

	"github.com/inlay-dev/inlay/shell"
)

// CategoryAll is GET /products: every product ("All Machines").
func CategoryAll() shell.Page {
	return shell.Page{Name: "category-all", Route: "/products", Title: title,
		Layout: func(r shell.PageRequest) templ.Component { return CategoryLayout(r, "") }}
}

// Category is GET /products/:category: one category's products. explore's category fragment is
// primary, so an unknown category makes the page a 404.
func Category() shell.Page {
	return shell.Page{Name: "category", Route: "/products/:category", Title: title,
		Layout: func(r shell.PageRequest) templ.Component { return CategoryLayout(r, r.Param("category")) }}
}

package pages

import (
	"github.com/a-h/templ"

	"github.com/inlay-dev/inlay/shell"
)

// Stores is GET /stores: the four stores.
func Stores() shell.Page {
	return shell.Page{Name: "stores", Route: "/stores", Layout: func(r shell.PageRequest) templ.Component { return StoresLayout(r) }}
}

package pages

import (
	"github.com/a-h/templ"

	"github.com/inlay-dev/inlay/shell"
)

// Product is GET /product/:id?sku=: decide's product (primary: an unknown product or sku makes the
// page a 404, a missing sku a redirect to the first variant), checkout's Add To Cart for the selected
// variant, inspire's Recommendations for it — async, so a slow or stopped inspire never holds the page.
func Product() shell.Page {
	return shell.Page{Name: "product", Route: "/product/:id", Title: title,
		Layout: func(r shell.PageRequest) templ.Component { return ProductLayout(r, r.Param("id"), r.Query.Get("sku")) }}
}

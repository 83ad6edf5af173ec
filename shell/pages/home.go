package pages

import (
	"github.com/a-h/templ"

	"github.com/inlay-dev/inlay/shell"
)

// HomeRecommendedSKUs are the variants the home page recommends from (docs/storefront.md).
const HomeRecommendedSKUs = "CL-01-GY,AU-07-MT"

// Home is GET /: Header, explore's category teasers (primary), Recommendations for
// HomeRecommendedSKUs, Footer.
func Home() shell.Page {
	return shell.Page{Name: "home", Route: "/", Layout: func(r shell.PageRequest) templ.Component { return HomeLayout(r) }}
}

package pages

import (
	"github.com/a-h/templ"

	"github.com/inlay-dev/inlay/shell"
)

// maxSearchQuery is how much of a query the shell passes on, in runes: what explore keeps of it
// (its search fragment's MaxQueryLength). A longer one would only lengthen the fragment's request
// line past the team's header buffer (431).
const maxSearchQuery = 200

// Search is GET /search?q=: explore's search form and results.
func Search() shell.Page {
	return shell.Page{Name: "search", Route: "/search", Title: title,
		Layout: func(r shell.PageRequest) templ.Component {
			return SearchLayout(r, clipRunes(r.Query.Get("q"), maxSearchQuery))
		}}
}

// clipRunes returns the first n runes of s.
func clipRunes(s string, n int) string {
	if len(s) <= n {
		return s
	}
	i := 0
	for j := range s {
		if i == n {
			return s[:j]
		}
		i++
	}
	return s
}

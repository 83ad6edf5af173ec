package search_test

import (
	"context"
	"slices"
	"strings"
	"testing"

	"github.com/PuerkitoBio/goquery"

	"github.com/inlay-dev/inlay/fragments"
	"github.com/inlay-dev/inlay/services/explore"
	"github.com/inlay-dev/inlay/services/explore/ui/internal/uitest"
	"github.com/inlay-dev/inlay/services/explore/ui/search"
)

func TestSearchStates(t *testing.T) {
	t.Parallel()
	found := []explore.ProductSummary{
		{ID: "AU-07", Name: "Verde Voyager", Category: "autonomous", StartPrice: 4000},
		{ID: "AU-04", Name: "Sapphire Sunworker 460R", Category: "autonomous", StartPrice: 8500},
	}
	for _, tc := range []struct {
		name, target string
		results      []explore.ProductSummary
		state        string // data-testid of the state shown
		text         string
		tiles        []string
		searched     bool
	}{
		{"no query", "/", nil, "search-empty", "What are you looking for?", nil, false},
		{"blank query", "/?q=+++", nil, "search-empty", "What are you looking for?", nil, false},
		{"punctuation only: asked, nothing to search for", "/?q=+%21+", nil, "search-no-results", "No machines found for “ ! ”.", nil, false},
		{"no results", "/?q=submarine", nil, "search-no-results", "No machines found for “submarine”.", nil, true},
		{"results keep their order", "/?q=tracter", found, "search-summary", "2 results for “tracter”", []string{"AU-07", "AU-04"}, true},
		{"one result", "/?q=verde", found[:1], "search-summary", "1 result for “verde”", []string{"AU-07"}, true},
	} {
		var searched bool
		var gotQ string
		c := uitest.Catalog{SearchFunc: func(_ context.Context, q string, limit int) ([]explore.ProductSummary, error) {
			searched, gotQ = true, q
			if limit != search.Limit {
				t.Errorf("%s: limit %d", tc.name, limit)
			}
			return tc.results, nil
		}}
		res, doc := uitest.Get(t, "/", search.Handler(c), tc.target)
		if res.StatusCode != 200 {
			t.Fatalf("%s: %d", tc.name, res.StatusCode)
		}
		if searched != tc.searched {
			t.Errorf("%s: searched %v, want %v (%q)", tc.name, searched, tc.searched, gotQ)
		}
		// Nothing found is kept by nobody: every junk query would be a cache entry of its own.
		cc := res.Header.Get("Cache-Control")
		if kept := !strings.Contains(cc, "no-store"); kept != (len(tc.results) > 0) {
			t.Errorf("%s: Cache-Control %q", tc.name, cc)
		}
		if doc.Find(`[data-testid="explore-search"][data-boundary="explore"]`).Length() != 1 {
			t.Errorf("%s: no explore root", tc.name)
		}
		if got := uitest.Texts(doc, `[data-testid="`+tc.state+`"]`); len(got) != 1 || !strings.HasPrefix(got[0], tc.text) {
			t.Errorf("%s: state %s = %q, want %q", tc.name, tc.state, got, tc.text)
		}
		ids := doc.Find(`[data-testid="product-tile"]`).Map(func(_ int, s *goquery.Selection) string {
			v, _ := s.Attr("data-product-id")
			return v
		})

		if !slices.Equal(ids, tc.tiles) {
			t.Errorf("%s: tiles %v, want %v", tc.name, ids, tc.tiles)
		}
	}
}

func TestSearchNamesThePageTitle(t *testing.T) {
	t.Parallel()
	c := uitest.Catalog{SearchFunc: func(context.Context, string, int) ([]explore.ProductSummary, error) { return nil, nil }}
	for target, want := range map[string]string{"/": "Search", "/?q=+++": "Search", "/?q=tracter": "Search: tracter",
		"/?q=%3Cb%3E+gr%C3%BCn": "Search: <b> grün"} {
		res, _ := uitest.Get(t, "/", search.Handler(c), target)
		if got := fragments.ParseTitle(res.Header.Get(fragments.TitleHeader)); got != want {
			t.Errorf("%s: title %q, want %q", target, got, want)
		}
	}
}

func TestSearchKeepsTheQueryInTheForm(t *testing.T) {
	t.Parallel()
	_, doc := uitest.Get(t, "/", search.Handler(uitest.Catalog{}), `/?q=%3Cb%3Ered%22`)
	if v, _ := doc.Find(`[data-testid="search-input"]`).Attr("value"); v != `<b>red"` {
		t.Errorf("input value %q", v)
	}
	if doc.Find("b").Length() != 0 {
		t.Error("the query was not escaped")
	}
}

func TestLongQueriesAreCut(t *testing.T) {
	t.Parallel()
	var got string
	c := uitest.Catalog{SearchFunc: func(_ context.Context, q string, _ int) ([]explore.ProductSummary, error) {
		got = q
		return nil, nil
	}}
	uitest.Get(t, "/", search.Handler(c), "/?q="+strings.Repeat("a", 1000))
	if len(got) != search.MaxQueryLength {
		t.Errorf("query of %d runes reached the store", len(got))
	}
}

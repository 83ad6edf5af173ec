package pages_test

import (
	"bytes"
	"context"
	"net/url"
	"slices"
	"strings"
	"testing"

	"github.com/PuerkitoBio/goquery"

	"github.com/inlay-dev/inlay/shell"
	"github.com/inlay-dev/inlay/shell/compose"
	"github.com/inlay-dev/inlay/shell/pages"
)

// slot is what a layout asks of one <inlay-fragment> tag.
type slot struct {
	src            string
	primary, async bool
}

func (s slot) String() string {
	out := s.src
	if s.primary {
		out += " primary"
	}
	if s.async {
		out += " async"
	}
	return out
}

// render renders page for path (with route params and query) and returns its slots in document
// order and the document.
func render(t *testing.T, p shell.Page, params map[string]string, query string) ([]string, *goquery.Document) {
	t.Helper()
	q, err := url.ParseQuery(query)
	if err != nil {
		t.Fatal(err)
	}
	var b bytes.Buffer
	if err := p.Layout(shell.PageRequest{Path: "/", Params: params, Query: q, Locale: "en", Nonce: "n0nce"}).Render(context.Background(), &b); err != nil {
		t.Fatal(err)
	}
	var slots []string
	compose.Scan(b.Bytes(), func(tag compose.Tag) {
		if tag.Timeout == 0 && !tag.Primary {
			t.Errorf("%s: slot %s has no timeout and is not primary", p.Name, tag.Src)
		}
		slots = append(slots, slot{tag.Src, tag.Primary, tag.Async}.String())
	})
	doc, err := goquery.NewDocumentFromReader(&b)
	if err != nil {
		t.Fatal(err)
	}
	return slots, doc
}

func TestLayouts(t *testing.T) {
	t.Parallel()
	const header, footer = "explore/header", "explore/footer"
	for _, tc := range []struct {
		name   string
		page   shell.Page
		params map[string]string
		query  string
		team   string
		slots  []string
	}{
		{"home", pages.Home(), nil, "", "explore",
			[]string{header, "explore/teasers primary", "inspire/recommendations?skus=CL-01-GY%2CAU-07-MT async", footer}},
		{"all products", pages.CategoryAll(), nil, "", "explore",
			[]string{header, "explore/category primary", footer}},
		{"a category", pages.Category(), map[string]string{"category": "classic"}, "", "explore",
			[]string{header, "explore/category?category=classic primary", footer}},
		{"stores", pages.Stores(), nil, "", "explore",
			[]string{header, "explore/stores primary", footer}},
		{"search", pages.Search(), nil, "q=tracter", "explore",
			[]string{header, "explore/search?q=tracter primary", footer}},
		{"empty search", pages.Search(), nil, "", "explore",
			[]string{header, "explore/search primary", footer}},
		{"product", pages.Product(), map[string]string{"id": "AU-02"}, "sku=AU-02-BL", "decide",
			[]string{header, "decide/product?id=AU-02&sku=AU-02-BL primary", "checkout/add-to-cart?sku=AU-02-BL",
				"inspire/recommendations?skus=AU-02-BL async", footer}},
		{"product without a sku (decide redirects)", pages.Product(), map[string]string{"id": "AU-02"}, "", "decide",
			[]string{header, "decide/product?id=AU-02 primary", footer}},
		{"parameters are escaped", pages.Search(), nil, "q=a%26b%3Dc", "explore",
			[]string{header, "explore/search?q=a%26b%3Dc primary", footer}},
	} {
		slots, doc := render(t, tc.page, tc.params, tc.query)
		if !slices.Equal(slots, tc.slots) {
			t.Errorf("%s: slots\n%q\nwant\n%q", tc.name, slots, tc.slots)
		}
		if got := doc.Find("body").AttrOr("data-boundary-page", ""); got != tc.team {
			t.Errorf("%s: data-boundary-page %q, want %q", tc.name, got, tc.team)
		}
		if !strings.Contains(doc.Find("title").Text(), "The Tractor Store") {
			t.Errorf("%s: title %q", tc.name, doc.Find("title").Text())
		}
	}
}

func TestSearchQueryIsClipped(t *testing.T) {
	t.Parallel()
	long := strings.Repeat("ä", 300)
	slots, _ := render(t, pages.Search(), nil, "q="+url.QueryEscape(long))
	want := "explore/search?q=" + url.QueryEscape(strings.Repeat("ä", 200)) + " primary"
	if len(slots) != 3 || slots[1] != want {
		t.Errorf("slots %q, want the query's first 200 runes: %q", slots, want)
	}
}

func TestProductAddToCartHasAFallback(t *testing.T) {
	t.Parallel()
	_, doc := render(t, pages.Product(), map[string]string{"id": "AU-02"}, "sku=AU-02-BL")
	if doc.Find(`inlay-fragment[src^="checkout/add-to-cart"] [data-testid="add-to-cart-unavailable"]`).Length() != 1 {
		t.Error("the Add To Cart slot has no inline fallback")
	}
}

func TestRoutes(t *testing.T) {
	t.Parallel()
	routes := map[string]int{}
	for _, p := range pages.All() {
		routes[p.Route]++
	}
	for _, want := range []string{"/", "/products/:category", "/products", "/stores", "/product/:id", "/search"} {
		if routes[want] != 1 {
			t.Errorf("route %s: %d pages, want 1", want, routes[want])
		}
	}
	if routes[pages.NotFound().Route] != 0 {
		t.Error("the 404 page must not be routed with the others: it would hide every later route")
	}
}

func TestNotFoundLayout(t *testing.T) {
	t.Parallel()
	slots, doc := render(t, pages.NotFound(), nil, "")
	if !slices.Equal(slots, []string{"explore/header", "explore/footer"}) {
		t.Errorf("slots %q", slots)
	}
	if doc.Find(`body[data-boundary-page="shell"] [data-testid="not-found"] a[href="/products"]`).Length() != 1 {
		t.Error("no message with a way back into the store")
	}
}

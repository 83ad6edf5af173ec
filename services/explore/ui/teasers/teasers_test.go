package teasers_test

import (
	"context"
	"slices"
	"testing"

	"github.com/PuerkitoBio/goquery"

	"github.com/inlay-dev/inlay/services/explore"
	"github.com/inlay-dev/inlay/services/explore/ui/internal/uitest"
	"github.com/inlay-dev/inlay/services/explore/ui/teasers"
)

func TestTeasers(t *testing.T) {
	t.Parallel()
	c := uitest.Catalog{TeasersFunc: func(context.Context) ([]explore.Teaser, error) {
		return []explore.Teaser{
			{Category: "classic", Title: "Classic Tractors", URL: "/products/classic"},
			{Category: "autonomous", Title: "Autonomous Tractors", URL: "/products/autonomous"},
		}, nil
	}}
	images := map[string]string{"classic": "/c.svg", "autonomous": "/a.svg"}
	res, doc := uitest.Get(t, "/", teasers.Handler(c, images), "/")
	if res.StatusCode != 200 {
		t.Fatalf("status %d", res.StatusCode)
	}
	if doc.Find(`[data-testid="explore-teasers"][data-boundary="explore"]`).Length() != 1 {
		t.Error("no explore root")
	}
	// The teasers are the home page's content: they carry its one heading.
	if h1 := doc.Find("h1"); h1.Length() != 1 || h1.Text() != teasers.Title {
		t.Errorf("%d h1 %q, want one %q", h1.Length(), h1.Text(), teasers.Title)
	}
	var got []string
	doc.Find(`a[data-testid="teaser"]`).Each(func(_ int, s *goquery.Selection) {
		got = append(got, s.AttrOr("href", "")+" "+s.Find("img").AttrOr("src", "")+" "+s.Find(".ex-teaser__title").Text())
	})
	want := []string{"/products/classic /c.svg Classic Tractors", "/products/autonomous /a.svg Autonomous Tractors"}
	if !slices.Equal(got, want) {
		t.Errorf("teasers %q, want %q", got, want)
	}
}

package stores_test

import (
	"context"
	"errors"
	"testing"

	"github.com/PuerkitoBio/goquery"

	"github.com/inlay-dev/inlay/services/explore"
	"github.com/inlay-dev/inlay/services/explore/ui/internal/uitest"
	"github.com/inlay-dev/inlay/services/explore/ui/stores"
)

func TestStores(t *testing.T) {
	t.Parallel()
	c := uitest.Catalog{StoresFunc: func(context.Context) ([]explore.Store, error) { return uitest.Stores(), nil }}
	images := map[string]string{"store-a": "/a.svg", "store-b": "/b.svg", "store-c": "/c.svg", "store-d": "/d.svg"}
	res, doc := uitest.Get(t, "/", stores.Handler(c, images), "/")
	if res.StatusCode != 200 {
		t.Fatalf("status %d", res.StatusCode)
	}
	if doc.Find(`[data-testid="explore-stores"][data-boundary="explore"]`).Length() != 1 {
		t.Error("no explore root")
	}
	list := doc.Find(`[data-testid="store"]`)
	if list.Length() != 4 {
		t.Fatalf("%d stores, want 4", list.Length())
	}
	list.Each(func(i int, s *goquery.Selection) {
		want := uitest.Stores()[i]
		got := [4]string{s.Find(`[data-testid="store-name"]`).Text(), s.Find(`[data-testid="store-street"]`).Text(),
			s.Find(`[data-testid="store-city"]`).Text(), s.Find("img").AttrOr("src", "")}
		if got != [4]string{want.Name, want.Street, want.City, images[want.ID]} {
			t.Errorf("store %d: %q, want %+v", i, got, want)
		}
	})
}

func TestStoresFailure(t *testing.T) {
	t.Parallel()
	c := uitest.Catalog{StoresFunc: func(context.Context) ([]explore.Store, error) { return nil, errors.New("down") }}
	if res, _ := uitest.Get(t, "/", stores.Handler(c, nil), "/"); res.StatusCode != 500 {
		t.Errorf("status %d, want 500", res.StatusCode)
	}
}

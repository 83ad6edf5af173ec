package category_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/PuerkitoBio/goquery"

	"github.com/inlay-dev/inlay/fragments"
	"github.com/inlay-dev/inlay/services/explore"
	"github.com/inlay-dev/inlay/services/explore/ui/category"
	"github.com/inlay-dev/inlay/services/explore/ui/internal/uitest"
)

func catalog() uitest.Catalog {
	products := []explore.ProductSummary{
		{ID: "AU-04", Name: "Sapphire Sunworker 460R", Category: "autonomous", Image: "/static/decide/img/a.svg", StartPrice: 8500},
		{ID: "CL-08", Name: "Holland Hamster", Category: "classic", Color: "#6b8e23", StartPrice: 7750},
		{ID: "CL-01", Name: "Heritage Workhorse", Category: "classic", Color: "#808080", StartPrice: 5700},
	}
	return uitest.Catalog{
		CategoriesFunc: func(context.Context) ([]explore.Category, error) { return uitest.Categories(), nil },
		ProductsFunc: func(_ context.Context, key string, limit int) (explore.Listing, error) {
			if limit != category.MaxTiles {
				return explore.Listing{}, fmt.Errorf("limit %d, want %d", limit, category.MaxTiles)
			}
			if key != "" && key != "classic" && key != "autonomous" {
				return explore.Listing{}, explore.ErrCategoryNotFound(key)
			}
			var out []explore.ProductSummary
			for _, p := range products {
				if key == "" || p.Category == key {
					out = append(out, p)
				}
			}
			return explore.Listing{Products: out, Total: len(out)}, nil
		},
	}
}

func TestCategory(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		target, title, count, active string
		ids                          []string
	}{
		{"/?", "All Machines", "3 products", "All", []string{"AU-04", "CL-08", "CL-01"}},
		{"/?category=classic", "Classics", "2 products", "Classics", []string{"CL-08", "CL-01"}},
		{"/?category=autonomous", "Autonomous", "1 product", "Autonomous", []string{"AU-04"}},
	} {
		res, doc := uitest.Get(t, "/", category.Handler(catalog()), tc.target)
		if res.StatusCode != 200 {
			t.Fatalf("%s: %d", tc.target, res.StatusCode)
		}
		if got := fragments.ParseTitle(res.Header.Get(fragments.TitleHeader)); got != tc.title {
			t.Errorf("%s: title header %q, want %q", tc.target, got, tc.title)
		}
		if !strings.HasPrefix(res.Header.Get("Cache-Control"), "public") || res.Header.Get("ETag") == "" {
			t.Errorf("%s: Cache-Control %q, ETag %q", tc.target, res.Header.Get("Cache-Control"), res.Header.Get("ETag"))
		}
		root := doc.Find(`[data-testid="explore-category"]`)
		if b, _ := root.Attr("data-boundary"); b != "explore" {
			t.Errorf("%s: data-boundary %q", tc.target, b)
		}
		if got := uitest.Texts(doc, `[data-testid="category-title"]`); !slices.Equal(got, []string{tc.title}) {
			t.Errorf("%s: title %q, want %q", tc.target, got, tc.title)
		}
		if got := uitest.Texts(doc, `[data-testid="category-count"]`); !slices.Equal(got, []string{tc.count}) {
			t.Errorf("%s: count %q, want %q", tc.target, got, tc.count)
		}
		// The active entry is not a link; the other two are.
		if got := uitest.Texts(doc, `[data-testid="category-filter"] span[aria-current]`); !slices.Equal(got, []string{tc.active}) {
			t.Errorf("%s: active filter %q, want %q", tc.target, got, tc.active)
		}
		links := uitest.Texts(doc, `[data-testid="category-filter"] a`)
		if len(links) != 2 || slices.Contains(links, tc.active) {
			t.Errorf("%s: filter links %q", tc.target, links)
		}
		var ids []string
		doc.Find(`[data-testid="product-tile"]`).Each(func(_ int, s *goquery.Selection) {
			id, _ := s.Attr("data-product-id")
			ids = append(ids, id)
			if href, _ := s.Find("a").Attr("href"); href != "/product/"+id {
				t.Errorf("%s: tile %s links %s", tc.target, id, href)
			}
			if s.Find("img, svg").Length() != 1 {
				t.Errorf("%s: tile %s has no image", tc.target, id)
			}
		})
		if !slices.Equal(ids, tc.ids) {
			t.Errorf("%s: tiles %v, want %v", tc.target, ids, tc.ids)
		}
	}
}

func TestTileShowsStartPriceAndImage(t *testing.T) {
	t.Parallel()
	_, doc := uitest.Get(t, "/", category.Handler(catalog()), "/")
	first := doc.Find(`[data-testid="product-tile"]`).First()
	if got := strings.TrimSpace(first.Find(`[data-testid="product-price"]`).Text()); got != "from 8500 Ø" {
		t.Errorf("price %q", got)
	}
	if got := strings.TrimSpace(first.Find(`[data-testid="product-name"]`).Text()); got != "Sapphire Sunworker 460R" {
		t.Errorf("name %q", got)
	}
	if src, _ := first.Find("img").Attr("src"); src != "/static/decide/img/a.svg" {
		t.Errorf("image %q", src)
	}
	// Without an image URL, the tile draws a tractor in the product's colour.
	second := doc.Find(`[data-testid="product-tile"]`).Eq(1)
	if fill, _ := second.Find("svg rect").First().Attr("fill"); fill != "#6b8e23" {
		t.Errorf("drawn tractor colour %q", fill)
	}
}

func TestUnknownCategoryIs404(t *testing.T) {
	t.Parallel()
	res, doc := uitest.Get(t, "/", category.Handler(catalog()), "/?category=hovercraft")
	if res.StatusCode != 404 {
		t.Errorf("status %d, want 404", res.StatusCode)
	}
	if doc.Find(`[data-testid="explore-category-not-found"][data-boundary="explore"]`).Length() != 1 {
		t.Error("no not-found content")
	}
}

func TestStoreFailureIsAnError(t *testing.T) {
	t.Parallel()
	c := catalog()
	c.ProductsFunc = func(context.Context, string, int) (explore.Listing, error) {
		return explore.Listing{}, errors.New("db down")
	}
	res, _ := uitest.Get(t, "/", category.Handler(c), "/")
	if res.StatusCode != 500 {
		t.Errorf("status %d, want 500 (the shell then shows the fallback)", res.StatusCode)
	}
}

func TestMoreProductsThanTiles(t *testing.T) {
	t.Parallel()
	c := catalog()
	c.ProductsFunc = func(context.Context, string, int) (explore.Listing, error) {
		return explore.Listing{Products: []explore.ProductSummary{{ID: "A", Name: "A", StartPrice: 9}}, Total: 20000}, nil
	}
	_, doc := uitest.Get(t, "/", category.Handler(c), "/")
	if got := uitest.Texts(doc, `[data-testid="category-count"]`); !slices.Equal(got, []string{"20000 products"}) {
		t.Errorf("count %q", got)
	}
	if got := uitest.Texts(doc, `[data-testid="category-more"]`); !slices.Equal(got, []string{"Showing the first 1."}) {
		t.Errorf("more %q", got)
	}
}

func TestCount(t *testing.T) {
	t.Parallel()
	for n, want := range map[int]string{0: "0 products", 1: "1 product", 2: "2 products", 23: "23 products"} {
		if got := category.Count(n); got != want {
			t.Errorf("Count(%d) = %q, want %q", n, got, want)
		}
	}
}

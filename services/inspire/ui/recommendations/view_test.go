package recommendations_test

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"

	"github.com/PuerkitoBio/goquery"
	"github.com/gofiber/fiber/v2"

	"github.com/inlay-dev/inlay/fragments"
	"github.com/inlay-dev/inlay/services/inspire"
	"github.com/inlay-dev/inlay/services/inspire/ui/recommendations"
	"github.com/inlay-dev/inlay/services/kit/logging"
	"github.com/inlay-dev/inlay/services/kit/server"
)

// store is a function-field fake of inspire.VariantStore.
type store struct {
	variants func(skus []string) ([]inspire.Variant, error)
	nearest  func(target inspire.RGB, exclude []string, n int) ([]inspire.Variant, error)
}

func (s store) Variants(_ context.Context, skus []string) ([]inspire.Variant, error) {
	return s.variants(skus)
}

func (s store) Nearest(_ context.Context, target inspire.RGB, exclude []string, n int) ([]inspire.Variant, error) {
	return s.nearest(target, exclude, n)
}

func v(product, sku, hex string) inspire.Variant {
	c, _ := inspire.ParseColor(hex)
	return inspire.Variant{SKU: sku, ProductID: product, ProductName: "Tractor " + product, Name: "Colour " + sku,
		Color: c, Image: "/static/decide/img/" + sku + ".svg"}
}

var catalog = []inspire.Variant{
	v("CL-01", "CL-01-GY", "#808080"), v("AU-07", "AU-07-MT", "#606060"), v("CL-02", "CL-02-BK", "#101010"),
	v("CL-03", "CL-03-WH", "#f0f0f0"), v("AU-01", "AU-01-SI", "#c0c0c0"), v("CL-04", "CL-04-RD", "#ff0000"),
	v("CL-05", "CL-05-GR", "#00ff00"),
}

func memory() store {
	return store{
		variants: func(skus []string) ([]inspire.Variant, error) {
			var out []inspire.Variant
			for _, v := range catalog {
				if slices.Contains(skus, v.SKU) {
					out = append(out, v)
				}
			}
			return out, nil
		},
		nearest: func(target inspire.RGB, exclude []string, n int) ([]inspire.Variant, error) {
			return inspire.Nearest(catalog, target, exclude, n), nil
		},
	}
}

func newApp(s store) *fiber.App {
	srv := server.New(server.Options{Name: "inspire", Log: logging.New(io.Discard, "inspire", slog.LevelError)})
	srv.App.Get("/fragments/recommendations", recommendations.Handler(s, "/static/inspire/inspire.css"))
	return srv.App
}

func get(t *testing.T, app *fiber.App, target string) (*http.Response, string) {
	t.Helper()
	req := httptest.NewRequest(http.MethodGet, target, nil)
	req.Header.Set("Accept", "text/html")
	resp, err := app.Test(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp, string(b)
}

func TestRecommendations(t *testing.T) {
	t.Parallel()
	resp, body := get(t, newApp(memory()), "/fragments/recommendations?skus=CL-01-GY,AU-07-MT")
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("status %d", resp.StatusCode)
	}
	doc, err := goquery.NewDocumentFromReader(strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	root := doc.Find(`[data-testid="inspire-recommendations"]`)
	if root.AttrOr("data-boundary", "") != "inspire" {
		t.Fatalf("no inspire root: %s", body)
	}
	var skus []string
	root.Find(`[data-testid="inspire-recommendation"]`).Each(func(_ int, s *goquery.Selection) {
		skus = append(skus, s.AttrOr("data-sku", ""))
	})
	want := inspire.Nearest(catalog, inspire.RGB{R: 0x70, G: 0x70, B: 0x70}, []string{"CL-01-GY", "AU-07-MT"}, 4)
	wantSKUs := make([]string, 0, len(want))
	for _, w := range want {
		wantSKUs = append(wantSKUs, w.SKU)
	}
	if !slices.Equal(skus, wantSKUs) {
		t.Errorf("recommended %v, want %v", skus, wantSKUs)
	}
	first := root.Find(`[data-testid="inspire-recommendation"] a`).First()
	if href := first.AttrOr("href", ""); href != "/product/"+want[0].ProductID+"?sku="+want[0].SKU {
		t.Errorf("link %q", href)
	}
	if src := first.Find("img").AttrOr("src", ""); src != want[0].Image {
		t.Errorf("image %q", src)
	}
	if cc := resp.Header.Get("Cache-Control"); !strings.HasPrefix(cc, "public") {
		t.Errorf("Cache-Control %q: the fragment is the same for everyone", cc)
	}
	if !strings.Contains(resp.Header.Get("Link"), "/static/inspire/inspire.css") {
		t.Errorf("Link %q", resp.Header.Get("Link"))
	}
	// Tagged with the products it shows, each once, so a change of one of them purges it.
	var wantTags []string
	for _, w := range want {
		if tag := fragments.ProductTag(w.ProductID); !slices.Contains(wantTags, tag) {
			wantTags = append(wantTags, tag)
		}
	}
	if got := fragments.ParseTags(resp.Header.Get(fragments.TagsHeader)); !slices.Equal(got, wantTags) {
		t.Errorf("%s %v, want %v", fragments.TagsHeader, got, wantTags)
	}
}

func TestNothingWhenNone(t *testing.T) {
	t.Parallel()
	for _, target := range []string{
		"/fragments/recommendations",
		"/fragments/recommendations?skus=",
		"/fragments/recommendations?skus=UNKNOWN",
	} {
		resp, body := get(t, newApp(memory()), target)
		if resp.StatusCode != http.StatusOK || strings.TrimSpace(body) != "" {
			t.Errorf("GET %s: %d %q, want 200 and nothing", target, resp.StatusCode, body)
		}
		// Not kept: each junk ?skus= would be a cache entry of its own in the shell.
		if cc := resp.Header.Get("Cache-Control"); !strings.Contains(cc, "no-store") {
			t.Errorf("GET %s: Cache-Control %q, want no-store", target, cc)
		}
	}
	// Every other variant excluded: nothing left to recommend.
	all := make([]string, 0, len(catalog))
	for _, v := range catalog {
		all = append(all, v.SKU)
	}
	resp, body := get(t, newApp(memory()), "/fragments/recommendations?skus="+strings.Join(all, ","))
	if resp.StatusCode != http.StatusOK || strings.TrimSpace(body) != "" {
		t.Errorf("all excluded: %d %q", resp.StatusCode, body)
	}
}

func TestStoreFailure(t *testing.T) {
	t.Parallel()
	s := memory()
	s.nearest = func(inspire.RGB, []string, int) ([]inspire.Variant, error) { return nil, errors.New("db down") }
	resp, _ := get(t, newApp(s), "/fragments/recommendations?skus=CL-01-GY")
	if resp.StatusCode != http.StatusInternalServerError {
		t.Errorf("status %d, want 500 (the shell shows the fallback)", resp.StatusCode)
	}
}

package product_test

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/PuerkitoBio/goquery"
	"github.com/gofiber/fiber/v2"

	"github.com/inlay-dev/inlay/fragments"
	"github.com/inlay-dev/inlay/services/decide"
	"github.com/inlay-dev/inlay/services/decide/ui/product"
	"github.com/inlay-dev/inlay/services/kit/logging"
	"github.com/inlay-dev/inlay/services/kit/server"
)

type images struct{}

func (images) ImageURL(color string, size decide.ImageSize) string {
	return "/img/" + strings.TrimPrefix(color, "#") + "-" + string(size) + ".svg"
}

var titan = decide.Product{ID: "AU-02", Name: "SmartFarm Titan", Category: "autonomous", Version: 1,
	Highlights: []string{"Autopilot.", "Solar."},
	Variants: []decide.Variant{
		{SKU: "AU-02-OG", Name: "Sunset Copper", Color: "#dd5219", Price: 4100},
		{SKU: "AU-02-BL", Name: "Cosmic Sapphire", Color: "#2a52be", Price: 4000},
		{SKU: "AU-02-GG", Name: "Verdant Shadow", Color: "#005a04", Price: 4000},
	}}

func newApp(find product.ProductsFunc) *fiber.App {
	s := server.New(server.Options{Name: "decide", Log: logging.New(nopWriter{}, "decide", slog.LevelError)})
	s.App.Get("/fragments/product", product.Handler(find, images{}, "/static/decide/decide.css"))
	return s.App
}

type nopWriter struct{}

func (nopWriter) Write(p []byte) (int, error) { return len(p), nil }

func catalog(_ context.Context, id string) (decide.Product, error) {
	if id == titan.ID {
		return titan, nil
	}
	return decide.Product{}, decide.ErrProductNotFound(id)
}

func get(t *testing.T, app *fiber.App, target string) (*http.Response, *goquery.Document) {
	t.Helper()
	req := httptest.NewRequest(http.MethodGet, target, nil)
	req.Header.Set("Accept", "text/html")
	resp, err := app.Test(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	doc, err := goquery.NewDocumentFromReader(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp, doc
}

func TestProduct(t *testing.T) {
	t.Parallel()
	resp, doc := get(t, newApp(catalog), "/fragments/product?id=AU-02&sku=AU-02-BL")
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("status %d", resp.StatusCode)
	}
	root := doc.Find(`[data-testid="decide-product"]`)
	if root.AttrOr("data-boundary", "") != "decide" || root.AttrOr("data-sku", "") != "AU-02-BL" {
		t.Errorf("root %v", root.Nodes)
	}
	if got := doc.Find(`[data-testid="decide-product-name"]`).Text(); got != "SmartFarm Titan" {
		t.Errorf("name %q", got)
	}
	if got := doc.Find(`[data-testid="decide-product-image"]`).AttrOr("src", ""); got != "/img/2a52be-large.svg" {
		t.Errorf("image %q", got)
	}
	if n := doc.Find(`[data-testid="decide-product-highlights"] li`).Length(); n != 2 {
		t.Errorf("%d highlights", n)
	}
	sel := doc.Find(`[data-testid="decide-variant-selected"]`)
	if sel.Length() != 1 || strings.TrimSpace(sel.Text()) != "Cosmic Sapphire" || sel.Closest("a").Length() != 0 {
		t.Errorf("selected variant: %d %q", sel.Length(), sel.Text())
	}
	var links []string
	doc.Find(`[data-testid="decide-variant-link"]`).Each(func(_ int, s *goquery.Selection) {
		links = append(links, s.AttrOr("href", ""))
	})
	if strings.Join(links, " ") != "/product/AU-02?sku=AU-02-OG /product/AU-02?sku=AU-02-GG" {
		t.Errorf("variant links %v", links)
	}
	if cc := resp.Header.Get("Cache-Control"); !strings.HasPrefix(cc, "public") {
		t.Errorf("Cache-Control %q", cc)
	}
	if link := resp.Header.Get("Link"); !strings.Contains(link, "/static/decide/decide.css") {
		t.Errorf("Link %q", link)
	}
	if got := fragments.ParseTitle(resp.Header.Get(fragments.TitleHeader)); got != "SmartFarm Titan (Cosmic Sapphire)" {
		t.Errorf("title %q: want the product's name and the variant's", got)
	}
}

func TestProductStatuses(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name     string
		target   string
		status   int
		location string
		testid   string
	}{
		{"no sku redirects to the first variant", "/fragments/product?id=AU-02", http.StatusFound, "/product/AU-02?sku=AU-02-OG", ""},
		{"unknown product", "/fragments/product?id=XX-99&sku=XX-99-A", http.StatusNotFound, "", "decide-product-not-found"},
		{"unknown product without sku", "/fragments/product?id=XX-99", http.StatusNotFound, "", "decide-product-not-found"},
		{"unknown sku", "/fragments/product?id=AU-02&sku=AU-03-TQ", http.StatusNotFound, "", "decide-product-not-found"},
		{"no id", "/fragments/product", http.StatusBadRequest, "", ""},
	}
	app := newApp(catalog)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			resp, doc := get(t, app, tt.target)
			if resp.StatusCode != tt.status {
				t.Fatalf("status %d, want %d", resp.StatusCode, tt.status)
			}
			if got := resp.Header.Get("Location"); got != tt.location {
				t.Errorf("Location %q, want %q", got, tt.location)
			}
			if tt.testid != "" {
				root := doc.Find(`[data-testid="` + tt.testid + `"]`)
				if root.Length() != 1 || root.AttrOr("data-boundary", "") != "decide" {
					t.Errorf("no %s root with data-boundary", tt.testid)
				}
				if got := fragments.ParseTitle(resp.Header.Get(fragments.TitleHeader)); got != product.NotFoundTitle {
					t.Errorf("title %q, want %q", got, product.NotFoundTitle)
				}
			}
		})
	}
}

func TestProductStoreFailure(t *testing.T) {
	t.Parallel()
	app := newApp(func(context.Context, string) (decide.Product, error) { return decide.Product{}, errors.New("db down") })
	resp, _ := get(t, app, "/fragments/product?id=AU-02&sku=AU-02-OG")
	if resp.StatusCode != http.StatusInternalServerError {
		t.Errorf("status %d, want 500 (the shell then shows the fallback)", resp.StatusCode)
	}
}

func TestManifest(t *testing.T) {
	t.Parallel()
	m := product.Manifest("decide.abc.css")
	if m.Cache != "public" || len(m.Params) != 2 || m.CSS[0] != "decide.abc.css" || m.Fallback == "" {
		t.Errorf("manifest %+v", m)
	}
}

package card_test

import (
	"context"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/PuerkitoBio/goquery"

	"github.com/inlay-dev/inlay/services/decide"
	"github.com/inlay-dev/inlay/services/decide/ui/card"
	"github.com/inlay-dev/inlay/services/kit/logging"
	"github.com/inlay-dev/inlay/services/kit/server"
)

type images struct{}

func (images) ImageURL(color string, size decide.ImageSize) string {
	return "/static/decide/img/" + strings.TrimPrefix(color, "#") + "-" + string(size) + ".svg"
}

var titan = decide.Product{ID: "AU-02", Name: "SmartFarm Titan", Category: "autonomous", Version: 1,
	Variants: []decide.Variant{
		{SKU: "AU-02-OG", Name: "Sunset Copper", Color: "#dd5219", Price: 4100},
		{SKU: "AU-02-BL", Name: "Cosmic Sapphire", Color: "#2a52be", Price: 4000},
	}}

type catalog struct{}

func (catalog) ProductBySKU(_ context.Context, sku string) (decide.Product, error) {
	if _, err := titan.Variant(sku); err != nil {
		return decide.Product{}, decide.ErrVariantNotFound(sku)
	}
	return titan, nil
}

type nopWriter struct{}

func (nopWriter) Write(p []byte) (int, error) { return len(p), nil }

func get(t *testing.T, target string) (*http.Response, *goquery.Document) {
	t.Helper()
	s := server.New(server.Options{Name: "decide", Log: logging.New(nopWriter{}, "decide", slog.LevelError)})
	s.App.Get("/fragments/product-card", card.Handler(catalog{}, images{}, "/static/decide/decide.css"))
	resp, err := s.App.Test(httptest.NewRequest(http.MethodGet, target, nil))
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

func TestCard(t *testing.T) {
	t.Parallel()
	resp, doc := get(t, "/fragments/product-card?sku=AU-02-BL")
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("status %d", resp.StatusCode)
	}
	if cc := resp.Header.Get("Cache-Control"); !strings.HasPrefix(cc, "public, max-age=60") {
		t.Errorf("Cache-Control %q", cc)
	}
	if tags := resp.Header.Get("Inlay-Tags"); tags != "product:AU-02" {
		t.Errorf("Inlay-Tags %q, want the product's tag", tags)
	}
	root := doc.Find(`[data-testid="decide-card"]`)
	if root.AttrOr("data-boundary", "") != "decide" || root.AttrOr("data-sku", "") != "AU-02-BL" {
		t.Fatalf("root %v", root.Nodes)
	}
	for sel, want := range map[string]string{
		`[data-testid="decide-card-name"]`:     "SmartFarm Titan",
		`[data-testid="decide-card-price"]`:    "4000 Ø",
		`[data-testid="decide-card-selected"]`: "Cosmic Sapphire",
		`[data-testid="decide-card-link"]`:     "View at The Tractor Store",
	} {
		if got := strings.TrimSpace(doc.Find(sel).Text()); got != want {
			t.Errorf("%s = %q, want %q", sel, got, want)
		}
	}
	if href := doc.Find(`[data-testid="decide-card-link"]`).AttrOr("href", ""); href != "/product/AU-02?sku=AU-02-BL" {
		t.Errorf("link %q", href)
	}
	if n := doc.Find(`.decide-card__swatch`).Length(); n != 2 {
		t.Errorf("%d swatches, want 2", n)
	}
	if src := doc.Find(`inlay-fragment`).AttrOr("src", ""); src != "inspire/recommendations?skus=AU-02-BL" {
		t.Errorf("nested fragment %q", src)
	}
	if doc.Find(`form, button, input`).Length() != 0 {
		t.Error("the card carries a form or a button; buying happens on the storefront")
	}
	doc.Find(`[class]`).Each(func(_ int, s *goquery.Selection) {
		for _, c := range strings.Fields(s.AttrOr("class", "")) {
			if !strings.HasPrefix(c, "decide-") {
				t.Errorf("class %q lacks decide's prefix", c)
			}
		}
	})
}

func TestCardUnknownSKU(t *testing.T) {
	t.Parallel()
	resp, doc := get(t, "/fragments/product-card?sku=XX-99-ZZ")
	if resp.StatusCode != http.StatusNotFound || doc.Find(`[data-testid="decide-card-not-found"]`).Length() != 1 {
		t.Fatalf("status %d, body %v", resp.StatusCode, doc.Text())
	}
	if resp, _ := get(t, "/fragments/product-card"); resp.StatusCode != http.StatusBadRequest {
		t.Fatalf("without sku: status %d, want 400", resp.StatusCode)
	}
}

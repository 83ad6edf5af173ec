package pages_test

import (
	"context"
	"net/url"
	"strings"
	"testing"

	"github.com/PuerkitoBio/goquery"

	"github.com/inlay-dev/inlay/shell"
	"github.com/inlay-dev/inlay/shell/pages"
)

func TestCheckoutPages(t *testing.T) {
	tests := []struct {
		page    shell.Page
		route   string
		query   url.Values
		primary string
		srcs    []string
	}{
		{pages.Cart(), "/checkout/cart", url.Values{"error": {"out-of-stock"}}, "checkout/cart?error=out-of-stock",
			[]string{"explore/header", "checkout/cart?error=out-of-stock", "explore/footer"}},
		{pages.Checkout(), "/checkout/checkout", url.Values{}, "checkout/checkout",
			[]string{"checkout/compact-header", "checkout/checkout", "explore/footer"}},
		{pages.Thanks(), "/checkout/thanks", url.Values{"order": {"01a2"}}, "checkout/thanks?order=01a2",
			[]string{"explore/header", "checkout/thanks?order=01a2", "explore/footer"}},
		{pages.Order(), "/checkout/orders/:id", nil, "checkout/order?order=01a3",
			[]string{"explore/header", "checkout/order?order=01a3", "explore/footer"}},
	}
	for _, tt := range tests {
		t.Run(tt.page.Name, func(t *testing.T) {
			if tt.page.Route != tt.route {
				t.Errorf("route %q", tt.page.Route)
			}
			var b strings.Builder
			if err := tt.page.Layout(shell.PageRequest{Path: tt.route, Query: tt.query, Params: map[string]string{"id": "01a3"}, Locale: "en", Nonce: "n"}).Render(context.Background(), &b); err != nil {
				t.Fatal(err)
			}
			doc, err := goquery.NewDocumentFromReader(strings.NewReader(b.String()))
			if err != nil {
				t.Fatal(err)
			}
			if got := doc.Find("body").AttrOr("data-boundary-page", ""); got != "checkout" {
				t.Errorf("data-boundary-page %q", got)
			}
			var srcs []string
			doc.Find("inlay-fragment").Each(func(_ int, s *goquery.Selection) { srcs = append(srcs, s.AttrOr("src", "")) })
			if strings.Join(srcs, " ") != strings.Join(tt.srcs, " ") {
				t.Errorf("fragments %v, want %v", srcs, tt.srcs)
			}
			if got := doc.Find("inlay-fragment[primary]").AttrOr("src", ""); got != tt.primary {
				t.Errorf("primary %q, want %q", got, tt.primary)
			}
		})
	}
	var routes []string
	for _, p := range pages.All() {
		routes = append(routes, p.Route)
	}
	for _, r := range []string{"/checkout/cart", "/checkout/checkout", "/checkout/thanks", "/checkout/orders/:id"} {
		if !strings.Contains(" "+strings.Join(routes, " ")+" ", " "+r+" ") {
			t.Errorf("pages.All lacks %s", r)
		}
	}
}

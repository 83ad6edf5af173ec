package header_test

import (
	"slices"
	"strings"
	"testing"

	"github.com/inlay-dev/inlay/services/explore/ui/header"
	"github.com/inlay-dev/inlay/services/explore/ui/internal/uitest"
)

func TestHeader(t *testing.T) {
	t.Parallel()
	res, doc := uitest.Get(t, "/", header.Handler(header.Props{LogoURL: "/static/explore/img/logo.1.svg"}), "/")
	if res.StatusCode != 200 || !strings.HasPrefix(res.Header.Get("Cache-Control"), "public") {
		t.Fatalf("status %d, Cache-Control %q", res.StatusCode, res.Header.Get("Cache-Control"))
	}
	root := doc.Find(`header[data-testid="explore-header"][data-boundary="explore"]`)
	if root.Length() != 1 {
		t.Fatal("no explore root")
	}
	// The search page has a search form too: each search landmark needs its own name.
	if got := root.Find(`[role="search"]`).AttrOr("aria-label", ""); got != "Site search" {
		t.Errorf("header search landmark named %q", got)
	}
	for _, tc := range []struct{ testid, href, text string }{
		{"header-logo", "/", "The Tractor Store"},
		{"nav-machines", "/products", "Machines"},
		{"nav-stores", "/stores", "Stores"},
	} {
		a := root.Find(`a[data-testid="` + tc.testid + `"]`)
		if a.AttrOr("href", "") != tc.href || strings.TrimSpace(a.Text()) != tc.text {
			t.Errorf("%s: %q → %q", tc.testid, a.Text(), a.AttrOr("href", ""))
		}
	}
	if src := root.Find(`[data-testid="header-logo"] img`).AttrOr("src", ""); src != "/static/explore/img/logo.1.svg" {
		t.Errorf("logo %q", src)
	}
	// The Mini Cart is a nested fragment the shell resolves, with a placeholder while checkout cannot answer.
	var srcs []string
	for _, n := range root.Find("inlay-fragment").Nodes {
		for _, a := range n.Attr {
			if a.Key == "src" {
				srcs = append(srcs, a.Val)
			}
		}
	}
	if !slices.Contains(srcs, "checkout/mini-cart") {
		t.Errorf("nested fragments %q lack checkout/mini-cart", srcs)
	}
	if root.Find(`inlay-fragment[src="checkout/mini-cart"] a[href="/checkout/cart"]`).Length() != 1 {
		t.Error("the mini cart slot has no placeholder")
	}
	if root.Find(`form[action="/search"] input[name="q"]`).Length() != 1 {
		t.Error("no search box")
	}
}

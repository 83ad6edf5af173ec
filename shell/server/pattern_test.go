package server

import (
	"regexp"
	"strings"
	"testing"

	"github.com/inlay-dev/inlay/shell"
)

// TestPatternLibraryStylesheet checks that every composed page links the pattern library's
// stylesheet (fragments/ui) once, in its head, before the fragments' own, and that the shell serves
// it under its content-hashed name as immutable CSS.
func TestPatternLibraryStylesheet(t *testing.T) {
	decide := newTeam(t)
	decide.fragment("product", `<article><button class="inlay-button inlay-button--primary">add to basket</button></article>`)
	s := startShell(t, map[string]*team{"decide": decide}, []shell.Page{rawPage("/p",
		`<!doctype html><html><head><title>t</title></head><body><inlay-fragment src="decide/product" primary></inlay-fragment><inlay-fragment src="decide/product"></inlay-fragment></body></html>`)}, nil)
	resp, body := get(t, s.url+"/p", nil)
	if resp.StatusCode != 200 {
		t.Fatalf("page: %d %s", resp.StatusCode, body)
	}
	links := regexp.MustCompile(`<link rel="stylesheet" href="(/static/ui/ui\.[0-9a-f]{10}\.css)">`).FindAllStringSubmatch(body, -1)
	if len(links) != 1 {
		t.Fatalf("%d links to the pattern library's stylesheet, want 1: %s", len(links), body)
	}
	if head, _, _ := strings.Cut(body, "</head>"); !strings.Contains(head, links[0][0]) {
		t.Errorf("the stylesheet is not in the head: %s", body)
	}
	resp, css := get(t, s.url+links[0][1], nil)
	if resp.StatusCode != 200 || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/css") ||
		!strings.Contains(resp.Header.Get("Cache-Control"), "immutable") || !strings.Contains(css, ".inlay-button--primary") {
		t.Errorf("GET %s: %d %q %q", links[0][1], resp.StatusCode, resp.Header.Get("Content-Type"), resp.Header.Get("Cache-Control"))
	}
	if resp, _ := get(t, s.url+"/static/ui/ui.0000000000.css", nil); resp.StatusCode != 404 {
		t.Errorf("a stale hash: %d, want 404", resp.StatusCode)
	}
}

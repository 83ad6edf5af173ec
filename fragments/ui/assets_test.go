package ui_test

import (
	"io"
	"net/http/httptest"
	"regexp"
	"strings"
	"testing"

	"github.com/PuerkitoBio/goquery"
	"github.com/a-h/templ"
	"github.com/gofiber/fiber/v2"

	"github.com/inlay-dev/inlay/fragments/ui"
)

// TestStylesheet serves the pattern library's stylesheet as the shell does and checks that it is
// content-hashed, immutable CSS with a rule for every class the components emit.
func TestStylesheet(t *testing.T) {
	t.Parallel()
	a, err := ui.Assets(ui.AssetPrefix)
	if err != nil {
		t.Fatal(err)
	}
	u, err := a.URL(ui.Stylesheet)
	if err != nil {
		t.Fatal(err)
	}
	if !regexp.MustCompile(`^/static/ui/ui\.[0-9a-f]{10}\.css$`).MatchString(u) {
		t.Fatalf("stylesheet URL %q is not content-hashed under /static/ui/", u)
	}
	app := fiber.New()
	app.Get(ui.AssetPrefix+"/*", a.Handler())
	res, err := app.Test(httptest.NewRequest("GET", u, nil), -1)
	if err != nil {
		t.Fatal(err)
	}
	body, err := io.ReadAll(res.Body)
	if err != nil {
		t.Fatal(err)
	}
	if res.StatusCode != 200 || !strings.HasPrefix(res.Header.Get("Content-Type"), "text/css") ||
		!strings.Contains(res.Header.Get("Cache-Control"), "immutable") {
		t.Fatalf("GET %s: %d, %q, %q", u, res.StatusCode, res.Header.Get("Content-Type"), res.Header.Get("Cache-Control"))
	}
	css := string(body)

	// Every class the components put on the page has a rule.
	classes := map[string]bool{}
	for _, comp := range []templ.Component{
		ui.Button(ui.ButtonProps{}),
		ui.Button(ui.ButtonProps{Variant: ui.Secondary}),
		ui.ButtonLink("/", ui.ButtonProps{}),
		ui.Price(1000, ""),
	} {
		doc, _ := render(t, comp)
		doc.Find("[class]").Each(func(_ int, s *goquery.Selection) {
			for _, c := range strings.Fields(s.AttrOr("class", "")) {
				classes[c] = true
			}
		})
	}
	if len(classes) < 4 {
		t.Fatalf("components emit only %v", classes)
	}
	for c := range classes {
		if !regexp.MustCompile(`\.` + regexp.QuoteMeta(c) + `[\s,:{\[.]`).MatchString(css) {
			t.Errorf("ui.css has no rule for .%s", c)
		}
	}
}

package static_test

import (
	"io"
	"net/http"
	"net/http/httptest"
	"regexp"
	"testing"

	"github.com/gofiber/fiber/v2"

	"github.com/inlay-dev/inlay/services/checkout/static"
)

func TestAssets(t *testing.T) {
	a, err := static.New("/static/checkout/")
	if err != nil {
		t.Fatal(err)
	}
	app := fiber.New()
	a.Mount(app)
	for _, name := range []string{"checkout.css", "checkout.js", "img/logo.svg"} {
		p, err := a.Path(name)
		if err != nil {
			t.Fatal(err)
		}
		if !regexp.MustCompile(`\.[0-9a-f]{10}\.(css|js|svg)$`).MatchString(p) {
			t.Errorf("%s: path %q is not content-hashed", name, p)
		}
		u, _ := a.URL(name)
		if u != "/static/checkout/"+p {
			t.Errorf("%s: URL %q", name, u)
		}
		res, err := app.Test(httptest.NewRequest(http.MethodGet, "/static/"+p, nil), -1)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(res.Body)
		if res.StatusCode != 200 || len(body) == 0 || res.Header.Get("Cache-Control") != "public, max-age=31536000, immutable" {
			t.Errorf("%s: %d %q", p, res.StatusCode, res.Header.Get("Cache-Control"))
		}
		req := httptest.NewRequest(http.MethodGet, "/static/"+p, nil)
		req.Header.Set("If-None-Match", res.Header.Get("ETag"))
		if res, _ := app.Test(req, -1); res.StatusCode != http.StatusNotModified {
			t.Errorf("%s revalidated: %d", p, res.StatusCode)
		}
	}
	if _, err := a.Path("nope.js"); err == nil {
		t.Error("Path of a missing asset succeeded")
	}
	if res, _ := app.Test(httptest.NewRequest(http.MethodGet, "/static/checkout.js", nil), -1); res.StatusCode != 404 {
		t.Errorf("unhashed name: %d", res.StatusCode)
	}
	if a.Version() == "" {
		t.Error("no version")
	}
}

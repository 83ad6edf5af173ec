package static_test

import (
	"io"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/gofiber/fiber/v2"

	"github.com/inlay-dev/inlay/services/explore/static"
)

func mustAssets(t *testing.T) (*static.Assets, *fiber.App) {
	t.Helper()
	a, err := static.New("/static/explore/")
	if err != nil {
		t.Fatal(err)
	}
	app := fiber.New()
	a.Mount(app)
	return a, app
}

func TestAssetsAreServedUnderHashedNames(t *testing.T) {
	t.Parallel()
	a, app := mustAssets(t)
	for _, name := range []string{"explore.css", "store-picker.js", "img/logo.svg", "img/store-a.svg", "img/store-b.svg",
		"img/store-c.svg", "img/store-d.svg", "img/teaser-classic.svg", "img/teaser-autonomous.svg"} {
		p, err := a.Path(name)
		if err != nil {
			t.Fatal(err)
		}
		if p == name || !strings.HasPrefix(p, strings.TrimSuffix(name, "."+ext(name))) {
			t.Errorf("%s: hashed name %s", name, p)
		}
		u, _ := a.URL(name)
		if u != "/static/explore/"+p {
			t.Errorf("%s: url %s", name, u)
		}
		res, err := app.Test(httptest.NewRequest("GET", "/static/"+p, nil))
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(res.Body)
		if res.StatusCode != 200 || len(body) == 0 {
			t.Errorf("%s: %d, %d bytes", p, res.StatusCode, len(body))
		}
		if cc := res.Header.Get("Cache-Control"); !strings.Contains(cc, "immutable") {
			t.Errorf("%s: Cache-Control %q", p, cc)
		}
		if ct := res.Header.Get("Content-Type"); ct == "" || strings.HasPrefix(ct, "application/octet") {
			t.Errorf("%s: Content-Type %q", p, ct)
		}
		res, _ = app.Test(httptest.NewRequest("GET", "/static/"+name, nil))
		if res.StatusCode != 404 {
			t.Errorf("unhashed %s: %d, want 404", name, res.StatusCode)
		}
	}
	if _, err := a.Path("nope.css"); err == nil {
		t.Error("unknown asset: no error")
	}
	if a.Version() == "" {
		t.Error("empty version")
	}
}

func TestRevalidation(t *testing.T) {
	t.Parallel()
	a, app := mustAssets(t)
	p, _ := a.Path("explore.css")
	res, _ := app.Test(httptest.NewRequest("GET", "/static/"+p, nil))
	req := httptest.NewRequest("GET", "/static/"+p, nil)
	req.Header.Set("If-None-Match", res.Header.Get("ETag"))
	res, _ = app.Test(req)
	if res.StatusCode != 304 {
		t.Errorf("If-None-Match: %d, want 304", res.StatusCode)
	}
}

func ext(name string) string { return name[strings.LastIndexByte(name, '.')+1:] }

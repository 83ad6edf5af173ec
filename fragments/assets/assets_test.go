package assets_test

import (
	"net/http/httptest"
	"strings"
	"testing"
	"testing/fstest"

	"github.com/gofiber/fiber/v2"

	"github.com/inlay-dev/inlay/fragments/assets"
)

func TestContentHashedAssets(t *testing.T) {
	files := fstest.MapFS{
		"team.css":     {Data: []byte("body{}")},
		"img/logo.svg": {Data: []byte("<svg/>")},
	}
	a, err := assets.New(files, "team", "/static/team/")
	if err != nil {
		t.Fatal(err)
	}
	p, err := a.Path("team.css")
	if err != nil || !strings.HasPrefix(p, "team.") || !strings.HasSuffix(p, ".css") || len(p) != len("team.0123456789.css") {
		t.Fatalf("Path = %q, %v", p, err)
	}
	if u, _ := a.URL("img/logo.svg"); !strings.HasPrefix(u, "/static/team/img/logo.") {
		t.Fatalf("URL = %q", u)
	}
	if _, err := a.Path("missing.js"); err == nil || !strings.Contains(err.Error(), "team asset") {
		t.Fatalf("missing asset error = %v", err)
	}
	if got := a.Names(); len(got) != 2 || got[0] != "img/logo.svg" {
		t.Fatalf("Names = %v", got)
	}

	app := fiber.New()
	a.Mount(app)
	resp, err := app.Test(httptest.NewRequest("GET", "/static/"+p, nil))
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != 200 || resp.Header.Get("Content-Type") != "text/css; charset=utf-8" ||
		!strings.Contains(resp.Header.Get("Cache-Control"), "immutable") {
		t.Fatalf("GET %s = %d %v", p, resp.StatusCode, resp.Header)
	}
	req := httptest.NewRequest("GET", "/static/"+p, nil)
	req.Header.Set("If-None-Match", resp.Header.Get("ETag"))
	if resp, _ := app.Test(req); resp.StatusCode != 304 {
		t.Fatalf("revalidation = %d, want 304", resp.StatusCode)
	}
	for _, stale := range []string{"/static/team.css", "/static/team.ffffffffff.css"} {
		if resp, _ := app.Test(httptest.NewRequest("GET", stale, nil)); resp.StatusCode != 404 {
			t.Errorf("GET %s = %d, want 404 (only the current hashed name resolves)", stale, resp.StatusCode)
		}
	}

	files["team.css"] = &fstest.MapFile{Data: []byte("body{color:red}")}
	b, err := assets.New(files, "team", "/static/team")
	if err != nil {
		t.Fatal(err)
	}
	if q, _ := b.Path("team.css"); q == p || b.Version() == a.Version() {
		t.Fatal("a changed file kept its name or the version")
	}
}

package static_test

import (
	"io"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"testing"

	"github.com/gofiber/fiber/v2"

	"github.com/inlay-dev/inlay/services/decide"
	"github.com/inlay-dev/inlay/services/decide/static"
)

func get(t *testing.T, app *fiber.App, path string) (*http.Response, string) {
	t.Helper()
	resp, err := app.Test(httptest.NewRequest(http.MethodGet, path, nil))
	if err != nil {
		t.Fatal(err)
	}
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp, string(b)
}

var imageURL = regexp.MustCompile(`^/static/decide/img/tractor-[0-9a-f]{6}-(small|large)\.[0-9a-f]{10}\.svg$`)

func TestImages(t *testing.T) {
	t.Parallel()
	a := static.New("/static/decide")
	app := fiber.New()
	a.Mount(app)

	small, large := a.ImageURL("#DD5219", decide.ImageSmall), a.ImageURL("#dd5219", decide.ImageLarge)
	for _, u := range []string{small, large} {
		if !imageURL.MatchString(u) {
			t.Fatalf("image URL %q", u)
		}
	}
	if small == large || a.ImageURL("#2a52be", decide.ImageSmall) == small {
		t.Fatal("sizes and colours must have their own URLs")
	}
	if again := a.ImageURL("#dd5219", decide.ImageSmall); again != small {
		t.Errorf("URL not stable: %s then %s", small, again)
	}

	for _, u := range []string{small, large} {
		resp, body := get(t, app, "/static"+strings.TrimPrefix(u, "/static/decide"))
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("GET %s: %d", u, resp.StatusCode)
		}
		if cc := resp.Header.Get("Cache-Control"); !strings.Contains(cc, "immutable") {
			t.Errorf("Cache-Control %q", cc)
		}
		if ct := resp.Header.Get("Content-Type"); ct != "image/svg+xml" {
			t.Errorf("Content-Type %q", ct)
		}
		if !strings.HasPrefix(body, "<svg") || !strings.Contains(body, `fill="#dd5219"`) {
			t.Errorf("not a tractor in #dd5219: %.200s", body)
		}
	}

	for _, bad := range []string{
		"/static/img/tractor-dd5219-small.0000000000.svg", // wrong hash
		"/static/img/tractor-DD5219-small.0000000000.svg",
		"/static/img/tractor-dd5219-huge.0000000000.svg",
		"/static/img/tractor-zz5219-small.0000000000.svg",
		"/static/img/other.svg",
		"/static/decide.0000000000.css",
	} {
		if resp, _ := get(t, app, bad); resp.StatusCode != http.StatusNotFound {
			t.Errorf("GET %s: %d, want 404", bad, resp.StatusCode)
		}
	}
}

func TestStylesheet(t *testing.T) {
	t.Parallel()
	a := static.New("/static/decide/")
	app := fiber.New()
	a.Mount(app)
	if !regexp.MustCompile(`^decide\.[0-9a-f]{10}\.css$`).MatchString(a.Stylesheet()) {
		t.Fatalf("stylesheet name %q", a.Stylesheet())
	}
	if a.StylesheetURL() != "/static/decide/"+a.Stylesheet() {
		t.Errorf("stylesheet URL %q", a.StylesheetURL())
	}
	resp, body := get(t, app, "/static/"+a.Stylesheet())
	if resp.StatusCode != http.StatusOK || !strings.Contains(body, ".decide-product") ||
		!strings.Contains(resp.Header.Get("Cache-Control"), "immutable") {
		t.Errorf("stylesheet: %d %q", resp.StatusCode, resp.Header.Get("Cache-Control"))
	}
	if a.Version() == "" {
		t.Error("empty version")
	}
}

func TestShade(t *testing.T) {
	t.Parallel()
	tests := []struct {
		in     string
		factor float64
		want   string
	}{
		{"#ffffff", 0.5, "#808080"},
		{"#dd5219", 1, "#dd5219"},
		{"#dd5219", 0, "#000000"},
		{"bad", 0.5, "bad"},
	}
	for _, tt := range tests {
		if got := static.Shade(tt.in, tt.factor); got != tt.want {
			t.Errorf("Shade(%s, %v) = %s, want %s", tt.in, tt.factor, got, tt.want)
		}
	}
}

func BenchmarkImageURL(b *testing.B) {
	a := static.New("/static/decide")
	b.ReportAllocs()
	for b.Loop() {
		a.ImageURL("#dd5219", decide.ImageLarge)
	}
}

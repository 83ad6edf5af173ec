package fragments_test

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/a-h/templ"
	"github.com/gofiber/fiber/v2"
	"github.com/valyala/fasthttp"

	"github.com/inlay-dev/inlay/fragments"
)

// text is a component writing s, for tests that need a body and no markup logic.
func text(s string) templ.Component {
	return templ.ComponentFunc(func(_ context.Context, w io.Writer) error {
		_, err := io.WriteString(w, s)
		return err
	})
}

func get(t *testing.T, app *fiber.App, path string, header http.Header) (*http.Response, string) {
	t.Helper()
	req := httptest.NewRequest(http.MethodGet, path, nil)
	for k, v := range header {
		req.Header[k] = v
	}
	resp, err := app.Test(req, -1)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp, string(body)
}

func TestRenderHeaders(t *testing.T) {
	t.Parallel()
	const body = `<div data-boundary="explore">hi</div>`
	m := testManifest()
	tests := []struct {
		name   string
		policy fragments.CachePolicy
		opts   []fragments.RenderOption
		status int
		want   map[string]string
	}{
		{
			name: "public defaults", policy: fragments.Public, status: 200,
			want: map[string]string{
				"Cache-Control": "public, max-age=60, stale-while-revalidate=300",
				"Content-Type":  "text/html; charset=utf-8",
				"ETag":          fragments.ETag([]byte(body)),
				"Vary":          "",
				"Link":          "",
			},
		},
		{
			name: "public tuned, localised, with assets", policy: fragments.Public, status: 200,
			opts: []fragments.RenderOption{
				fragments.MaxAge(10 * time.Second), fragments.StaleWhileRevalidate(0),
				fragments.Vary("Accept-Language"), fragments.Assets(m, "header"), fragments.CSS("/static/shared/x.css"),
			},
			want: map[string]string{
				"Cache-Control": "public, max-age=10",
				"Vary":          "Accept-Language",
				"Link": "</static/explore/header.3f2a.css>; rel=stylesheet, </static/shared/x.css>; rel=stylesheet, " +
					"</static/explore/header.9c1b.js>; rel=modulepreload",
			},
		},
		{
			name: "private", policy: fragments.Private, status: 200,
			want: map[string]string{"Cache-Control": "private, no-store", "ETag": fragments.ETag([]byte(body))},
		},
		{
			name: "not found status", policy: fragments.Public, status: 404,
			opts: []fragments.RenderOption{fragments.Status(404)},
			want: map[string]string{"ETag": ""},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			app := fiber.New()
			app.Get("/fragments/x", func(c *fiber.Ctx) error {
				return fragments.Render(c, text(body), tt.policy, tt.opts...)
			})
			resp, got := get(t, app, "/fragments/x", nil)
			if resp.StatusCode != tt.status || got != body {
				t.Fatalf("got %d %q, want %d %q", resp.StatusCode, got, tt.status, body)
			}
			for k, v := range tt.want {
				if g := resp.Header.Get(k); g != v {
					t.Errorf("%s = %q, want %q", k, g, v)
				}
			}
		})
	}
}

func TestRenderNotModified(t *testing.T) {
	t.Parallel()
	app := fiber.New()
	app.Get("/fragments/x", func(c *fiber.Ctx) error {
		return fragments.Render(c, text("<p>same</p>"), fragments.Public, fragments.Vary("Accept-Language"))
	})
	resp, _ := get(t, app, "/fragments/x", nil)
	etag := resp.Header.Get("ETag")
	if len(etag) < 3 || etag[0] != '"' || etag[len(etag)-1] != '"' {
		t.Fatalf("ETag %q is not a strong quoted tag", etag)
	}
	for _, inm := range []string{etag, "W/" + etag, `"other", ` + etag, "*"} {
		resp, body := get(t, app, "/fragments/x", http.Header{"If-None-Match": {inm}})
		if resp.StatusCode != http.StatusNotModified || body != "" {
			t.Errorf("If-None-Match %s: got %d %q, want 304 without a body", inm, resp.StatusCode, body)
		}
		if resp.Header.Get("ETag") != etag || resp.Header.Get("Cache-Control") == "" || resp.Header.Get("Vary") == "" {
			t.Errorf("If-None-Match %s: 304 lacks ETag, Cache-Control or Vary: %v", inm, resp.Header)
		}
	}
	resp, body := get(t, app, "/fragments/x", http.Header{"If-None-Match": {`"stale"`}})
	if resp.StatusCode != 200 || body != "<p>same</p>" {
		t.Errorf("stale If-None-Match: got %d %q", resp.StatusCode, body)
	}
}

func TestRenderErrors(t *testing.T) {
	t.Parallel()
	boom := errors.New("boom")
	app := fiber.New(fiber.Config{ErrorHandler: func(c *fiber.Ctx, err error) error {
		if !errors.Is(err, boom) && c.Path() == "/fragments/broken" {
			t.Errorf("render error lost its cause: %v", err)
		}
		return c.Status(500).SendString("error")
	}})
	app.Get("/fragments/broken", func(c *fiber.Ctx) error {
		return fragments.Render(c, templ.ComponentFunc(func(_ context.Context, w io.Writer) error {
			_, _ = io.WriteString(w, "<div>half")
			return boom
		}), fragments.Public)
	})
	app.Get("/fragments/policy", func(c *fiber.Ctx) error {
		return fragments.Render(c, text("x"), fragments.CachePolicy("shared"))
	})
	for _, path := range []string{"/fragments/broken", "/fragments/policy"} {
		resp, body := get(t, app, path, nil)
		if resp.StatusCode != 500 || body != "error" {
			t.Errorf("%s: got %d %q, want the error handler's 500 and no half fragment", path, resp.StatusCode, body)
		}
	}
}

func TestETagMatch(t *testing.T) {
	t.Parallel()
	tests := []struct {
		inm, etag string
		want      bool
	}{
		{"", `"a"`, false},
		{`"a"`, `"a"`, true},
		{`"b"`, `"a"`, false},
		{`W/"a"`, `"a"`, true},
		{`"b" , W/"a"`, `"a"`, true},
		{`*`, `"a"`, true},
		{`"a"`, ``, false},
	}
	for _, tt := range tests {
		if got := fragments.ETagMatch(tt.inm, tt.etag); got != tt.want {
			t.Errorf("ETagMatch(%q, %q) = %v, want %v", tt.inm, tt.etag, got, tt.want)
		}
	}
}

func BenchmarkRender(b *testing.B) {
	app := fiber.New()
	comp := text(`<div data-boundary="explore" data-testid="teaser">` + string(make([]byte, 4096)) + `</div>`)
	app.Get("/fragments/x", func(c *fiber.Ctx) error {
		return fragments.Render(c, comp, fragments.Public, fragments.Vary("Accept-Language"))
	})
	h := app.Handler()
	var ctx fasthttp.RequestCtx
	b.ReportAllocs()
	for b.Loop() {
		ctx.Request.Reset()
		ctx.Response.Reset()
		ctx.Request.SetRequestURI("/fragments/x")
		ctx.Request.Header.SetMethod(fiber.MethodGet)
		h(&ctx)
		if ctx.Response.StatusCode() != 200 {
			b.Fatal(ctx.Response.StatusCode())
		}
	}
}

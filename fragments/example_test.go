package fragments_test

import (
	"context"
	"fmt"
	"io"
	"net/http/httptest"
	"time"

	"github.com/a-h/templ"
	"github.com/gofiber/fiber/v2"

	"github.com/inlay-dev/inlay/fragments"
)

// A team's service wires the contract like this: the manifest, the context middleware on its
// fragment routes, and Render for each fragment.
func Example() {
	// In main: pub, err := fragments.ParsePublicKey(cfg.ShellPublicKey), and dev mode from cfg.Env.
	pub, priv, _ := fragments.GenerateKey()
	devMode := false

	manifest := fragments.Manifest{
		Name:    "explore",
		Version: "2026.11.23-1",
		Fragments: map[string]fragments.Fragment{
			"header": {Cache: fragments.Public, Timeout: fragments.Duration(300 * time.Millisecond),
				CSS: []string{"header.3f2a.css"}},
		},
	}
	app := fiber.New()
	fragments.ServeManifest(app, manifest)
	ui := app.Group("/fragments", fragments.Middleware(fragments.NewVerifier(pub, devMode)))
	ui.Get("/header", func(c *fiber.Ctx) error {
		locale := fragments.ContextFrom(c.UserContext()).Locale
		view := templ.ComponentFunc(func(_ context.Context, w io.Writer) error {
			_, err := fmt.Fprintf(w, `<header data-boundary="explore" data-testid="header" lang="%s">Inlay</header>`, locale)
			return err
		})
		return fragments.Render(c, view, fragments.Public,
			fragments.Assets(manifest, "header"), fragments.Vary("Accept-Language"))
	})

	// What the shell sends:
	h, _ := fragments.NewSigner(priv).Sign(fragments.Context{Locale: "de", Expires: time.Now().Add(time.Minute)})
	req := httptest.NewRequest("GET", "/fragments/header", nil)
	req.Header.Set(fragments.ContextHeader, h)
	resp, _ := app.Test(req)
	body, _ := io.ReadAll(resp.Body)
	fmt.Println(resp.StatusCode, resp.Header.Get("Cache-Control"))
	fmt.Println(resp.Header.Get("Link"))
	fmt.Println(string(body))
	// Output:
	// 200 public, max-age=60, stale-while-revalidate=300
	// </static/explore/header.3f2a.css>; rel=stylesheet
	// <header data-boundary="explore" data-testid="header" lang="de">Inlay</header>
}

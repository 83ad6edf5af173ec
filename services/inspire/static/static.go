// Package static serves inspire's assets under /static with content-hashed names and
// Cache-Control: immutable.
package static

import (
	"crypto/sha256"
	_ "embed"
	"encoding/hex"

	"github.com/gofiber/fiber/v2"
)

//go:embed inspire.css
var css []byte

// Assets names and serves inspire's stylesheet.
type Assets struct {
	prefix  string
	cssName string
}

// New returns inspire's assets, whose public URLs start with prefix ("/static/inspire" behind the
// shell).
func New(prefix string) *Assets {
	sum := sha256.Sum256(css)
	return &Assets{prefix: prefix, cssName: "inspire." + hex.EncodeToString(sum[:5]) + ".css"}
}

// Stylesheet is the stylesheet's content-hashed name under /static/, as the manifest lists it.
func (a *Assets) Stylesheet() string { return a.cssName }

// StylesheetURL is the stylesheet's public URL.
func (a *Assets) StylesheetURL() string { return a.prefix + "/" + a.cssName }

// Version changes whenever an asset does.
func (a *Assets) Version() string { return a.cssName[len("inspire.") : len(a.cssName)-len(".css")] }

// Mount adds GET /static/{stylesheet} to r.
func (a *Assets) Mount(r fiber.Router) {
	r.Get("/static/:name", func(c *fiber.Ctx) error {
		if c.Params("name") != a.cssName {
			return fiber.ErrNotFound
		}
		c.Set(fiber.HeaderCacheControl, "public, max-age=31536000, immutable")
		c.Set(fiber.HeaderContentType, "text/css; charset=utf-8")
		return c.Send(css)
	})
}

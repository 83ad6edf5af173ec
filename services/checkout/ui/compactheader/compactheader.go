// Package compactheader serves the Compact Header fragment: the checkout pages' header, the logo only.
package compactheader

import (
	"time"

	"github.com/a-h/templ"
	"github.com/gofiber/fiber/v2"

	"github.com/inlay-dev/inlay/fragments"
)

// Name is the fragment's name in checkout's manifest.
const Name = "compact-header"

// Handler serves the compact header with the logo at logoURL; it is public and cached for an hour.
func Handler(logoURL string, opts ...fragments.RenderOption) fiber.Handler {
	opts = append([]fragments.RenderOption{fragments.MaxAge(time.Hour), fragments.StaleWhileRevalidate(24 * time.Hour)}, opts...)
	return func(c *fiber.Ctx) error {
		return fragments.Render(c, CompactHeaderView(logoURL), fragments.Public, opts...)
	}
}

// Fallback is the compact header without its logo image.
func Fallback() templ.Component {
	return templ.Raw(`<header class="co-compact-header" data-boundary="checkout" data-testid="checkout-compact-header"><a href="/">The Tractor Store</a></header>`)
}

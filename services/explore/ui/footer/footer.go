// Package footer serves explore's Footer fragment, shown on every page.
package footer

import (
	"time"

	"github.com/gofiber/fiber/v2"

	"github.com/inlay-dev/inlay/fragments"
)

// Name is the fragment's name in explore's manifest.
const Name = "footer"

// MaxAge is how long the footer may be cached.
const MaxAge = 5 * time.Minute

// Handler serves the footer.
func Handler(opts ...fragments.RenderOption) fiber.Handler {
	opts = append([]fragments.RenderOption{fragments.MaxAge(MaxAge)}, opts...)
	return func(c *fiber.Ctx) error {
		return fragments.Render(c, View(), fragments.Public, opts...)
	}
}

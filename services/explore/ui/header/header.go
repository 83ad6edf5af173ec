// Package header serves explore's Header fragment: the logo, "Machines" and "Stores", a search box, and
// the slots other teams fill inside it (checkout's Mini Cart, accounts' Account Menu) as nested
// <inlay-fragment> tags the shell resolves.
package header

import (
	"time"

	"github.com/gofiber/fiber/v2"

	"github.com/inlay-dev/inlay/fragments"
)

// Name is the fragment's name in explore's manifest.
const Name = "header"

// MaxAge is how long the header may be cached: it holds nothing personal and changes with deploys only.
const MaxAge = 5 * time.Minute

// Props is what the header shows.
type Props struct {
	LogoURL string
}

// Handler serves the header.
func Handler(p Props, opts ...fragments.RenderOption) fiber.Handler {
	opts = append([]fragments.RenderOption{fragments.MaxAge(MaxAge)}, opts...)
	return func(c *fiber.Ctx) error {
		return fragments.Render(c, View(p), fragments.Public, opts...)
	}
}

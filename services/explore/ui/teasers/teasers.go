// Package teasers serves the home page's category teasers: one per category, with its illustration,
// linking to the category page.
package teasers

import (
	"context"
	"fmt"
	"time"

	"github.com/gofiber/fiber/v2"

	"github.com/inlay-dev/inlay/fragments"
	"github.com/inlay-dev/inlay/services/explore"
)

// Name is the fragment's name in explore's manifest.
const Name = "teasers"

// Title is the home page's heading, above the teasers (the page's one <h1>).
const Title = "Welcome to The Tractor Store"

// MaxAge is how long the teasers may be cached.
const MaxAge = 5 * time.Minute

// TeaserReader reads the home teasers.
type TeaserReader interface {
	Teasers(ctx context.Context) ([]explore.Teaser, error)
}

// Teaser is what one teaser shows.
type Teaser struct {
	Title    string
	URL      string
	ImageURL string
}

// Handler serves the teasers; images maps a teaser's category to its illustration's URL.
func Handler(teasers TeaserReader, images map[string]string, opts ...fragments.RenderOption) fiber.Handler {
	opts = append([]fragments.RenderOption{fragments.MaxAge(MaxAge)}, opts...)
	return func(c *fiber.Ctx) error {
		list, err := teasers.Teasers(c.UserContext())
		if err != nil {
			return fmt.Errorf("teasers: %w", err)
		}
		view := make([]Teaser, len(list))
		for i, t := range list {
			view[i] = Teaser{Title: t.Title, URL: t.URL, ImageURL: images[t.Category]}
		}
		return fragments.Render(c, View(view), fragments.Public, opts...)
	}
}

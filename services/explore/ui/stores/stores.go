// Package stores serves the Stores fragment: every store with its illustration, name, street and city.
package stores

import (
	"context"
	"fmt"
	"time"

	"github.com/gofiber/fiber/v2"

	"github.com/inlay-dev/inlay/fragments"
	"github.com/inlay-dev/inlay/services/explore"
)

// Name is the fragment's name in explore's manifest.
const Name = "stores"

// MaxAge is how long the stores may be cached.
const MaxAge = 5 * time.Minute

// StoreLister lists the stores.
type StoreLister interface {
	Stores(ctx context.Context) ([]explore.Store, error)
}

// Store is what one store shows.
type Store struct {
	ID       string
	Name     string
	Street   string
	City     string
	ImageURL string
}

// NewStores builds the view of stores; images maps a store id to its illustration's URL.
func NewStores(list []explore.Store, images map[string]string) []Store {
	out := make([]Store, len(list))
	for i, s := range list {
		out[i] = Store{ID: s.ID, Name: s.Name, Street: s.Street, City: s.City, ImageURL: images[s.ID]}
	}
	return out
}

// Handler serves the stores.
func Handler(stores StoreLister, images map[string]string, opts ...fragments.RenderOption) fiber.Handler {
	opts = append([]fragments.RenderOption{fragments.MaxAge(MaxAge)}, opts...)
	return func(c *fiber.Ctx) error {
		list, err := stores.Stores(c.UserContext())
		if err != nil {
			return fmt.Errorf("stores: %w", err)
		}
		return fragments.Render(c, View(NewStores(list, images)), fragments.Public, opts...)
	}
}

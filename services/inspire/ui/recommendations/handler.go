// Package recommendations is the Recommendations fragment: up to four variants nearest in colour to
// the average colour of the given skus, linking to their product pages; nothing when there are none.
//
//	GET /fragments/recommendations?skus=CL-01-GY,AU-07-MT
//
// It is the same for every customer, so it is public and cacheable.
package recommendations

import (
	"slices"
	"time"

	"github.com/gofiber/fiber/v2"

	"github.com/inlay-dev/inlay/fragments"
	"github.com/inlay-dev/inlay/services/inspire"
)

// Name is the fragment's name in inspire's manifest.
const Name = "recommendations"

// MaxAge is how long the shell and browsers may reuse the fragment.
const MaxAge = 5 * time.Minute

// Manifest is the fragment's entry in inspire's manifest; stylesheet is its CSS under /static/.
// The fallback is empty: a page without recommendations is still whole.
func Manifest(stylesheet string) fragments.Fragment {
	return fragments.Fragment{
		Params:  []string{"skus"},
		Timeout: fragments.Duration(300 * time.Millisecond),
		Cache:   fragments.Public,
		CSS:     []string{stylesheet},
	}
}

// Handler serves the fragment; css is the stylesheet's public URL.
func Handler(store inspire.VariantStore, css string) fiber.Handler {
	return func(c *fiber.Ctx) error {
		vs, err := inspire.Recommend(c.UserContext(), store, inspire.ParseSKUs(c.Query("skus")))
		if err != nil {
			return err
		}
		if len(vs) == 0 {
			// Nothing to show — skus inspire does not know, a junk ?skus= — is not kept by the
			// shell or a browser: every such value would be a cache entry of its own.
			return fragments.Render(c, View(nil), fragments.Private)
		}
		return fragments.Render(c, View(Items(vs)), fragments.Public, fragments.MaxAge(MaxAge),
			fragments.CSS(css), fragments.Tags(productTags(vs)...))
	}
}

// productTags are the cache tags of the products vs shows (fragments.ProductTag), each once: a
// change of one of them (its name, its picture, its price) purges the shell's copies of this
// fragment, and of no other recommendations.
func productTags(vs []inspire.Variant) []string {
	tags := make([]string, 0, len(vs))
	for _, v := range vs {
		if t := fragments.ProductTag(v.ProductID); !slices.Contains(tags, t) {
			tags = append(tags, t)
		}
	}
	return tags
}

// Items is what View shows of vs.
func Items(vs []inspire.Variant) []Item {
	items := make([]Item, 0, len(vs))
	for _, v := range vs {
		items = append(items, Item{SKU: v.SKU, ProductName: v.ProductName, Name: v.Name, Image: v.Image, URL: v.URL()})
	}
	return items
}

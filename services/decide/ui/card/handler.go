// Package card is the Product Card, decide's fragment for other sites (bff/embed, nginx SSI, Varnish
// ESI): a variant's image, the product's name, the variant's price, the colour variants, a link to the
// product's page in the storefront, and inspire's recommendations for the sku, nested as an
// <inlay-fragment>. It carries no form and no cart action: buying happens on the storefront.
//
//	GET /fragments/product-card?sku={sku}
//
// Its links and assets are the storefront's paths; a composer on another site (bff/embed) makes them
// absolute. An unknown sku answers 404.
package card

import (
	"context"
	"net/http"
	"net/url"
	"time"

	"github.com/gofiber/fiber/v2"

	"github.com/inlay-dev/inlay/fragments"
	"github.com/inlay-dev/inlay/fragments/ui"
	"github.com/inlay-dev/inlay/services/decide"
	"github.com/inlay-dev/inlay/services/kit/errs"
)

// Name is the fragment's name in decide's manifest.
const Name = "product-card"

// Products is what the fragment reads.
type Products interface {
	// ProductBySKU returns the product one of whose variants has sku, or decide.ErrVariantNotFound.
	ProductBySKU(ctx context.Context, sku string) (decide.Product, error)
}

// MaxAge is how long composers and browsers may reuse the card: as long as the Product fragment.
const MaxAge = 60 * time.Second

// Fallback is what a composer shows when the card cannot be had.
const Fallback = `<section class="decide-card decide-card--fallback" data-boundary="decide" data-testid="decide-card-fallback"><p>This tractor is at <a href="/">The Tractor Store</a>.</p></section>`

// Manifest is the fragment's entry in decide's manifest; stylesheet is its CSS under /static/.
func Manifest(stylesheet string) fragments.Fragment {
	return fragments.Fragment{
		Params:   []string{"sku"},
		Timeout:  fragments.Duration(1 * time.Second),
		Fallback: Fallback,
		Cache:    fragments.Public,
		CSS:      []string{stylesheet},
	}
}

// Handler serves the fragment; images gives the variant images' URLs, css the stylesheet's public URL.
func Handler(products Products, images decide.Images, css string) fiber.Handler {
	return func(c *fiber.Ctx) error {
		sku := c.Query("sku")
		if sku == "" {
			return errs.Errorf(errs.EINVALID, "the product card needs a sku")
		}
		p, err := products.ProductBySKU(c.UserContext(), sku)
		var v decide.Variant
		if err == nil {
			v, err = p.Variant(sku)
		}
		if errs.Code(err) == errs.ENOTFOUND {
			return fragments.Render(c, NotFound(), fragments.Public,
				fragments.Status(http.StatusNotFound), fragments.MaxAge(MaxAge), fragments.CSS(css))
		}
		if err != nil {
			return err
		}
		return fragments.Render(c, View(NewViewModel(p, v, images)), fragments.Public,
			fragments.MaxAge(MaxAge), fragments.CSS(css), fragments.Tags(fragments.ProductTag(p.ID)))
	}
}

// NewViewModel is what View shows of p with variant v.
func NewViewModel(p decide.Product, v decide.Variant, images decide.Images) ViewModel {
	m := ViewModel{
		ProductID:       p.ID,
		SKU:             v.SKU,
		Name:            p.Name,
		Image:           images.ImageURL(v.Color, decide.ImageSmall),
		ImageAlt:        p.Name + " in " + v.Name,
		Price:           ui.FormatPrice(v.Price),
		URL:             decide.VariantURL(p.ID, v.SKU),
		Recommendations: "inspire/recommendations?skus=" + url.QueryEscape(v.SKU),
	}
	for _, o := range p.Variants {
		m.Variants = append(m.Variants, Swatch{Name: o.Name, Color: o.Color, Selected: o.SKU == v.SKU})
	}
	return m
}

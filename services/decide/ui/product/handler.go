// Package product is the Product page's primary fragment: the selected variant's image, the product's
// name and highlights, and its variant list with the selected variant emphasised and the others
// linking to their own page.
//
//	GET /fragments/product?id={product id}&sku={sku}
//
// Without sku it redirects (302) to the page of the product's first variant, so the page URL always
// names the sku the other fragments of the page (Add To Cart, Recommendations) need. An unknown
// product or sku answers 404, which the shell makes the page's status.
package product

import (
	"context"
	"net/http"
	"time"

	"github.com/gofiber/fiber/v2"

	"github.com/inlay-dev/inlay/fragments"
	"github.com/inlay-dev/inlay/services/decide"
	"github.com/inlay-dev/inlay/services/kit/errs"
)

// Name is the fragment's name in decide's manifest.
const Name = "product"

// Products is what the fragment reads.
type Products interface {
	// Product returns the product with id, or decide.ErrProductNotFound.
	Product(ctx context.Context, id string) (decide.Product, error)
}

// ProductsFunc adapts a function to Products.
type ProductsFunc func(ctx context.Context, id string) (decide.Product, error)

// Product calls f.
func (f ProductsFunc) Product(ctx context.Context, id string) (decide.Product, error) {
	return f(ctx, id)
}

// MaxAge is how long the shell and browsers may reuse the fragment; a price change does not show in
// it, and names and highlights change rarely.
const MaxAge = 60 * time.Second

// Manifest is the fragment's entry in decide's manifest; stylesheet is its CSS under /static/.
func Manifest(stylesheet string) fragments.Fragment {
	return fragments.Fragment{
		Params:   []string{"id", "sku"},
		Timeout:  fragments.Duration(1 * time.Second),
		Fallback: `<section data-boundary="decide" data-testid="decide-product-fallback"><p>This tractor cannot be shown right now. Please try again in a moment.</p></section>`,
		Cache:    fragments.Public,
		CSS:      []string{stylesheet},
	}
}

// Handler serves the fragment; images gives the variant images' URLs, css the stylesheet's public URL.
func Handler(products Products, images decide.Images, css string) fiber.Handler {
	return func(c *fiber.Ctx) error {
		ctx := c.UserContext()
		id, sku := c.Query("id"), c.Query("sku")
		if id == "" {
			return errs.Errorf(errs.EINVALID, "the product fragment needs an id")
		}
		p, err := products.Product(ctx, id)
		if errs.Code(err) == errs.ENOTFOUND {
			return fragments.Render(c, NotFound(errs.Message(err)), fragments.Public,
				fragments.Status(http.StatusNotFound), fragments.MaxAge(MaxAge), fragments.CSS(css), fragments.Title(NotFoundTitle))
		}
		if err != nil {
			return err
		}
		v, err := p.Variant(sku)
		if err != nil {
			return fragments.Render(c, NotFound(errs.Message(err)), fragments.Public,
				fragments.Status(http.StatusNotFound), fragments.MaxAge(MaxAge), fragments.CSS(css), fragments.Title(NotFoundTitle))
		}
		if sku == "" {
			c.Set(fiber.HeaderCacheControl, "public, max-age=60")
			return c.Redirect(decide.VariantURL(p.ID, v.SKU), http.StatusFound)
		}
		return fragments.Render(c, View(NewViewModel(p, v, images)), fragments.Public,
			fragments.MaxAge(MaxAge), fragments.CSS(css), fragments.Tags(fragments.ProductTag(p.ID)), fragments.Title(Title(p, v)))
	}
}

// NotFoundTitle is the page's title for an unknown product or variant.
const NotFoundTitle = "Tractor not found"

// Title is the product page's title with variant v selected: "AutoPilot X1 (Silver)".
func Title(p decide.Product, v decide.Variant) string {
	if v.Name == "" {
		return p.Name
	}
	return p.Name + " (" + v.Name + ")"
}

// NewViewModel is what View shows of p with the variant selected.
func NewViewModel(p decide.Product, selected decide.Variant, images decide.Images) ViewModel {
	m := ViewModel{
		ProductID:  p.ID,
		SKU:        selected.SKU,
		Name:       p.Name,
		Image:      images.ImageURL(selected.Color, decide.ImageLarge),
		ImageAlt:   p.Name + " in " + selected.Name,
		Highlights: p.Highlights,
		Variants:   make([]VariantItem, 0, len(p.Variants)),
	}
	for _, v := range p.Variants {
		m.Variants = append(m.Variants, VariantItem{SKU: v.SKU, Name: v.Name, Color: v.Color,
			URL: decide.VariantURL(p.ID, v.SKU), Selected: v.SKU == selected.SKU})
	}
	return m
}

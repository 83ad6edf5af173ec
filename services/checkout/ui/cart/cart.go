// Package cart serves the Cart fragment (the cart page's content: lines, total, recommendations) and
// POST /ui/cart/remove. It owns the error codes the no-JavaScript add redirects to the cart page with.
package cart

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"strconv"
	"strings"

	"github.com/gofiber/fiber/v2"

	"github.com/inlay-dev/inlay/fragments"
	"github.com/inlay-dev/inlay/services/checkout"
	"github.com/inlay-dev/inlay/services/kit/errs"
)

// Name is the fragment's name in checkout's manifest.
const Name = "cart"

// LineReader reads a cart's lines (none for an unknown cart).
type LineReader interface {
	Lines(ctx context.Context, cartID string) ([]checkout.CartLine, error)
}

// ItemReader reads checkout's copies of variants with their stock, by sku; unknown skus are missing.
type ItemReader interface {
	Items(ctx context.Context, skus []string) (map[string]checkout.Item, error)
}

// LineChanger sets the quantity of a line that is there: at most limit units (checkout.ErrLineLimit
// beyond), checkout.ErrNotInCart when the line is not there.
type LineChanger interface {
	Change(ctx context.Context, cartID, sku string, n, limit int) error
}

// LineRemover removes a line from a cart; checkout.ErrNotInCart when it is not there.
type LineRemover interface {
	Remove(ctx context.Context, cartID, sku string) error
}

// CartModel is what the cart page's content shows.
type CartModel struct {
	Cart               Cart
	CSRF               string
	Error              string
	RecommendationsSrc string
}

// Cart is what the cart page shows of a cart: its lines and total.
type Cart struct {
	Lines []Line
	total int64
}

// Empty reports whether the cart has no lines.
func (c Cart) Empty() bool { return len(c.Lines) == 0 }

// Total is the sum of the line totals.
func (c Cart) Total() int64 { return c.total }

// Line is what the cart page shows of a line: the tractor (linked to its page, with its image), the
// quantity and unit price, the line's total, what is left of its stock when that is less than the
// quantity, and the sku its remove form posts.
type Line struct {
	SKU       string
	Image     string
	Quantity  int
	UnitPrice int64
	// Stock is the units left (checkout's copy of inventory's figure).
	Stock int
	url   string
	title string
	total int64
}

// MaxQuantity is the most the line's quantity field takes: what is in stock, at most
// checkout.MaxQuantity, and never less than 1 (a sold-out line is removed, not set to 0).
func (l Line) MaxQuantity() int { return max(1, min(checkout.MaxQuantity, l.Stock)) }

// Short reports whether fewer units are left than the line asks for: the order would be refused.
func (l Line) Short() bool { return l.Stock < l.Quantity }

// Shortage says what is left of a Short line's tractor, for the shopper.
func (l Line) Shortage() string {
	switch {
	case l.Stock <= 0:
		return "Sold out: remove it to check out."
	case l.Stock == 1:
		return "Only 1 left: lower the quantity to check out."
	default:
		return "Only " + strconv.Itoa(l.Stock) + " left: lower the quantity to check out."
	}
}

// Short reports whether any line asks for more than is left.
func (c Cart) Short() bool {
	for _, l := range c.Lines {
		if l.Short() {
			return true
		}
	}
	return false
}

// URL is the storefront page of the line's variant.
func (l Line) URL() string { return l.url }

// Title names the line's variant: "SmartFarm Titan Sunset Copper".
func (l Line) Title() string { return l.title }

// Total is quantity × unit price.
func (l Line) Total() int64 { return l.total }

// NewCart is the cart page's view of c.
func NewCart(c checkout.Cart) Cart {
	v := Cart{total: c.Total()}
	for _, l := range c.Lines {
		v.Lines = append(v.Lines, Line{SKU: l.SKU, Image: l.Image, Quantity: l.Quantity, UnitPrice: l.Price, Stock: l.Stock,
			url: l.URL(), title: l.Title(), total: l.Total()})
	}
	return v
}

// Cart error codes the no-JavaScript add redirects with (?error=); only these messages are shown, so
// the page never reflects request text.
var cartErrors = map[string]string{
	"unknown":      "This tractor does not exist.",
	"out-of-stock": "Sorry, this tractor is out of stock.",
	"line-limit": "Your basket already holds as many of this tractor as you can order: at most " +
		strconv.Itoa(checkout.MaxQuantity) + " of one tractor, and no more than we have in stock.",
	"cart-full": "Your basket is full: " + checkout.ErrCartFull.Error() + ".",
	"invalid":   "This tractor could not be added.",
	"too-many":  "We do not have that many of this tractor: please choose fewer.",
	"gone":      "That tractor is no longer in your basket.",
	"reorder-short": "Some tractors of that order are no longer in stock, or no longer fit in the basket: " +
		"they were not put back.",
	"quantity": "Please choose a quantity from 1 to " + strconv.Itoa(checkout.MaxQuantity) + ".",
}

// ErrorCode is the ?error= code of the cart page that explains err, a refused add.
func ErrorCode(err error) string {
	switch {
	case errors.Is(err, checkout.ErrUnknownSKU):
		return "unknown"
	case errors.Is(err, checkout.ErrOutOfStock):
		return "out-of-stock"
	case errors.Is(err, checkout.ErrLineLimit):
		return "line-limit"
	case errors.Is(err, checkout.ErrCartFull):
		return "cart-full"
	}
	return "invalid"
}

// Load reads the cart of the request's context with its variants; lines whose sku checkout no longer
// knows are left out.
func Load(ctx context.Context, carts LineReader, items ItemReader) (checkout.Cart, error) {
	id := fragments.ContextFrom(ctx).CartID
	if id == "" {
		return checkout.Cart{}, nil
	}
	lines, err := carts.Lines(ctx, id)
	if err != nil {
		return checkout.Cart{ID: id}, fmt.Errorf("read cart: %w", err)
	}
	skus := make([]string, len(lines))
	for i, l := range lines {
		skus[i] = l.SKU
	}
	known, err := items.Items(ctx, skus)
	if err != nil {
		return checkout.Cart{ID: id}, fmt.Errorf("read cart's variants: %w", err)
	}
	return checkout.NewCart(id, lines, known), nil
}

// Handler serves the cart page's content.
func Handler(carts LineReader, items ItemReader, opts ...fragments.RenderOption) fiber.Handler {
	return func(c *fiber.Ctx) error {
		ctx := c.UserContext()
		cart, err := Load(ctx, carts, items)
		if err != nil {
			return fmt.Errorf("cart: %w", err)
		}
		m := CartModel{Cart: NewCart(cart), CSRF: fragments.ContextFrom(ctx).CSRF, Error: cartErrors[c.Query("error")]}
		if !cart.Empty() {
			m.RecommendationsSrc = "inspire/recommendations?skus=" + url.QueryEscape(strings.Join(cart.SKUs(), ","))
		}
		return fragments.Render(c, CartView(m), fragments.Private, opts...)
	}
}

// Update is POST /ui/cart/update (sku, quantity): the line of the request's cart is set to quantity
// (1 to checkout.MaxQuantity, and no more than is in stock), then the cart page again at the line's
// field (#co-q-{sku}), where the keyboard was; a refused change comes back with why (?error=, at the
// message: #cart-error) and changes nothing. A line not in the cart is not added (?error=gone).
func Update(carts LineChanger, items ItemReader) fiber.Handler {
	return func(c *fiber.Ctx) error {
		ctx := c.UserContext()
		sku := strings.Clone(c.FormValue("sku"))
		if !checkout.ValidSKU(sku) {
			return errs.Wrap(errs.EINVALID, checkout.ErrInvalidSKU, "Please name a tractor (field sku).")
		}
		n, err := strconv.Atoi(strings.TrimSpace(c.FormValue("quantity")))
		if err != nil || n < 1 || n > checkout.MaxQuantity {
			return c.Redirect("/checkout/cart?error=quantity#cart-error", fiber.StatusSeeOther)
		}
		id := fragments.ContextFrom(ctx).CartID
		if id == "" {
			return c.Redirect("/checkout/cart", fiber.StatusSeeOther)
		}
		known, err := items.Items(ctx, []string{sku})
		if err != nil {
			return fmt.Errorf("read %s: %w", sku, err)
		}
		it, ok := known[sku]
		if !ok {
			return c.Redirect("/checkout/cart?error=unknown#cart-error", fiber.StatusSeeOther)
		}
		if n > it.Stock {
			return c.Redirect("/checkout/cart?error=too-many#cart-error", fiber.StatusSeeOther)
		}
		switch err := carts.Change(ctx, id, sku, n, checkout.MaxQuantity); {
		case errors.Is(err, checkout.ErrNotInCart): // removed meanwhile (another tab): not brought back
			return c.Redirect("/checkout/cart?error=gone#cart-error", fiber.StatusSeeOther)
		case errors.Is(err, checkout.ErrLineLimit):
			return c.Redirect("/checkout/cart?error=too-many#cart-error", fiber.StatusSeeOther)
		case err != nil:
			return fmt.Errorf("set %s to %d: %w", sku, n, err)
		}
		return c.Redirect("/checkout/cart#co-q-"+sku, fiber.StatusSeeOther)
	}
}

// Remove is POST /ui/cart/remove (sku): the line leaves the request's cart. Removing a line that is
// not there is done already: the answer is the same.
func Remove(carts LineRemover) fiber.Handler {
	return func(c *fiber.Ctx) error {
		ctx := c.UserContext()
		sku := c.FormValue("sku")
		if !checkout.ValidSKU(sku) {
			return errs.Wrap(errs.EINVALID, checkout.ErrInvalidSKU, "Please name a tractor (field sku).")
		}
		if id := fragments.ContextFrom(ctx).CartID; id != "" {
			if err := carts.Remove(ctx, id, sku); err != nil && !errors.Is(err, checkout.ErrNotInCart) {
				return fmt.Errorf("remove %s: %w", sku, err)
			}
		}
		if WantsJSON(c) {
			return c.JSON(fiber.Map{"sku": strings.Clone(sku), "removed": true})
		}
		return c.Redirect("/checkout/cart", fiber.StatusSeeOther)
	}
}

// WantsJSON reports whether the request came from checkout's script (fetch with Accept: JSON)
// rather than a plain form post.
func WantsJSON(c *fiber.Ctx) bool {
	return strings.Contains(c.Get(fiber.HeaderAccept), fiber.MIMEApplicationJSON)
}

// Package addtocart serves the Add To Cart fragment (price, stock and the "add to basket" form of one
// variant) and POST /ui/cart/add, which adds one unit to the visitor's cart, creating the cart and its
// cookie on the first add.
package addtocart

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/gofiber/fiber/v2"

	"github.com/inlay-dev/inlay/fragments"
	"github.com/inlay-dev/inlay/services/checkout"
	"github.com/inlay-dev/inlay/services/checkout/ui/cart"
	"github.com/inlay-dev/inlay/services/kit/errs"
)

// Name is the fragment's name in checkout's manifest.
const Name = "add-to-cart"

// ItemReader reads checkout's copy of a variant with its stock; an ENOTFOUND error wrapping
// checkout.ErrUnknownSKU for a sku checkout does not know.
type ItemReader interface {
	Item(ctx context.Context, sku string) (checkout.Item, error)
}

// CartAdder adds to a cart and reads its lines.
type CartAdder interface {
	// Add adds n units of sku to cart id, at most limit in the line, and returns the line's quantity;
	// checkout.ErrLineLimit or checkout.ErrCartFull when the cart cannot take them.
	Add(ctx context.Context, cartID, sku string, n, limit int) (int, error)
	// NewCartID names a new cart for a visitor who has none, the same for each of the visitor's
	// requests that ask at once (visitor: their CSRF token).
	NewCartID(ctx context.Context, visitor string) (string, error)
	Lines(ctx context.Context, cartID string) ([]checkout.CartLine, error)
}

// AddToCartModel is what Add To Cart shows.
type AddToCartModel struct {
	Item Item
	CSRF string
}

// Item is what Add To Cart shows of a variant: its sku (posted), price and stock.
type Item struct {
	SKU   string
	Price int64
	Stock int
}

// InStock reports whether at least one unit is available.
func (i Item) InStock() bool { return i.Stock > 0 }

// NewModel is Add To Cart's view of it with the form's CSRF token (fragments.CSRFPlaceholder for the
// shared copy the fragment serves).
func NewModel(it checkout.Item, csrf string) AddToCartModel {
	return AddToCartModel{Item: Item{SKU: it.SKU, Price: it.Price, Stock: it.Stock}, CSRF: csrf}
}

// Handler serves Add To Cart for ?sku=; a sku checkout does not know is answered with 404 and a
// short message.
func Handler(items ItemReader, opts ...fragments.RenderOption) fiber.Handler {
	notFound := append(slices.Clip(opts), fragments.Status(fiber.StatusNotFound))
	return func(c *fiber.Ctx) error {
		ctx := c.UserContext()
		sku := c.Query("sku")
		if !checkout.ValidSKU(sku) {
			return fragments.Render(c, AddToCartUnavailable(), fragments.Private, notFound...)
		}
		it, err := items.Item(ctx, sku)
		if errors.Is(err, checkout.ErrUnknownSKU) {
			return fragments.Render(c, AddToCartUnavailable(), fragments.Private, notFound...)
		}
		if err != nil {
			return fmt.Errorf("add to cart %s: %w", sku, err)
		}
		// Public: the form carries fragments.CSRFPlaceholder, which the shell replaces with each
		// visitor's token, so one copy per variant serves every visitor. Checkout purges it by its sku's
		// tag once a price or stock change is committed in its copies; the product's tag takes it
		// with every other fragment of the product when explore purges a price change.
		return fragments.Render(c, AddToCartView(NewModel(it, fragments.CSRFPlaceholder)), fragments.Public,
			append(slices.Clip(opts), fragments.Tags(fragments.ProductTag(it.ProductID), fragments.SKUTag(it.SKU)))...)
	}
}

// AddResult is POST /ui/cart/add's JSON answer.
type AddResult struct {
	SKU          string `json:"sku"`
	Quantity     int    `json:"quantity"`
	CartQuantity int    `json:"cartQuantity"`
	Message      string `json:"message"`
}

// Add is POST /ui/cart/add (sku). A form post is redirected to the cart page (with ?error= when
// refused); the script (Accept: JSON) gets an AddResult or the error. secure marks the cart cookie
// Secure.
func Add(items ItemReader, carts CartAdder, secure bool) fiber.Handler {
	return func(c *fiber.Ctx) error {
		ctx := c.UserContext()
		sku := strings.Clone(c.FormValue("sku"))
		q, id, err := add(c, items, carts, secure, sku)
		if err != nil {
			if cart.WantsJSON(c) {
				return err
			}
			return c.Redirect("/checkout/cart?error="+cart.ErrorCode(err), fiber.StatusSeeOther)
		}
		if !cart.WantsJSON(c) {
			return c.Redirect("/checkout/cart", fiber.StatusSeeOther)
		}
		lines, err := carts.Lines(ctx, id)
		if err != nil {
			return fmt.Errorf("read cart: %w", err)
		}
		c.Set(fiber.HeaderCacheControl, "no-store")
		return c.JSON(AddResult{SKU: sku, Quantity: q, CartQuantity: checkout.Units(lines), Message: "Tractor was added."})
	}
}

// add adds one unit of sku to the request's cart (creating the cart and its cookie when the context
// has none) and returns the line's quantity and the cart id.
func add(c *fiber.Ctx, items ItemReader, carts CartAdder, secure bool, sku string) (int, string, error) {
	ctx := c.UserContext()
	if !checkout.ValidSKU(sku) {
		return 0, "", errs.Wrap(errs.EINVALID, checkout.ErrInvalidSKU, "Please name a tractor (field sku).")
	}
	it, err := items.Item(ctx, sku)
	if err != nil {
		return 0, "", err
	}
	limit, err := checkout.AddLimit(it)
	if err != nil {
		return 0, "", err
	}
	id := fragments.ContextFrom(ctx).CartID
	if id == "" {
		if id, err = carts.NewCartID(ctx, fragments.ContextFrom(ctx).CSRF); err != nil {
			return 0, "", err
		}
	}
	q, err := carts.Add(ctx, id, sku, 1, limit)
	switch {
	case errors.Is(err, checkout.ErrLineLimit):
		msg := "You already have " + strconv.Itoa(limit) + " of " + it.Title() + " in your basket"
		if limit < checkout.MaxQuantity {
			msg += ", all we have in stock."
		} else {
			msg += ", the most one order may hold."
		}
		return 0, "", errs.Wrap(errs.ECONFLICT, err, msg)
	case errors.Is(err, checkout.ErrCartFull):
		return 0, "", errs.Wrap(errs.ECONFLICT, err, "Your basket is full: "+err.Error()+".")
	case err != nil:
		return 0, "", err
	}
	setCartCookie(c, id, secure)
	return q, id, nil
}

// setCartCookie (re)sets inlay_cart for 30 days. The shell passes it to the browser because
// checkout owns the name.
func setCartCookie(c *fiber.Ctx, id string, secure bool) {
	c.Cookie(&fiber.Cookie{Name: checkout.CartCookie, Value: id, Path: "/", MaxAge: int(checkout.CartTTL.Seconds()),
		Expires: time.Now().Add(checkout.CartTTL), HTTPOnly: true, Secure: secure, SameSite: fiber.CookieSameSiteLaxMode})
}

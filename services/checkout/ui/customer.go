package ui

import (
	"context"
	"fmt"
	"time"

	"github.com/gofiber/fiber/v2"

	"github.com/inlay-dev/inlay/fragments"
	"github.com/inlay-dev/inlay/services/checkout"
)

// cartID returns the cart a request works with: a guest's, named by the cart cookie (through the
// context); a signed-in customer's own cart (checkout.CustomerCartID), into which the guest cart the
// context still names is merged first. The merge is one atomic step that deletes the guest cart, so
// it happens once however many fragments of a page ask at the same time, and the first page after
// signing in already shows every line.
func (h *handlers) cartID(ctx context.Context) (string, error) {
	fc := fragments.ContextFrom(ctx)
	if fc.Guest() {
		return fc.CartID, nil
	}
	id := checkout.CustomerCartID(fc.CustomerID)
	if fc.CartID != "" && fc.CartID != id {
		if err := h.mergeGuest(ctx, fc.CartID, id); err != nil {
			return "", err
		}
	}
	return id, nil
}

// mergeGuest merges cart from into cart into, each line capped as adding it would be (its stock and
// checkout.MaxQuantity; a sku checkout no longer knows, or out of stock, stays out).
func (h *handlers) mergeGuest(ctx context.Context, from, into string) error {
	lines, err := h.carts.Lines(ctx, from)
	if err != nil || len(lines) == 0 {
		return err
	}
	skus := make([]string, len(lines))
	for i, l := range lines {
		skus[i] = l.SKU
	}
	items, err := h.store.Items(ctx, skus)
	if err != nil {
		return fmt.Errorf("merge guest cart: %w", err)
	}
	limits := make(map[string]int, len(lines))
	for _, sku := range skus {
		limits[sku] = 0
		if it, ok := items[sku]; ok {
			if l, err := checkout.AddLimit(it); err == nil {
				limits[sku] = l
			}
		}
	}
	if _, err := h.carts.Merge(ctx, from, into, limits); err != nil {
		return err
	}
	return nil
}

// keepCartCookie (re)sets a guest's cart cookie; for a signed-in customer it clears the guest cart
// cookie instead, whose cart has been merged into the customer's (after sign-out the visitor then
// starts with a fresh, empty guest cart).
func (h *handlers) keepCartCookie(c *fiber.Ctx, id string) {
	fc := fragments.ContextFrom(c.UserContext())
	if fc.Guest() {
		h.setCartCookie(c, id)
		return
	}
	if fc.CartID != "" {
		c.Cookie(&fiber.Cookie{Name: checkout.CartCookie, Value: "", Path: "/", MaxAge: -1, Expires: time.Unix(0, 0),
			HTTPOnly: true, Secure: h.secure, SameSite: fiber.CookieSameSiteLaxMode})
	}
}

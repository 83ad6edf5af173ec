package ui

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/gofiber/fiber/v2"

	"github.com/inlay-dev/inlay/fragments"
	"github.com/inlay-dev/inlay/services/checkout"
	"github.com/inlay-dev/inlay/services/checkout/ui/cart"
)

// CartMerger moves a guest cart into a customer's cart in one atomic step that deletes the guest
// cart (redis.Carts.Merge): lines add up, each capped at limits[sku].
type CartMerger interface {
	cart.LineReader
	Merge(ctx context.Context, from, into string, limits map[string]int) (bool, error)
}

// GuestOrderAdopter makes the guest orders of a cart a customer signed in with theirs, when they
// were placed with the customer's e-mail (postgres.Store.AdoptGuestOrders).
type GuestOrderAdopter interface {
	AdoptGuestOrders(ctx context.Context, cartID, customerID string) error
}

// CustomerStore is what customerCart reads and writes in checkout's database.
type CustomerStore interface {
	cart.ItemReader
	GuestOrderAdopter
}

// customerCart is middleware after fragments.Middleware: for a signed-in customer the request's cart
// becomes the customer's own (checkout.CustomerCartID), which stays with the account across devices
// and sign-outs, so every fragment and endpoint below works on it unchanged. When the context still
// names a guest cart, that cart is merged into the customer's first — one atomic step that deletes
// it, so it happens once however many fragments of a page ask at the same time, and the first page
// after signing in already shows every line — and an endpoint's answer clears the guest cart cookie
// (after sign-out the visitor then starts with a fresh, empty guest cart). The guest orders placed
// from that cart with the customer's e-mail become the customer's (GuestOrderAdopter), so an order
// placed before signing in or registering stays in the order history and on its thank-you page.
func customerCart(carts CartMerger, store CustomerStore, log *slog.Logger, secure, endpoint bool) fiber.Handler {
	var adopted recentSet
	return func(c *fiber.Ctx) error {
		ctx := c.UserContext()
		fc := fragments.ContextFrom(ctx)
		// A cookie planted with a customer's cart id names no cart at all.
		guest := checkout.GuestCartID(fc.CartID)
		if fc.Guest() {
			if guest != fc.CartID {
				fc.CartID = ""
				c.SetUserContext(fragments.WithContext(ctx, fc))
			}
			return c.Next()
		}
		fc.CartID = checkout.CustomerCartID(fc.CustomerID)
		merged := true
		if guest != "" && guest != fc.CartID {
			// Every fragment of every page carries the guest cookie until an endpoint clears it: the
			// database is asked once a while per guest cart and customer, not once per fragment.
			if key := guest + " " + fc.CustomerID; !adopted.has(key) {
				if err := store.AdoptGuestOrders(ctx, guest, fc.CustomerID); err != nil {
					// The orders stay the guest cart's; the next request with its cookie tries again.
					log.WarnContext(ctx, "adopt guest orders", "error", err.Error())
				} else {
					adopted.add(key)
				}
			}
			err := MergeGuest(ctx, carts, store, guest, fc.CartID)
			if errors.Is(err, checkout.ErrOrderInProgress) {
				// The guest cart's order is being placed: merge what is left of it on a later
				// request, so its cookie stays.
				merged = false
			} else if err != nil {
				return err
			}
		}
		c.SetUserContext(fragments.WithContext(ctx, fc))
		err := c.Next()
		if endpoint && merged && guest != "" && guest != fc.CartID {
			// Replaces any inlay_cart the endpoint set: the customer's cart needs no cookie.
			c.Cookie(&fiber.Cookie{Name: checkout.CartCookie, Value: "", Path: "/", MaxAge: -1, Expires: time.Unix(0, 0),
				HTTPOnly: true, Secure: secure, SameSite: fiber.CookieSameSiteLaxMode})
		} else if endpoint {
			c.Response().Header.DelCookie(checkout.CartCookie)
		}
		return err
	}
}

// MergeGuest merges cart from into cart into, each line capped as adding it would be (its stock and
// checkout.MaxQuantity; a sku checkout no longer knows, or out of stock, stays out).
func MergeGuest(ctx context.Context, carts CartMerger, items cart.ItemReader, from, into string) error {
	lines, err := carts.Lines(ctx, from)
	if err != nil || len(lines) == 0 {
		return err
	}
	skus := make([]string, len(lines))
	for i, l := range lines {
		skus[i] = l.SKU
	}
	known, err := items.Items(ctx, skus)
	if err != nil {
		return fmt.Errorf("merge guest cart: %w", err)
	}
	limits := make(map[string]int, len(lines))
	for _, sku := range skus {
		limits[sku] = 0
		if it, ok := known[sku]; ok {
			if l, err := checkout.AddLimit(it); err == nil {
				limits[sku] = l
			}
		}
	}
	if _, err := carts.Merge(ctx, from, into, limits); err != nil {
		return fmt.Errorf("merge guest cart: %w", err)
	}
	return nil
}

// recentAdoption is how long customerCart remembers a guest cart whose orders it adopted: longer
// than the pages after a sign-in take to reach an endpoint that clears the guest cookie, short
// enough that an order placed from that cart since (another tab) joins on a later request.
const recentAdoption = 10 * time.Minute

// recentSet remembers keys for recentAdoption, at most maxRecent of them (past it, it starts again).
type recentSet struct {
	mu   sync.Mutex
	seen map[string]time.Time
}

const maxRecent = 10_000

func (r *recentSet) has(key string) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	t, ok := r.seen[key]
	return ok && time.Since(t) < recentAdoption
}

func (r *recentSet) add(key string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.seen == nil || len(r.seen) >= maxRecent {
		r.seen = map[string]time.Time{}
	}
	r.seen[key] = time.Now()
}

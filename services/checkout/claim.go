package checkout

import (
	"context"
	"crypto/rand"
	"errors"
	"log/slog"
	"time"
)

// CartClaimer is what placing an order does to the cart around the order (redis.Carts): claim it for
// the request's idempotency key, and either take the ordered lines out of it (which ends the claim)
// once the order stands, or release the claim when no order was placed.
type CartClaimer interface {
	// ClaimPlacing returns ErrOrderInProgress while another key's request holds cart id.
	ClaimPlacing(ctx context.Context, cartID, key string) error
	ReleasePlacing(ctx context.Context, cartID, key string) error
	// ClearOrdered takes order orderID's lines out of the cart, once per order however often it is
	// asked (a replay of the order's key), and ends key's claim on the cart (never another's).
	ClearOrdered(ctx context.Context, cartID, orderID, key string, lines []CartLine) error
}

// claimTimeout bounds what is done to a claim after the order: the request's own deadline may have
// passed while the order was placed, and the cart must still be emptied.
const claimTimeout = 2 * time.Second

// CartClaim is one order request's hold on its cart (ClaimCart): one basket makes one order.
type CartClaim struct {
	ctx     context.Context
	carts   CartClaimer
	id, key string
	log     *slog.Logger
	keep    bool
}

// ClaimCart claims cart id for an order request with idempotency key (a fresh key when it has none:
// such a request shares its claim with nobody), before the request reads the cart's lines, so two
// requests with different keys never both order them. While another key holds the cart it tries
// again, more and more slowly, until waitUntil (the zero time: not at all) or ctx ends, then
// answers ErrOrderInProgress; placing takes milliseconds, so a second tab's post finds the basket
// ordered. After any other error no claim of this request's is left behind. Defer the claim's
// Release; call Placed once the order stands, Unsure when the order's fate is unknown.
func ClaimCart(ctx context.Context, carts CartClaimer, id, key string, waitUntil time.Time, log *slog.Logger) (*CartClaim, error) {
	if key == "" {
		key = rand.Text()
	}
	c := &CartClaim{ctx: ctx, carts: carts, id: id, key: key, log: log}
	err := carts.ClaimPlacing(ctx, id, key)
	for wait := 25 * time.Millisecond; errors.Is(err, ErrOrderInProgress) && time.Now().Add(wait).Before(waitUntil); wait = min(2*wait, 400*time.Millisecond) {
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return nil, err
		case <-t.C:
			err = carts.ClaimPlacing(ctx, id, key)
		}
	}
	if err != nil {
		if !errors.Is(err, ErrOrderInProgress) {
			// The claim may have been taken though its answer was lost (a timeout): end it.
			c.Release()
		}
		return nil, err
	}
	return c, nil
}

// Placed takes the order's lines out of the cart (lines added meanwhile stay) and ends the claim. It
// has a deadline of its own. When it fails the claim stays until it expires, so no other key orders
// these lines again meanwhile, and a retry with the order's key takes them out.
func (c *CartClaim) Placed(orderID string, lines []CartLine) error {
	c.keep = true
	ctx, cancel := context.WithTimeout(context.WithoutCancel(c.ctx), claimTimeout)
	defer cancel()
	return c.carts.ClearOrdered(ctx, c.id, orderID, c.key, lines)
}

// Unsure keeps the claim until it expires: placing the order failed in a way that may have placed
// it (a database error after the insert was sent), so only a retry with the same key may go on.
func (c *CartClaim) Unsure() { c.keep = true }

// Release ends the claim, unless the order was placed (Placed) or may have been (Unsure).
func (c *CartClaim) Release() {
	if c.keep {
		return
	}
	ctx, cancel := context.WithTimeout(context.WithoutCancel(c.ctx), claimTimeout)
	defer cancel()
	if err := c.carts.ReleasePlacing(ctx, c.id, c.key); err != nil {
		// The claim expires by itself (redis.PlacingClaim); until then the cart takes no other order.
		c.log.ErrorContext(c.ctx, "release cart after an order request", "error", err.Error())
	}
}

// LinesOf is the cart lines an order was placed for.
func LinesOf(o Order) []CartLine {
	lines := make([]CartLine, len(o.Lines))
	for i, l := range o.Lines {
		lines[i] = CartLine{SKU: l.SKU, Quantity: l.Quantity}
	}
	return lines
}

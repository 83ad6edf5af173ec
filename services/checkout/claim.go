package checkout

import (
	"context"
	"crypto/rand"
	"log/slog"
	"time"
)

// CartClaimer is what placing an order does to the cart around the order (redis.Carts): claim it for
// the request's idempotency key, and either clear it (which ends the claim) once the order stands or
// release the claim when the order was not placed.
type CartClaimer interface {
	// ClaimPlacing returns ErrOrderInProgress while another key's request holds cart id.
	ClaimPlacing(ctx context.Context, cartID, key string) error
	ReleasePlacing(ctx context.Context, cartID, key string) error
	Clear(ctx context.Context, cartID string) error
}

// releaseTimeout bounds releasing a claim after the request's own deadline may have passed.
const releaseTimeout = 2 * time.Second

// ClaimCart claims cart id for an order request with idempotency key (a fresh key when it has none:
// such a request shares its claim with nobody) and returns the function that releases it, to be
// deferred: after Clear it finds nothing of its own to release. The claim is taken before the
// request reads the cart's lines, so two requests with different keys never both order them.
func ClaimCart(ctx context.Context, carts CartClaimer, id, key string, log *slog.Logger) (release func(), err error) {
	if key == "" {
		key = rand.Text()
	}
	if err := carts.ClaimPlacing(ctx, id, key); err != nil {
		return nil, err
	}
	return func() {
		// The request's context may be done (its deadline): the release still has to reach Redis.
		rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), releaseTimeout)
		defer cancel()
		if err := carts.ReleasePlacing(rctx, id, key); err != nil {
			// The claim expires by itself (redis.PlacingClaim); until then the cart takes no other order.
			log.ErrorContext(ctx, "release cart after an order request", "error", err.Error())
		}
	}, nil
}

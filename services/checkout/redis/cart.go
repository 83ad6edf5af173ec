// Package redis is checkout's cart store: one Redis hash per cart (sku → quantity) that expires
// checkout.CartTTL after its last change. Changes are single atomic scripts, so concurrent adds never
// exceed the limits.
package redis

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"time"

	"github.com/google/uuid"
	goredis "github.com/redis/go-redis/v9"

	"github.com/inlay-dev/inlay/services/checkout"
	"github.com/inlay-dev/inlay/services/kit/redisdb"
)

// Carts stores carts in Redis.
type Carts struct {
	rdb  *goredis.Client
	keys redisdb.Keys
}

// NewCarts returns the cart store; keys are scoped by keys (the service's prefix).
func NewCarts(rdb *goredis.Client, keys redisdb.Keys) *Carts { return &Carts{rdb: rdb, keys: keys} }

func (s *Carts) key(id string) string { return s.keys.Key("cart", id) }

// addScript adds ARGV[2] units of sku ARGV[1] unless the line would exceed ARGV[3] units (-1) or a new
// line would exceed ARGV[4] lines (-2); it refreshes the TTL (ARGV[5] ms) and returns the line's
// new quantity. Fields: "q:<sku>" the quantity, "o:<sku>" the line's position (from the counter
// "seq"), so lines keep the order they were first added in.
var addScript = goredis.NewScript(`
local q = tonumber(redis.call('HGET', KEYS[1], 'q:' .. ARGV[1]) or '0')
local n = q + tonumber(ARGV[2])
if n > tonumber(ARGV[3]) then return -1 end
if q == 0 then
  local lines = math.floor(redis.call('HLEN', KEYS[1]) / 2)
  if lines >= tonumber(ARGV[4]) then return -2 end
  local seq = redis.call('HINCRBY', KEYS[1], 'seq', 1)
  redis.call('HSET', KEYS[1], 'o:' .. ARGV[1], seq)
end
redis.call('HSET', KEYS[1], 'q:' .. ARGV[1], n)
redis.call('PEXPIRE', KEYS[1], ARGV[5])
return n
`)

// setScript sets sku ARGV[1]'s line to ARGV[2] units unless that exceeds ARGV[3] units (-1) or a new
// line would exceed ARGV[4] lines (-2); it refreshes the TTL (ARGV[5] ms) and returns the quantity.
var setScript = goredis.NewScript(`
local q = tonumber(redis.call('HGET', KEYS[1], 'q:' .. ARGV[1]) or '0')
local n = tonumber(ARGV[2])
if n > tonumber(ARGV[3]) then return -1 end
if q == 0 then
  local lines = math.floor(redis.call('HLEN', KEYS[1]) / 2)
  if lines >= tonumber(ARGV[4]) then return -2 end
  local seq = redis.call('HINCRBY', KEYS[1], 'seq', 1)
  redis.call('HSET', KEYS[1], 'o:' .. ARGV[1], seq)
end
redis.call('HSET', KEYS[1], 'q:' .. ARGV[1], n)
redis.call('PEXPIRE', KEYS[1], ARGV[5])
return n
`)

// changeScript sets the quantity of sku ARGV[1] to ARGV[2] (at most ARGV[3]) only when the line is
// there; it returns the quantity, -1 over the limit, -3 when the line is not there.
var changeScript = goredis.NewScript(`
local q = tonumber(redis.call('HGET', KEYS[1], 'q:' .. ARGV[1]) or '0')
if q == 0 then return -3 end
local n = tonumber(ARGV[2])
if n > tonumber(ARGV[3]) then return -1 end
redis.call('HSET', KEYS[1], 'q:' .. ARGV[1], n)
redis.call('PEXPIRE', KEYS[1], ARGV[4])
return n
`)

// removeScript removes sku ARGV[1]; it returns 0 when the line was not there.
var removeScript = goredis.NewScript(`
local n = redis.call('HDEL', KEYS[1], 'q:' .. ARGV[1], 'o:' .. ARGV[1])
if n > 0 and redis.call('EXISTS', KEYS[1]) == 1 then redis.call('PEXPIRE', KEYS[1], ARGV[2]) end
return n
`)

// claimScript returns the cart id claimed under KEYS[1], claiming ARGV[1] for ARGV[2] ms when there
// is none.
var claimScript = goredis.NewScript(`
local id = redis.call('GET', KEYS[1])
if id then return id end
redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
return ARGV[1]
`)

// NewCartClaim is how long a visitor's first cart id stays claimed under the visitor's token: longer
// than any two requests of one page load take to arrive, shorter than the cart cookie lives.
const NewCartClaim = 10 * time.Minute

// NewCartID names the cart of a visitor who has none yet, at their first add. visitor is what the
// visitor's requests share (the CSRF token of their context): two first adds at once — two tabs, a
// double click before the cookie arrives — get the same id, where two fresh ids would each set the
// cart cookie and the first line would be lost with the cart the browser forgets. The id itself is
// random (a UUID), not derived from the token; the claim is kept under the token's SHA-256 for
// NewCartClaim. An empty visitor gets a fresh id.
func (s *Carts) NewCartID(ctx context.Context, visitor string) (string, error) {
	id := uuid.NewString()
	if visitor == "" {
		return id, nil
	}
	sum := sha256.Sum256([]byte(visitor))
	claimed, err := claimScript.Run(ctx, s.rdb, []string{s.keys.Key("newcart", hex.EncodeToString(sum[:]))}, id,
		NewCartClaim.Milliseconds()).Text()
	if err != nil {
		return "", fmt.Errorf("claim a new cart: %w", err)
	}
	return claimed, nil
}

// Add adds n units of sku to cart id, allowing at most limit units of that line and
// checkout.MaxLines lines. It returns the line's new quantity, checkout.ErrLineLimit or
// checkout.ErrCartFull.
func (s *Carts) Add(ctx context.Context, id, sku string, n, limit int) (int, error) {
	if n <= 0 {
		return 0, fmt.Errorf("add %d of %s: quantity must be positive", n, sku)
	}
	q, err := addScript.Run(ctx, s.rdb, []string{s.key(id)}, sku, n, limit, checkout.MaxLines,
		checkout.CartTTL.Milliseconds()).Int()
	if err != nil {
		return 0, fmt.Errorf("add %s to cart: %w", sku, err)
	}
	switch q {
	case -1:
		return 0, checkout.ErrLineLimit
	case -2:
		return 0, checkout.ErrCartFull
	}
	return q, nil
}

// Set sets the line of sku in cart id to n units (adding the line when it is new), allowing at most
// limit units and checkout.MaxLines lines. It returns checkout.ErrLineLimit or checkout.ErrCartFull
// when the cart cannot hold them.
func (s *Carts) Set(ctx context.Context, id, sku string, n, limit int) error {
	if n <= 0 {
		return fmt.Errorf("set %s to %d: quantity must be positive", sku, n)
	}
	q, err := setScript.Run(ctx, s.rdb, []string{s.key(id)}, sku, n, limit, checkout.MaxLines,
		checkout.CartTTL.Milliseconds()).Int()
	if err != nil {
		return fmt.Errorf("set %s in cart: %w", sku, err)
	}
	switch q {
	case -1:
		return checkout.ErrLineLimit
	case -2:
		return checkout.ErrCartFull
	}
	return nil
}

// Change sets the line of sku in cart id to n units, allowing at most limit, only when the line is
// there: checkout.ErrNotInCart when it is not (removed meanwhile in another tab: not brought back),
// checkout.ErrLineLimit over the limit.
func (s *Carts) Change(ctx context.Context, id, sku string, n, limit int) error {
	if n <= 0 {
		return fmt.Errorf("change %s to %d: quantity must be positive", sku, n)
	}
	q, err := changeScript.Run(ctx, s.rdb, []string{s.key(id)}, sku, n, limit, checkout.CartTTL.Milliseconds()).Int()
	if err != nil {
		return fmt.Errorf("change %s in cart: %w", sku, err)
	}
	switch q {
	case -1:
		return checkout.ErrLineLimit
	case -3:
		return checkout.ErrNotInCart
	}
	return nil
}

// Quantity returns how many units of sku cart id holds.
func (s *Carts) Quantity(ctx context.Context, id, sku string) (int, error) {
	v, err := s.rdb.HGet(ctx, s.key(id), "q:"+sku).Int()
	if errors.Is(err, goredis.Nil) {
		return 0, nil
	}
	if err != nil {
		return 0, fmt.Errorf("read cart line %s: %w", sku, err)
	}
	return v, nil
}

// Remove removes sku's line from cart id; checkout.ErrNotInCart when it was not there.
func (s *Carts) Remove(ctx context.Context, id, sku string) error {
	n, err := removeScript.Run(ctx, s.rdb, []string{s.key(id)}, sku, checkout.CartTTL.Milliseconds()).Int()
	if err != nil {
		return fmt.Errorf("remove %s from cart: %w", sku, err)
	}
	if n == 0 {
		return checkout.ErrNotInCart
	}
	return nil
}

// Lines returns cart id's lines in the order they were first added; none for a missing cart.
func (s *Carts) Lines(ctx context.Context, id string) ([]checkout.CartLine, error) {
	m, err := s.rdb.HGetAll(ctx, s.key(id)).Result()
	if err != nil {
		return nil, fmt.Errorf("read cart: %w", err)
	}
	type ordered struct {
		checkout.CartLine
		seq int
	}
	lines := make([]ordered, 0, len(m)/2)
	for k, v := range m {
		if len(k) < 3 || k[:2] != "q:" {
			continue
		}
		q, err := strconv.Atoi(v)
		if err != nil || q <= 0 {
			continue // a field another version wrote; ignore it
		}
		seq, _ := strconv.Atoi(m["o:"+k[2:]])
		lines = append(lines, ordered{checkout.CartLine{SKU: k[2:], Quantity: q}, seq})
	}
	slices.SortFunc(lines, func(a, b ordered) int {
		if a.seq != b.seq {
			return a.seq - b.seq
		}
		if a.SKU < b.SKU {
			return -1
		}
		return 1
	})
	out := make([]checkout.CartLine, len(lines))
	for i, l := range lines {
		out[i] = l.CartLine
	}
	return out, nil
}

// PlacingClaim is how long an order request may hold its cart (ClaimPlacing) at most: longer than
// placing an order takes within a request's deadline, so a claim ends with its request (ClearOrdered
// or ReleasePlacing) unless the process dies holding it.
const PlacingClaim = 30 * time.Second

func (s *Carts) placingKey(id string) string { return s.keys.Key("placing", id) }

// claimPlacingScript claims KEYS[1] for ARGV[1] (ARGV[2] ms) unless another holds it: 1 when the
// claim is ARGV[1]'s, 0 when another's.
var claimPlacingScript = goredis.NewScript(`
local holder = redis.call('GET', KEYS[1])
if holder and holder ~= ARGV[1] then return 0 end
redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
return 1
`)

// releasePlacingScript ends ARGV[1]'s claim on KEYS[1], never another's.
var releasePlacingScript = goredis.NewScript(`
if redis.call('GET', KEYS[1]) == ARGV[1] then redis.call('DEL', KEYS[1]) end
return 0
`)

// ClaimPlacing claims cart id for the order request of idempotency key while it places its order
// (until ClearOrdered, ReleasePlacing or PlacingClaim): another key's request gets
// checkout.ErrOrderInProgress, so one basket cannot become two orders by two requests at once (two
// tabs, or a client inventing keys); a retry with the same key may go on (the key finds its order).
func (s *Carts) ClaimPlacing(ctx context.Context, id, key string) error {
	ok, err := claimPlacingScript.Run(ctx, s.rdb, []string{s.placingKey(id)}, key, PlacingClaim.Milliseconds()).Int()
	if err != nil {
		return fmt.Errorf("claim cart for an order: %w", err)
	}
	if ok == 0 {
		return checkout.ErrOrderInProgress
	}
	return nil
}

// OrderedTTL is how long a cart remembers that an order's lines were taken out of it (ClearOrdered):
// a replay of the order's key within it takes nothing out again.
const OrderedTTL = 24 * time.Hour

// clearOrderedScript takes ARGV[3..] (sku, quantity pairs) out of cart KEYS[1] once: only when it can
// mark KEYS[3] (ARGV[1] ms). A line left with nothing goes, and the cart with its last line; the claim
// KEYS[2] ends either way when it is ARGV[2]'s (never another request's).
var clearOrderedScript = goredis.NewScript(`
if redis.call('SET', KEYS[3], '1', 'NX', 'PX', ARGV[1]) then
  for i = 3, #ARGV - 1, 2 do
    local f = 'q:' .. ARGV[i]
    local q = tonumber(redis.call('HGET', KEYS[1], f) or '0')
    local n = q - tonumber(ARGV[i + 1])
    if n > 0 then
      redis.call('HSET', KEYS[1], f, n)
    elseif q > 0 then
      redis.call('HDEL', KEYS[1], f, 'o:' .. ARGV[i])
    end
  end
  if redis.call('HLEN', KEYS[1]) <= 1 then redis.call('DEL', KEYS[1]) end
end
if redis.call('GET', KEYS[2]) == ARGV[2] then redis.call('DEL', KEYS[2]) end
return 0
`)

// ClearOrdered takes order orderID's lines out of cart id — what was added while the order was
// placed stays — once per order (for OrderedTTL: a replay of the order's key takes nothing out of
// a basket filled since), and ends key's claim on the cart (ClaimPlacing), never another's.
func (s *Carts) ClearOrdered(ctx context.Context, id, orderID, key string, lines []checkout.CartLine) error {
	args := make([]any, 0, 2+2*len(lines))
	args = append(args, OrderedTTL.Milliseconds(), key)
	for _, l := range lines {
		args = append(args, l.SKU, l.Quantity)
	}
	keys := []string{s.key(id), s.placingKey(id), s.keys.Key("ordered", id, orderID)}
	if err := clearOrderedScript.Run(ctx, s.rdb, keys, args...).Err(); err != nil && !errors.Is(err, goredis.Nil) {
		return fmt.Errorf("take order %s out of the cart: %w", orderID, err)
	}
	return nil
}

// ReleasePlacing ends key's claim on cart id (an order refused, the cart kept as it is).
func (s *Carts) ReleasePlacing(ctx context.Context, id, key string) error {
	if err := releasePlacingScript.Run(ctx, s.rdb, []string{s.placingKey(id)}, key).Err(); err != nil && !errors.Is(err, goredis.Nil) {
		return fmt.Errorf("release cart after an order: %w", err)
	}
	return nil
}

// flashTTL is how long a refused checkout form is kept for the redirect that shows it again.
const flashTTL = 10 * time.Minute

// SaveForm keeps a refused checkout form (without its card number) and its errors for cart id, so
// the checkout page shown after the redirect fills them in again.
func (s *Carts) SaveForm(ctx context.Context, id string, f checkout.CheckoutForm, errs checkout.FieldErrors) error {
	f.Card = "" // card numbers never rest in Redis
	b, err := json.Marshal(flash{Form: f, Errors: errs})
	if err != nil {
		return fmt.Errorf("encode form: %w", err)
	}
	if err := s.rdb.Set(ctx, s.keys.Key("form", id), b, flashTTL).Err(); err != nil {
		return fmt.Errorf("save form: %w", err)
	}
	return nil
}

// TakeForm returns and deletes the form SaveForm kept for cart id; ok is false when there is none.
func (s *Carts) TakeForm(ctx context.Context, id string) (f checkout.CheckoutForm, errs checkout.FieldErrors, ok bool, err error) {
	b, err := s.rdb.GetDel(ctx, s.keys.Key("form", id)).Bytes()
	if errors.Is(err, goredis.Nil) {
		return f, nil, false, nil
	}
	if err != nil {
		return f, nil, false, fmt.Errorf("read form: %w", err)
	}
	var fl flash
	if err := json.Unmarshal(b, &fl); err != nil {
		return f, nil, false, nil // an unreadable flash is as good as none
	}
	return fl.Form, fl.Errors, true, nil
}

type flash struct {
	Form   checkout.CheckoutForm `json:"form"`
	Errors checkout.FieldErrors  `json:"errors"`
}

package redis

import (
	"context"
	"fmt"

	goredis "github.com/redis/go-redis/v9"

	"github.com/inlay-dev/inlay/services/checkout"
)

// mergeScript moves cart KEYS[1] into cart KEYS[2] in one step: each guest line adds to the
// customer's line of the same sku, capped at that sku's limit (ARGV[3..] as sku, limit pairs;
// ARGV[1] for a sku not named), a new line only while the customer's cart has fewer than ARGV[2]
// lines (the rest stay out, as a full cart refuses an add); then the guest cart is deleted and the
// customer's TTL refreshed (ARGV[4] ms is ARGV[#ARGV]). It returns the number of guest lines, 0
// when there was no guest cart (merged already: merging is done once), -1 when an order request
// holds the guest cart (its claim KEYS[3]): its lines are being ordered, not merged.
var mergeScript = goredis.NewScript(`
if redis.call('EXISTS', KEYS[3]) == 1 then return -1 end
local guest = redis.call('HGETALL', KEYS[1])
if #guest == 0 then return 0 end
local limits = {}
for i = 3, #ARGV - 1, 2 do limits[ARGV[i]] = tonumber(ARGV[i + 1]) end
local default = tonumber(ARGV[1])
local maxLines = tonumber(ARGV[2])
local ttl = ARGV[#ARGV]
local lines = {}
for i = 1, #guest, 2 do
  local f = guest[i]
  if string.sub(f, 1, 2) == 'q:' then
    local sku = string.sub(f, 3)
    local seq = 0
    for j = 1, #guest, 2 do if guest[j] == 'o:' .. sku then seq = tonumber(guest[j + 1]) or 0 end end
    table.insert(lines, {sku = sku, q = tonumber(guest[i + 1]) or 0, seq = seq})
  end
end
table.sort(lines, function(a, b) return a.seq < b.seq end)
for _, l in ipairs(lines) do
  if l.q > 0 then
    local limit = limits[l.sku] or default
    local have = tonumber(redis.call('HGET', KEYS[2], 'q:' .. l.sku) or '0')
    local n = math.min(have + l.q, limit)
    if have == 0 then
      if n > 0 and math.floor(redis.call('HLEN', KEYS[2]) / 2) < maxLines then
        local seq = redis.call('HINCRBY', KEYS[2], 'seq', 1)
        redis.call('HSET', KEYS[2], 'o:' .. l.sku, seq, 'q:' .. l.sku, n)
      end
    elseif n > have then
      redis.call('HSET', KEYS[2], 'q:' .. l.sku, n)
    end
  end
end
redis.call('DEL', KEYS[1])
if redis.call('EXISTS', KEYS[2]) == 1 then redis.call('PEXPIRE', KEYS[2], ttl) end
return #lines
`)

// Merge moves guest cart from into cart into, atomically and once: quantities add up, each line
// capped at limits[sku] (checkout.MaxQuantity for a sku not named), new lines only up to
// checkout.MaxLines; the guest cart is deleted. It reports whether there was a guest cart to merge;
// checkout.ErrOrderInProgress, and nothing merged, while an order request holds the guest cart (a
// guest order placed as its shopper signs in: the lines it orders must not be ordered again).
func (s *Carts) Merge(ctx context.Context, from, into string, limits map[string]int) (bool, error) {
	if from == "" || from == into {
		return false, nil
	}
	args := make([]any, 0, 3+2*len(limits))
	args = append(args, checkout.MaxQuantity, checkout.MaxLines)
	for sku, l := range limits {
		args = append(args, sku, l)
	}
	args = append(args, checkout.CartTTL.Milliseconds())
	n, err := mergeScript.Run(ctx, s.rdb, []string{s.key(from), s.key(into), s.placingKey(from)}, args...).Int()
	if err != nil {
		return false, fmt.Errorf("merge cart: %w", err)
	}
	if n < 0 {
		return false, checkout.ErrOrderInProgress
	}
	return n > 0, nil
}

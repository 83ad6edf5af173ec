// Package inventory is the language of the inventory context of the Inlay storefront: stock per sku
// and reservations per order. It takes part in the order saga (docs/architecture.md): when payments has
// authorized an order, inventory reserves every line of it at once or rejects the whole order (and
// payments then refunds it); when checkout cancels an order it had reserved, the stock comes back.
// Stock never goes below zero, however many orders arrive at once.
//
// Adapters live in sub-packages: postgres (the stock store and its outbox), events (what inventory
// publishes and the handlers of what it consumes), api (the /v1 JSON API), seed (the stock inventory
// starts from) and cmd/inventoryd (the process).
package inventory

import (
	"slices"
	"strings"

	"github.com/inlay-dev/inlay/services/kit/errs"
)

// Stock is the number of units on hand of one sku. Version increases with every change, so readers
// of stock.changed can ignore a stale one.
type Stock struct {
	SKU      string
	Quantity int
	Version  int64
}

// Line is a quantity of one sku in an order.
type Line struct {
	SKU      string
	Quantity int
}

// Reservation statuses. An order is decided once: reserved or rejected. A reserved order that is
// cancelled is released (its stock returns); an order cancelled before inventory heard of its
// payment is remembered as cancelled, and its payment, should it come, is rejected.
const (
	StatusReserved  = "reserved"
	StatusRejected  = "rejected"
	StatusReleased  = "released"
	StatusCancelled = "cancelled"
)

// Rejection reasons.
const (
	ReasonOutOfStock     = "out of stock"
	ReasonOrderCancelled = "order cancelled"
)

// MaxQuantity bounds stock and line quantities.
const MaxQuantity = 1_000_000

// Normalize validates lines and merges lines of the same sku, sorted by sku (the order rows are
// locked in). EINVALID for no lines, an empty sku or a quantity outside 1..MaxQuantity.
func Normalize(lines []Line) ([]Line, error) {
	if len(lines) == 0 {
		return nil, errs.Errorf(errs.EINVALID, "an order needs at least one line")
	}
	sum := make(map[string]int, len(lines))
	for _, l := range lines {
		sku := strings.TrimSpace(l.SKU)
		if sku == "" {
			return nil, errs.Errorf(errs.EINVALID, "a line has no sku")
		}
		if l.Quantity <= 0 || l.Quantity > MaxQuantity || sum[sku]+l.Quantity > MaxQuantity {
			return nil, errs.Errorf(errs.EINVALID, "line %s: quantity %d is not in 1..%d", sku, l.Quantity, MaxQuantity)
		}
		sum[sku] += l.Quantity
	}
	out := make([]Line, 0, len(sum))
	for sku, q := range sum {
		out = append(out, Line{SKU: sku, Quantity: q})
	}
	slices.SortFunc(out, func(a, b Line) int { return strings.Compare(a.SKU, b.SKU) })
	return out, nil
}

// Reserve takes lines (normalised) out of onHand, all or nothing. It returns the quantities after
// the reservation per sku of lines, or — when any line asks for more than is on hand (a sku missing
// from onHand has none) — nil and the skus that are short, sorted.
func Reserve(onHand map[string]int, lines []Line) (after map[string]int, short []string) {
	after = make(map[string]int, len(lines))
	for _, l := range lines {
		if have := onHand[l.SKU]; have < l.Quantity {
			short = append(short, l.SKU)
		} else {
			after[l.SKU] = have - l.Quantity
		}
	}
	if len(short) > 0 {
		slices.Sort(short)
		return nil, short
	}
	return after, nil
}

// ValidateQuantity checks a stock level set by hand.
func ValidateQuantity(q int) error {
	if q < 0 || q > MaxQuantity {
		return errs.Errorf(errs.EINVALID, "quantity %d is not in 0..%d", q, MaxQuantity)
	}
	return nil
}

// ErrSKUNotFound is returned for a sku inventory has no stock row of.
func ErrSKUNotFound(sku string) error {
	return errs.Errorf(errs.ENOTFOUND, "no stock of sku %q", sku)
}

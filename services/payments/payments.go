// Package payments is the language of the payments context of the Inlay storefront: payments and
// refunds against a simulated card provider that knows a handful of test cards (docs/storefront.md,
// "Beyond the reference"). It takes part in the order saga (docs/architecture.md): it authorizes an order's
// total when checkout places the order, and refunds it when inventory cannot reserve the order's
// lines. One order is never charged twice.
//
// Adapters live in sub-packages: postgres (the payment store and its outbox), events (what payments
// publishes and the handlers of what it consumes), api (the /v1 JSON API) and cmd/paymentsd (the
// process).
package payments

import (
	"strings"
	"time"
)

// Status is where a payment stands.
type Status string

// Payment statuses. A payment is decided once (authorized or declined); only an authorized payment
// can be refunded, and only once.
const (
	StatusAuthorized Status = "authorized"
	StatusDeclined   Status = "declined"
	StatusRefunded   Status = "refunded"
)

// Decline reasons, as the customer sees them on the order.
const (
	ReasonCardDeclined      = "card declined"
	ReasonInsufficientFunds = "insufficient funds"
	ReasonUnknownCard       = "unknown test card"
	ReasonInvalidCard       = "invalid card number"
)

// Test cards of the simulated provider (docs/storefront.md).
const (
	CardSuccess           = "4242424242424242"
	CardDeclined          = "4000000000000002"
	CardInsufficientFunds = "4000000000009995"
)

// Payment is the one payment of an order.
type Payment struct {
	ID        string // UUIDv7
	OrderID   string
	Status    Status
	Amount    int64  // Ø
	Reason    string // why it was declined or refunded; empty when authorized
	CardLast4 string // the last four digits; the full number is never stored
	CreatedAt time.Time
	UpdatedAt time.Time
}

// Decision is the provider's answer to an authorization.
type Decision struct {
	Approved bool
	Reason   string // set when not approved
}

// Authorize decides a card payment of amount by the test-card rules: 4242 4242 4242 4242 succeeds,
// 4000 0000 0000 0002 is declined ("card declined"), 4000 0000 0000 9995 fails with "insufficient
// funds", any other well-formed number is declined as "unknown test card", and a malformed one
// (wrong length, not digits, bad Luhn check digit) as "invalid card number". Spaces and hyphens
// between digits are ignored. A negative amount is never approved.
func Authorize(card string, amount int64) Decision {
	number, ok := NormalizeCard(card)
	if !ok {
		return Decision{Reason: ReasonInvalidCard}
	}
	if amount < 0 {
		return Decision{Reason: ReasonCardDeclined}
	}
	switch number {
	case CardSuccess:
		return Decision{Approved: true}
	case CardDeclined:
		return Decision{Reason: ReasonCardDeclined}
	case CardInsufficientFunds:
		return Decision{Reason: ReasonInsufficientFunds}
	default:
		return Decision{Reason: ReasonUnknownCard}
	}
}

// NormalizeCard strips spaces and hyphens from a card number and reports whether what is left is a
// well-formed card number: 12 to 19 digits with a valid Luhn check digit.
func NormalizeCard(card string) (string, bool) {
	var b strings.Builder
	b.Grow(len(card))
	for _, r := range card {
		switch {
		case r >= '0' && r <= '9':
			b.WriteRune(r)
		case r == ' ' || r == '-':
		default:
			return "", false
		}
	}
	n := b.String()
	if len(n) < 12 || len(n) > 19 || !Luhn(n) {
		return "", false
	}
	return n, true
}

// Luhn reports whether digits (ASCII digits only) passes the Luhn check.
func Luhn(digits string) bool {
	if digits == "" {
		return false
	}
	sum := 0
	double := false
	for i := len(digits) - 1; i >= 0; i-- {
		c := digits[i]
		if c < '0' || c > '9' {
			return false
		}
		d := int(c - '0')
		if double {
			d *= 2
			if d > 9 {
				d -= 9
			}
		}
		sum += d
		double = !double
	}
	return sum%10 == 0
}

// Last4 is the last four digits of a card number (normalised when it can be), for display.
func Last4(card string) string {
	n, ok := NormalizeCard(card)
	if !ok {
		n = strings.Map(func(r rune) rune {
			if r >= '0' && r <= '9' {
				return r
			}
			return -1
		}, card)
	}
	if len(n) <= 4 {
		return n
	}
	return n[len(n)-4:]
}

// Line is one line of an order as payments hears of it; payments passes lines on with the
// authorization so that inventory can reserve them.
type Line struct {
	SKU       string
	Name      string
	Quantity  int
	UnitPrice int64 // Ø
}

// Order is what payments needs of a placed order to authorize it.
type Order struct {
	ID    string
	Lines []Line
	Total int64 // Ø, the amount to authorize
	Card  string
}

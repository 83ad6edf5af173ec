package payments_test

import (
	"testing"

	"github.com/inlay-dev/inlay/services/payments"
)

func TestAuthorize(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name   string
		card   string
		amount int64
		want   payments.Decision
	}{
		{"success", "4242424242424242", 1000, payments.Decision{Approved: true}},
		{"success with spaces", "4242 4242 4242 4242", 1000, payments.Decision{Approved: true}},
		{"success with hyphens", "4242-4242-4242-4242", 1, payments.Decision{Approved: true}},
		{"zero amount", "4242424242424242", 0, payments.Decision{Approved: true}},
		{"negative amount", "4242424242424242", -1, payments.Decision{Reason: "card declined"}},
		{"declined", "4000 0000 0000 0002", 1000, payments.Decision{Reason: "card declined"}},
		{"insufficient funds", "4000 0000 0000 9995", 1000, payments.Decision{Reason: "insufficient funds"}},
		{"other valid number", "5555 5555 5555 4444", 1000, payments.Decision{Reason: "unknown test card"}},
		{"other valid visa", "4111111111111111", 1000, payments.Decision{Reason: "unknown test card"}},
		{"bad check digit", "4242 4242 4242 4241", 1000, payments.Decision{Reason: "invalid card number"}},
		{"letters", "4242 4242 4242 424a", 1000, payments.Decision{Reason: "invalid card number"}},
		{"too short", "42424242424", 1000, payments.Decision{Reason: "invalid card number"}},
		{"too long", "42424242424242424242", 1000, payments.Decision{Reason: "invalid card number"}},
		{"empty", "", 1000, payments.Decision{Reason: "invalid card number"}},
		{"other separators", "4242.4242.4242.4242", 1000, payments.Decision{Reason: "invalid card number"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := payments.Authorize(tc.card, tc.amount); got != tc.want {
				t.Errorf("Authorize(%q, %d) = %+v, want %+v", tc.card, tc.amount, got, tc.want)
			}
		})
	}
}

func TestLuhn(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		digits string
		want   bool
	}{
		{"4242424242424242", true},
		{"4000000000000002", true},
		{"4000000000009995", true},
		{"79927398713", true},
		{"79927398710", false},
		{"0", true},
		{"", false},
		{"12a4", false},
	} {
		if got := payments.Luhn(tc.digits); got != tc.want {
			t.Errorf("Luhn(%q) = %v, want %v", tc.digits, got, tc.want)
		}
	}
}

func TestLast4(t *testing.T) {
	t.Parallel()
	for card, want := range map[string]string{
		"4242 4242 4242 4242": "4242",
		"4000-0000-0000-9995": "9995",
		"12":                  "12",
		"":                    "",
		"x1234 5678x":         "5678",
	} {
		if got := payments.Last4(card); got != want {
			t.Errorf("Last4(%q) = %q, want %q", card, got, want)
		}
	}
}

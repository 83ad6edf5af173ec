package checkout_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/inlay-dev/inlay/services/checkout"
	"github.com/inlay-dev/inlay/services/kit/errs"
)

func TestTransition(t *testing.T) {
	tests := []struct {
		from, to checkout.Status
		changed  bool
		illegal  bool
	}{
		{checkout.Pending, checkout.Confirmed, true, false},
		{checkout.Pending, checkout.Cancelled, true, false},
		{checkout.Confirmed, checkout.Confirmed, false, false}, // redelivered stock.reserved
		{checkout.Cancelled, checkout.Cancelled, false, false}, // redelivered decline or refund
		{checkout.Confirmed, checkout.Cancelled, false, true},
		{checkout.Cancelled, checkout.Confirmed, false, true},
		{checkout.Confirmed, checkout.Pending, false, true},
		{checkout.Cancelled, checkout.Pending, false, true},
		{checkout.Pending, checkout.Pending, false, true},
		{checkout.Pending, "shipped", false, true},
	}
	for _, tt := range tests {
		t.Run(string(tt.from)+"→"+string(tt.to), func(t *testing.T) {
			changed, err := checkout.Transition(tt.from, tt.to)
			if changed != tt.changed {
				t.Errorf("changed = %v, want %v", changed, tt.changed)
			}
			if got := errors.Is(err, checkout.ErrIllegalTransition); got != tt.illegal {
				t.Errorf("err = %v, want illegal %v", err, tt.illegal)
			}
		})
	}
}

func TestStatusFinal(t *testing.T) {
	for s, want := range map[checkout.Status]bool{checkout.Pending: false, checkout.Confirmed: true, checkout.Cancelled: true} {
		if s.Final() != want {
			t.Errorf("%s.Final() = %v", s, !want)
		}
	}
}

func TestLuhn(t *testing.T) {
	tests := []struct {
		card string
		ok   bool
	}{
		{"4242424242424242", true},
		{"4000000000000002", true},
		{"4000000000009995", true},
		{"4242424242424241", false},
		{"1234567812345678", false},
		{"424242424242", true},          // 12 digits, the shortest accepted
		{"79927398713", false},          // valid Luhn but too short
		{"42424242424242424242", false}, // too long
		{"4242a24242424242", false},
		{"", false},
	}
	for _, tt := range tests {
		if got := checkout.Luhn(tt.card); got != tt.ok {
			t.Errorf("Luhn(%q) = %v, want %v", tt.card, got, tt.ok)
		}
	}
}

func validForm() checkout.CheckoutForm {
	return checkout.CheckoutForm{FirstName: "Ada", LastName: "Lovelace", Email: "ada@example.com",
		Card: "4242 4242 4242 4242", StoreID: "store-a", IdempotencyKey: "0b9c8f3e-0d3c-4f4e-9d8a-6d1c2b3a4f5e"}
}

func TestValidate(t *testing.T) {
	tests := []struct {
		name   string
		change func(*checkout.CheckoutForm)
		fields []string
	}{
		{"valid", func(*checkout.CheckoutForm) {}, nil},
		{"card with dashes", func(f *checkout.CheckoutForm) { f.Card = "4242-4242-4242-4242" }, nil},
		{"names missing", func(f *checkout.CheckoutForm) { f.FirstName, f.LastName = " ", "" },
			[]string{checkout.FieldFirstName, checkout.FieldLastName}},
		{"name too long", func(f *checkout.CheckoutForm) { f.FirstName = strings.Repeat("a", 101) }, []string{checkout.FieldFirstName}},
		{"name with control", func(f *checkout.CheckoutForm) { f.LastName = "Love\x00lace" }, []string{checkout.FieldLastName}},
		// Nothing readable, or a name that would read backwards on the order page.
		{"zero-width name", func(f *checkout.CheckoutForm) { f.LastName = "\u200b" }, []string{checkout.FieldLastName}},
		{"Hangul filler name", func(f *checkout.CheckoutForm) { f.LastName = "\u3164" }, []string{checkout.FieldLastName}},
		{"blank Braille name", func(f *checkout.CheckoutForm) { f.LastName = "\u2800\ufe0f" }, []string{checkout.FieldLastName}},
		{"name over two lines", func(f *checkout.CheckoutForm) { f.LastName = "Love\u2028lace" }, []string{checkout.FieldLastName}},
		{"right-to-left override", func(f *checkout.CheckoutForm) { f.FirstName = "Ada\u202etxt.exe" }, []string{checkout.FieldFirstName}},
		// A zero-width non-joiner is how some names are written (Persian): allowed.
		{"name with ZWNJ", func(f *checkout.CheckoutForm) { f.FirstName = "\u0645\u06cc\u200c\u0631\u0632\u0627" }, nil},
		{"bad e-mail", func(f *checkout.CheckoutForm) { f.Email = "ada at example" }, []string{checkout.FieldEmail}},
		{"e-mail without a dotted domain", func(f *checkout.CheckoutForm) { f.Email = "a@b" }, []string{checkout.FieldEmail}},
		{"e-mail with name", func(f *checkout.CheckoutForm) { f.Email = "Ada <ada@example.com>" }, []string{checkout.FieldEmail}},
		{"card fails Luhn", func(f *checkout.CheckoutForm) { f.Card = "4242 4242 4242 4241" }, []string{checkout.FieldCard}},
		{"card missing", func(f *checkout.CheckoutForm) { f.Card = "" }, []string{checkout.FieldCard}},
		// A real number (valid Luhn) never enters the shop: only the provider's test cards do.
		{"real card", func(f *checkout.CheckoutForm) { f.Card = "4111 1111 1111 1111" }, []string{checkout.FieldCard}},
		{"all zeros", func(f *checkout.CheckoutForm) { f.Card = "0000 0000 0000 0000" }, []string{checkout.FieldCard}},
		{"declined test card", func(f *checkout.CheckoutForm) { f.Card = "4000 0000 0000 0002" }, nil},
		{"insufficient funds test card", func(f *checkout.CheckoutForm) { f.Card = "4000-0000-0000-9995" }, nil},
		{"no store", func(f *checkout.CheckoutForm) { f.StoreID = "" }, []string{checkout.FieldStore}},
		{"bad store", func(f *checkout.CheckoutForm) { f.StoreID = "<script>" }, []string{checkout.FieldStore}},
		{"no key", func(f *checkout.CheckoutForm) { f.IdempotencyKey = "" }, []string{checkout.FieldIdempotencyKey}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := validForm()
			tt.change(&f)
			errs := f.Normalize().Validate()
			if len(errs) != len(tt.fields) {
				t.Fatalf("errors = %v, want fields %v", errs, tt.fields)
			}
			for _, field := range tt.fields {
				if errs[field] == "" {
					t.Errorf("no error for %s in %v", field, errs)
				}
			}
		})
	}
}

func TestNormalize(t *testing.T) {
	f := checkout.CheckoutForm{FirstName: "  Ada ", Card: "4242 4242-4242 4242", StoreID: " store-a "}.Normalize()
	if f.FirstName != "Ada" || f.Card != "4242424242424242" || f.StoreID != "store-a" {
		t.Errorf("Normalize = %+v", f)
	}
	if got := checkout.LastFour(f.Card); got != "4242" {
		t.Errorf("LastFour = %q", got)
	}
}

func TestAddLimit(t *testing.T) {
	tests := []struct {
		stock, want int
		err         bool
	}{
		{0, 0, true},
		{3, 3, false},
		{checkout.MaxQuantity, checkout.MaxQuantity, false},
		{500, checkout.MaxQuantity, false},
	}
	for _, tt := range tests {
		got, err := checkout.AddLimit(checkout.Item{Variant: checkout.Variant{SKU: "CL-01-GY", ProductName: "Heritage"}, Stock: tt.stock})
		if got != tt.want || (err != nil) != tt.err {
			t.Errorf("AddLimit(stock %d) = %d, %v", tt.stock, got, err)
		}
		if err != nil && (!errors.Is(err, checkout.ErrOutOfStock) || errs.Code(err) != errs.ECONFLICT) {
			t.Errorf("AddLimit error = %v (code %s)", err, errs.Code(err))
		}
	}
}

func TestCart(t *testing.T) {
	line := func(sku string, price int64, q int) checkout.Line {
		return checkout.Line{Item: checkout.Item{Variant: checkout.Variant{SKU: sku, ProductID: "CL-01", ProductName: "Heritage",
			Name: "Grey", Price: price}}, Quantity: q}
	}
	c := checkout.Cart{Lines: []checkout.Line{line("CL-01-GY", 1000, 2), line("CL-01-RD", 1500, 1)}}
	if c.Quantity() != 3 || c.Total() != 3500 || c.Empty() {
		t.Errorf("quantity %d total %d empty %v", c.Quantity(), c.Total(), c.Empty())
	}
	if got := strings.Join(c.SKUs(), ","); got != "CL-01-GY,CL-01-RD" {
		t.Errorf("SKUs = %s", got)
	}
	if got := c.Lines[0].URL(); got != "/product/CL-01?sku=CL-01-GY" {
		t.Errorf("URL = %s", got)
	}
	if got := c.Lines[0].Title(); got != "Heritage Grey" {
		t.Errorf("Title = %s", got)
	}
	if !(checkout.Cart{}).Empty() {
		t.Error("zero cart not empty")
	}
}

func TestValidSKU(t *testing.T) {
	for s, want := range map[string]bool{"CL-01-GY": true, "au_07": true, "": false, "a b": false,
		"<x>": false, strings.Repeat("a", 65): false} {
		if checkout.ValidSKU(s) != want {
			t.Errorf("ValidSKU(%q) = %v", s, !want)
		}
	}
}

// TestCartVersionCountsUnknownLines: a cart's version is that of its stored lines, a line of a
// variant checkout no longer knows (which Lines leaves out) included, so the checkout page and
// placing the order, which reads the stored lines, agree on it.
func TestCartVersionCountsUnknownLines(t *testing.T) {
	t.Parallel()
	lines := []checkout.CartLine{{SKU: "CL-01-GY", Quantity: 1}, {SKU: "GONE-01", Quantity: 2}}
	c := checkout.NewCart("c1", lines, map[string]checkout.Item{"CL-01-GY": {Variant: checkout.Variant{SKU: "CL-01-GY"}}})
	if len(c.Lines) != 1 || c.Version() != checkout.BasketVersion(lines) {
		t.Errorf("lines %d, version %q, want %q", len(c.Lines), c.Version(), checkout.BasketVersion(lines))
	}
	if checkout.BasketVersion(lines) == checkout.BasketVersion(lines[:1]) ||
		checkout.BasketVersion(lines) != checkout.BasketVersion([]checkout.CartLine{lines[1], lines[0]}) {
		t.Error("the version does not follow the content, or follows the lines' order")
	}
}

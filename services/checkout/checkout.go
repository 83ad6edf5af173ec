// Package checkout is the language of the checkout context: carts (kept in Redis, identified by the
// HttpOnly cookie inlay_cart), orders with snapshots of their lines, customer and store (PostgreSQL),
// checkout's own copy of decide's variants and of inventory's stock (filled only by their events),
// and the order's part of the saga (docs/architecture.md): an order is placed pending, then confirmed when
// inventory reserved its stock, or cancelled with a reason when payments declined or refunded it.
//
// Adapters live in sub-packages: redis (the cart store), postgres (variants, stock and orders with
// the outbox), events (the handlers of decide's, inventory's and payments' events), ui (fragments
// and the /ui endpoints), static (content-hashed assets) and cmd/checkoutd (the process).
package checkout

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"net/mail"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/inlay-dev/inlay/services/kit/errs"
)

// Cart limits: a line holds at most MaxQuantity units, a cart at most MaxLines lines. A cart lives
// CartTTL after its last change (the cookie lasts as long).
const (
	MaxQuantity = 10
	MaxLines    = 20
	CartTTL     = 30 * 24 * time.Hour
)

// CartCookie is the cookie that names the cart. checkout sets it (through the shell's proxy, which
// passes Set-Cookie for this name from checkout only); the shell puts its value into Inlay-Context.
const CartCookie = "inlay_cart"

// Variant is checkout's copy of one of decide's variants: what a cart line and an order snapshot show.
type Variant struct {
	SKU         string
	ProductID   string
	ProductName string // "SmartFarm Titan"
	Name        string // the variant's name, "Sunset Copper"
	Color       string // "#dd5219"
	Image       string // URL, empty when decide sent none
	Price       int64  // Ø
}

// Title is how the storefront names a variant: "SmartFarm Titan Sunset Copper".
func (v Variant) Title() string {
	if v.Name == "" {
		return v.ProductName
	}
	return v.ProductName + " " + v.Name
}

// URL is the storefront URL of the variant on its product page.
func (v Variant) URL() string {
	return "/product/" + url.PathEscape(v.ProductID) + "?sku=" + url.QueryEscape(v.SKU)
}

// ProductChange is a product's state as decide published it: its name and, when Variants is not
// nil, its complete variant list (variants missing from it are removed).
type ProductChange struct {
	ID       string
	Name     string
	Variants []Variant
}

// Item is a variant with its stock as checkout knows it.
type Item struct {
	Variant
	// Stock is inventory's last published quantity; 0 when inventory has not published one.
	Stock int
}

// InStock reports whether at least one unit is available.
func (i Item) InStock() bool { return i.Stock > 0 }

// CartLine is one line of a cart as stored: a sku and its quantity.
type CartLine struct {
	SKU      string
	Quantity int
}

// Line is a cart line with its variant, for display and for placing an order.
type Line struct {
	Item
	Quantity int
}

// Total is the line's price: quantity × unit price.
func (l Line) Total() int64 { return int64(l.Quantity) * l.Price }

// Cart is a cart with its variants.
type Cart struct {
	ID    string
	Lines []Line
	// version is BasketVersion of the lines the cart was made from (NewCart), those of variants
	// checkout no longer knows included: what placing the order compares with. Empty for no cart.
	version string
}

// Quantity is the number of units in the cart.
func (c Cart) Quantity() int {
	n := 0
	for _, l := range c.Lines {
		n += l.Quantity
	}
	return n
}

// Total is the sum of the line totals.
func (c Cart) Total() int64 {
	var t int64
	for _, l := range c.Lines {
		t += l.Total()
	}
	return t
}

// Empty reports whether the cart has no lines.
func (c Cart) Empty() bool { return len(c.Lines) == 0 }

// Version names the cart's content: the skus and quantities it was made from (BasketVersion), also
// those of a line Lines leaves out (a variant checkout no longer knows), so that it is what placing
// the order compares with.
func (c Cart) Version() string { return c.version }

// BasketVersion names a cart's content, whatever the lines' order: the checkout page sends the
// version of the cart it showed (FieldBasket), and an order is placed only for that content, so a
// line added or removed in another tab meanwhile is not bought unseen.
func BasketVersion(lines []CartLine) string {
	sorted := slices.Clone(lines)
	slices.SortFunc(sorted, func(a, b CartLine) int { return strings.Compare(a.SKU, b.SKU) })
	h := sha256.New()
	for _, l := range sorted {
		h.Write([]byte(l.SKU + "\x00" + strconv.Itoa(l.Quantity) + "\n"))
	}
	return hex.EncodeToString(h.Sum(nil)[:16])
}

// ErrBasketChanged refuses an order whose cart is not what the checkout page showed.
var ErrBasketChanged = errors.New("the basket changed since the checkout page showed it")

// BasketChangedMessage tells the customer why an order was not placed (ErrBasketChanged).
const BasketChangedMessage = "Your basket changed since this page was shown (in another tab, perhaps). Please check the summary and place your order again."

// ErrPriceChanged refuses an order whose lines cost, at the current prices, another total than the
// one the customer was shown (Placement.ShownTotal): a price changed meanwhile.
var ErrPriceChanged = errors.New("the basket's total changed since it was shown")

// PriceChangedMessage tells the customer why an order was not placed (ErrPriceChanged).
const PriceChangedMessage = "Prices changed since this page was shown. Please check the new total and place your order again."

// ErrOrderInProgress refuses an order of a cart whose order another request (another tab, another
// idempotency key) is placing at this moment: one basket makes one order.
var ErrOrderInProgress = errors.New("an order of this basket is being placed")

// OrderInProgressMessage tells the customer why an order was not placed (ErrOrderInProgress).
const OrderInProgressMessage = "An order of this basket is already being placed (in another tab or window, perhaps). Please wait a moment and look at your basket again."

// SKUs lists the cart's skus in line order.
func (c Cart) SKUs() []string {
	s := make([]string, len(c.Lines))
	for i, l := range c.Lines {
		s[i] = l.SKU
	}
	return s
}

// Errors a cart change may return; each maps to a clear message and status.
var (
	ErrUnknownSKU  = errors.New("unknown sku")
	ErrOutOfStock  = errors.New("out of stock")
	ErrLineLimit   = fmt.Errorf("at most %d of one tractor per order", MaxQuantity)
	ErrCartFull    = fmt.Errorf("at most %d different tractors per order", MaxLines)
	ErrNotInCart   = errors.New("not in the basket")
	ErrInvalidSKU  = errors.New("invalid sku")
	ErrCartMissing = errors.New("no basket")
)

// AddLimit is how many units of a line a cart may hold for an item: the smaller of MaxQuantity and
// the stock. It checks the item can be added at all.
func AddLimit(it Item) (int, error) {
	if !it.InStock() {
		return 0, errs.Wrap(errs.ECONFLICT, ErrOutOfStock, it.Title()+" is out of stock")
	}
	return min(MaxQuantity, it.Stock), nil
}

// ValidSKU reports whether s looks like a sku (letters, digits and dashes, at most 64 bytes).
func ValidSKU(s string) bool {
	if s == "" || len(s) > 64 {
		return false
	}
	for i := 0; i < len(s); i++ {
		ch := s[i]
		if !(ch >= 'a' && ch <= 'z' || ch >= 'A' && ch <= 'Z' || ch >= '0' && ch <= '9' || ch == '-' || ch == '_') {
			return false
		}
	}
	return true
}

// Status is an order's state in the saga.
type Status string

// Order states: pending until the saga ends in confirmed or cancelled.
const (
	Pending   Status = "pending"
	Confirmed Status = "confirmed"
	Cancelled Status = "cancelled"
)

// Final reports whether s is an end state.
func (s Status) Final() bool { return s == Confirmed || s == Cancelled }

// ErrIllegalTransition is returned (wrapped) for a state change the saga does not allow.
var ErrIllegalTransition = errors.New("illegal order transition")

// Transition checks an order may go from one state to another. It returns changed=false with no
// error when the order already is in the target state (a redelivered event), and
// ErrIllegalTransition for anything but pending → confirmed or pending → cancelled.
func Transition(from, to Status) (changed bool, err error) {
	if from == to && (to == Confirmed || to == Cancelled) {
		return false, nil
	}
	if from == Pending && (to == Confirmed || to == Cancelled) {
		return true, nil
	}
	return false, fmt.Errorf("%w: %s → %s", ErrIllegalTransition, from, to)
}

// Customer is who placed an order, as the checkout form gave it.
type Customer struct {
	ID        string // the account's id, empty for a guest
	FirstName string
	LastName  string
	Email     string
}

// OrderLine is an order's snapshot of a cart line.
type OrderLine struct {
	SKU         string
	ProductID   string
	ProductName string
	Name        string
	Image       string
	Quantity    int
	UnitPrice   int64
}

// Total is quantity × unit price.
func (l OrderLine) Total() int64 { return int64(l.Quantity) * l.UnitPrice }

// Order is a placed order.
type Order struct {
	ID       string
	CartID   string
	Status   Status
	Reason   string // why it was cancelled
	Customer Customer
	StoreID  string
	// StoreName is the pickup store's name, when checkout knows the store (read with the order).
	StoreName string
	CardLast  string // the card's last four digits
	Lines     []OrderLine
	Total     int64
	Created   time.Time
	Updated   time.Time
}

// CheckoutForm is what the checkout form posts.
type CheckoutForm struct {
	FirstName      string
	LastName       string
	Email          string
	Card           string
	StoreID        string
	IdempotencyKey string
}

// FieldErrors maps a form field to its error message.
type FieldErrors map[string]string

// Form field names, shared by the form and its validation.
const (
	FieldFirstName      = "first_name"
	FieldLastName       = "last_name"
	FieldEmail          = "email"
	FieldCard           = "card"
	FieldStore          = "store"
	FieldIdempotencyKey = "idempotency_key"
	// FieldBasket is the version of the cart the checkout page showed (Cart.Version).
	FieldBasket = "basket"
	// FieldTotal is the total the checkout page showed, in whole Ø (Placement.ShownTotal).
	FieldTotal = "total"
	// FieldStoreChoice is sent by the Store Picker's "select" buttons, submit buttons of the checkout
	// form (explore's storepicker.ChoiceField): without JavaScript, choosing a store posts the form
	// with the store id in it, and the checkout page comes back with the store chosen.
	FieldStoreChoice = "store_choice"
)

// maxField bounds every text field of the form.
const maxField = 100

// IsTestCard reports whether a normalized card number is one of the simulated card provider's test
// cards (docs/storefront.md: paid, declined, insufficient funds): the only numbers checkout takes, so
// a real card number never enters the shop (order.placed carries the number to payments).
func IsTestCard(card string) bool {
	switch card {
	case "4242424242424242", "4000000000000002", "4000000000009995":
		return true
	}
	return false
}

// Normalize trims the fields and removes spaces and dashes from the card number.
func (f CheckoutForm) Normalize() CheckoutForm {
	f.FirstName = strings.TrimSpace(f.FirstName)
	f.LastName = strings.TrimSpace(f.LastName)
	f.Email = strings.TrimSpace(f.Email)
	f.StoreID = strings.TrimSpace(f.StoreID)
	f.IdempotencyKey = strings.TrimSpace(f.IdempotencyKey)
	f.Card = strings.Map(func(r rune) rune {
		if r == ' ' || r == '-' {
			return -1
		}
		return r
	}, f.Card)
	return f
}

// Validate checks a normalized form: names required, a valid e-mail address, a card number that
// passes the Luhn check and is a test card (IsTestCard), a store id, and an idempotency key. It returns nil when all is well.
func (f CheckoutForm) Validate() FieldErrors {
	errs := FieldErrors{}
	text := func(field, value, label string) {
		switch {
		case value == "":
			errs[field] = label + " is required."
		case utf8.RuneCountInString(value) > maxField || !utf8.ValidString(value) || strings.ContainsFunc(value, isControl):
			errs[field] = label + " is not valid."
		case !strings.ContainsFunc(value, visible):
			// Only spaces or invisible characters (a zero-width space): nothing anyone could read.
			errs[field] = label + " is required."
		}
	}
	text(FieldFirstName, f.FirstName, "First name")
	text(FieldLastName, f.LastName, "Last name")
	if f.Email == "" {
		errs[FieldEmail] = "E-mail is required."
	} else if a, err := mail.ParseAddress(f.Email); err != nil || a.Address != f.Email || len(f.Email) > 254 ||
		strings.ContainsFunc(f.Email, isControl) || !strings.Contains(f.Email[strings.LastIndexByte(f.Email, '@')+1:], ".") {
		// A domain without a dot (a@b) reaches no one on the internet.
		errs[FieldEmail] = "E-mail is not a valid address."
	}
	if f.Card == "" {
		errs[FieldCard] = "Card number is required."
	} else if !Luhn(f.Card) {
		errs[FieldCard] = "Card number is not valid."
	} else if !IsTestCard(f.Card) {
		errs[FieldCard] = "This shop takes test cards only, such as 4242 4242 4242 4242."
	}
	if f.StoreID == "" {
		errs[FieldStore] = "Please choose a store."
	} else if !ValidSKU(f.StoreID) {
		errs[FieldStore] = "Store is not valid."
	}
	if f.IdempotencyKey == "" || len(f.IdempotencyKey) > 64 || !ValidSKU(f.IdempotencyKey) {
		errs[FieldIdempotencyKey] = "The form has expired, please submit it again."
	}
	if len(errs) == 0 {
		return nil
	}
	return errs
}

// isControl reports a control character, a bidirectional control (U+202E and its kin would make a
// name read backwards on the order page) or a byte order mark: none has a place in a name or an
// address. Other format characters stay allowed: a zero-width joiner or non-joiner is part of how
// many names are written (Persian, the Indic scripts).
func isControl(r rune) bool {
	return unicode.IsControl(r) || unicode.Is(unicode.Bidi_Control, r) || r == '\uFEFF' ||
		unicode.In(r, unicode.Zl, unicode.Zp) // line and paragraph separators: a name is one line
}

// visible reports a character that shows on its own: a letter, a digit, a punctuation or a symbol,
// but not the blank ones (Hangul fillers, the blank Braille pattern) that look like nothing.
func visible(r rune) bool {
	switch r {
	case '\u115F', '\u1160', '\u3164', '\uFFA0', '\u2800':
		return false
	}
	return unicode.IsLetter(r) || unicode.IsDigit(r) || unicode.IsPunct(r) || unicode.IsSymbol(r)
}

// Luhn reports whether s, 12 to 19 digits, passes the Luhn check.
func Luhn(s string) bool {
	if len(s) < 12 || len(s) > 19 {
		return false
	}
	sum := 0
	double := false
	for i := len(s) - 1; i >= 0; i-- {
		ch := s[i]
		if ch < '0' || ch > '9' {
			return false
		}
		d := int(ch - '0')
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

// LastFour returns the last four characters of a card number.
func LastFour(card string) string {
	if len(card) <= 4 {
		return card
	}
	return card[len(card)-4:]
}

// ErrOrderNotFound is returned (wrapped) for an order that does not exist or is not the caller's.
func ErrOrderNotFound(id string) error {
	return errs.Errorf(errs.ENOTFOUND, "order %q not found", id)
}

// NewCart is cart id with the variants of its lines, in line order; lines whose sku checkout no
// longer knows (not in items) are left out.
func NewCart(id string, lines []CartLine, items map[string]Item) Cart {
	c := Cart{ID: id, version: BasketVersion(lines)}
	for _, l := range lines {
		if it, ok := items[l.SKU]; ok {
			c.Lines = append(c.Lines, Line{Item: it, Quantity: l.Quantity})
		}
	}
	return c
}

// OwnedBy reports whether the order belongs to the visitor with cartID or customerID (either may be
// empty): nobody else may see it.
func (o Order) OwnedBy(cartID, customerID string) bool {
	return cartID != "" && cartID == o.CartID || customerID != "" && customerID == o.Customer.ID
}

// Units is the number of units in cart lines.
func Units(lines []CartLine) int {
	n := 0
	for _, l := range lines {
		n += l.Quantity
	}
	return n
}

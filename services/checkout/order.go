package checkout

import (
	"errors"
	"fmt"
	"slices"
	"strconv"

	"github.com/inlay-dev/inlay/services/kit/errs"
)

// Errors of placing and changing orders.
var (
	// ErrEmptyCart is returned (wrapped, EINVALID) for an order of a cart without lines.
	ErrEmptyCart = errors.New("the basket is empty")
	// ErrUnknownStore is returned (wrapped, EINVALID) for an order to be picked up at a store checkout
	// does not know (explore has not published it).
	ErrUnknownStore = errors.New("unknown store")
	// ErrUnknownOrder is returned (wrapped) by an order update for an order checkout does not have.
	ErrUnknownOrder = errors.New("unknown order")
	// ErrSnapshotChanged is returned (wrapped, EINVALID) by an order update whose function changed
	// more than the order's status and reason: lines, customer, store and total are a snapshot.
	ErrSnapshotChanged = errors.New("an order's snapshot cannot change")
	// ErrKeyReused is returned (wrapped, EUNPROCESSABLE) for an idempotency key the cart already
	// placed an order with from a different request.
	ErrKeyReused = errors.New("idempotency key reused with a different request")
)

// LineError says a cart line cannot be ordered (unknown sku, not enough stock).
type LineError struct {
	SKU    string
	Reason error
	Title  string
	// Left is what is in stock when that is less than the line holds (Reason ErrOutOfStock).
	Left int
}

func (e *LineError) Error() string {
	name := e.SKU
	if e.Title != "" {
		name = e.Title
	}
	if e.Left > 0 && errors.Is(e.Reason, ErrOutOfStock) {
		return name + ": only " + strconv.Itoa(e.Left) + " left, fewer than the basket holds"
	}
	return name + ": " + e.Reason.Error()
}

func (e *LineError) Unwrap() error { return e.Reason }

// PickupStore is checkout's copy of one of explore's stores, where an order is picked up.
type PickupStore struct {
	ID   string
	Name string
}

// Placement is what placing an order needs: the cart's lines and the validated form.
type Placement struct {
	CartID     string
	CustomerID string
	Lines      []CartLine
	Form       CheckoutForm // normalized and valid
	// RequestHash, when not empty, is a digest of the request that placed the order (the /v1
	// API's): the same idempotency key with another digest is refused (ErrKeyReused).
	RequestHash string
	// ShownTotal, when not nil, is the total the customer was shown (the checkout page's, an app's):
	// an order whose lines cost another amount at the current prices is refused (ErrPriceChanged),
	// so nobody pays what they did not see.
	ShownTotal *int64
}

// CheckLine checks a cart line can be ordered from item it, checkout's copy of the variant and its
// stock (ok=false when checkout does not know the sku): a *LineError wrapping ErrUnknownSKU or
// ErrOutOfStock otherwise.
func CheckLine(l CartLine, it Item, ok bool) error {
	if !ok {
		return &LineError{SKU: l.SKU, Reason: ErrUnknownSKU}
	}
	if it.Stock < l.Quantity {
		return &LineError{SKU: l.SKU, Title: it.Title(), Reason: ErrOutOfStock, Left: max(it.Stock, 0)}
	}
	return nil
}

// PriceLine is the order's snapshot of a cart line: the variant as checkout knows it now, at its
// current price. Later catalogue changes never rewrite it.
func PriceLine(l CartLine, it Item) OrderLine {
	return OrderLine{SKU: it.SKU, ProductID: it.ProductID, ProductName: it.ProductName, Name: it.Name,
		Image: it.Image, Quantity: l.Quantity, UnitPrice: it.Price}
}

// OrderTotal is the sum of the lines' totals.
func OrderTotal(lines []OrderLine) int64 {
	var t int64
	for _, l := range lines {
		t += l.Total()
	}
	return t
}

// CheckStore checks an order may be picked up at store id: stores are the stores checkout knows, by
// id. It returns an EINVALID error wrapping ErrUnknownStore otherwise.
func CheckStore(id string, stores map[string]PickupStore) error {
	if _, ok := stores[id]; !ok {
		return errs.Wrap(errs.EINVALID, ErrUnknownStore, "Please choose one of our stores.")
	}
	return nil
}

// NewOrder is the pending order id placed from p with items, checkout's copies of the cart's
// variants with their stock (by sku), and stores, the stores it knows (by id): the store checked
// (CheckStore), every line checked (CheckLine) and priced (PriceLine), and the snapshot of customer,
// store and card taken. It returns an EINVALID error wrapping ErrEmptyCart, ErrUnknownStore or
// ErrUnknownSKU, or an ECONFLICT one wrapping ErrOutOfStock or ErrPriceChanged (p.ShownTotal), with a
// message for the customer.
func NewOrder(id string, p Placement, items map[string]Item, stores map[string]PickupStore) (Order, error) {
	if len(p.Lines) == 0 {
		return Order{}, errs.Wrap(errs.EINVALID, ErrEmptyCart, "Your basket is empty.")
	}
	if err := CheckStore(p.Form.StoreID, stores); err != nil {
		return Order{}, err
	}
	lines := make([]OrderLine, 0, len(p.Lines))
	for _, l := range p.Lines {
		it, ok := items[l.SKU]
		if err := CheckLine(l, it, ok); err != nil {
			code := errs.ECONFLICT
			if !ok {
				code = errs.EINVALID
			}
			return Order{}, errs.Wrap(code, err, err.Error())
		}
		lines = append(lines, PriceLine(l, it))
	}
	if p.ShownTotal != nil && OrderTotal(lines) != *p.ShownTotal {
		return Order{}, errs.Wrap(errs.ECONFLICT, ErrPriceChanged, PriceChangedMessage)
	}
	f := p.Form
	return Order{
		ID:       id,
		CartID:   p.CartID,
		Status:   Pending,
		Customer: Customer{ID: p.CustomerID, FirstName: f.FirstName, LastName: f.LastName, Email: f.Email},
		StoreID:  f.StoreID,
		CardLast: LastFour(f.Card),
		Lines:    lines,
		Total:    OrderTotal(lines),
	}, nil
}

// Confirm moves a pending order to confirmed (inventory reserved its stock). A confirmed order is
// left alone; a cancelled one is ErrIllegalTransition.
func (o *Order) Confirm() error {
	changed, err := Transition(o.Status, Confirmed)
	if err != nil {
		return fmt.Errorf("order %s: %w", o.ID, err)
	}
	if changed {
		o.Status = Confirmed
	}
	return nil
}

// Cancel moves a pending order to cancelled with reason. A cancelled order is left alone with its
// first reason; a confirmed one is ErrIllegalTransition.
func (o *Order) Cancel(reason string) error {
	changed, err := Transition(o.Status, Cancelled)
	if err != nil {
		return fmt.Errorf("order %s: %w", o.ID, err)
	}
	if changed {
		o.Status, o.Reason = Cancelled, reason
	}
	return nil
}

// SameSnapshot reports whether o and p are the same order apart from status, reason and times: the
// part of an order that never changes once placed.
func (o Order) SameSnapshot(p Order) bool {
	return o.ID == p.ID && o.CartID == p.CartID && o.Customer == p.Customer && o.StoreID == p.StoreID &&
		o.CardLast == p.CardLast && o.Total == p.Total && slices.Equal(o.Lines, p.Lines)
}

// Package checkoutpage serves the Checkout fragment (the checkout page's content: the form with
// explore's Store Picker) and POST /ui/place-order. A refused form is kept with its errors for the
// redirect back to the page (never the card number).
package checkoutpage

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/gofiber/fiber/v2"
	"github.com/google/uuid"

	"github.com/inlay-dev/inlay/fragments"
	"github.com/inlay-dev/inlay/services/checkout"
	"github.com/inlay-dev/inlay/services/checkout/ui/cart"
	"github.com/inlay-dev/inlay/services/kit/errs"
)

// Name is the fragment's name in checkout's manifest.
const Name = "checkout"

// FormTaker returns, and forgets, the refused form kept for a cart (ok=false when there is none), and
// keeps one again (SaveForm).
type FormTaker interface {
	TakeForm(ctx context.Context, cartID string) (f checkout.CheckoutForm, errs checkout.FieldErrors, ok bool, err error)
	SaveForm(ctx context.Context, cartID string, f checkout.CheckoutForm, errs checkout.FieldErrors) error
}

// Basket is what placing an order does to the cart: claim it for the order, read its lines, keep a
// refused form for the redirect, and clear it once the order stands.
type Basket interface {
	checkout.CartClaimer
	Lines(ctx context.Context, cartID string) ([]checkout.CartLine, error)
	SaveForm(ctx context.Context, cartID string, f checkout.CheckoutForm, errs checkout.FieldErrors) error
}

// OrderPlacer places an order once per idempotency key (created=false when the key found an order
// placed before); EINVALID or ECONFLICT errors, with a message for the customer, when the order
// cannot be placed, one wrapping checkout.ErrEmptyCart for an empty cart.
type OrderPlacer interface {
	PlaceOrder(ctx context.Context, p checkout.Placement) (id string, created bool, err error)
	// KnownStore reports whether an order may be picked up at store id.
	KnownStore(ctx context.Context, id string) (bool, error)
	// OrdersOf and OrdersOfCart list a customer's and a guest cart's latest orders, newest first.
	OrdersOf(ctx context.Context, customerID string, limit int) ([]checkout.Order, error)
	OrdersOfCart(ctx context.Context, cartID string, limit int) ([]checkout.Order, error)
	// Order reads an order with its lines.
	Order(ctx context.Context, id string) (checkout.Order, error)
}

// recentOrder is how long after an order a post of the checkout form that finds the basket empty (a
// second tab's, a form posted again) is sent to that order's thank-you page rather than the cart.
const recentOrder = 2 * time.Minute

// claimWait is how long a post waits for another tab's order of the same basket to be placed before
// it says so; placing takes milliseconds, and the waiting post then finds the basket empty and is
// sent to that order's thank-you page.
const claimWait = 3 * time.Second

// orderTime is what a post that waited for another tab keeps of its deadline (placeOrderTimeout) for
// its own order; saveFormTimeout bounds keeping a refused form.
const (
	orderTime       = 2 * time.Second
	saveFormTimeout = time.Second
)

// latestOrder is the id of the visitor's order placed within recentOrder of the basket the form
// showed (version shown; any, for a form without one), or "": an order of another basket (a
// customer's from another device) is not this form's.
func latestOrder(ctx context.Context, orders OrderPlacer, fc fragments.Context, shown string) string {
	var list []checkout.Order
	var err error
	if fc.CustomerID != "" {
		list, err = orders.OrdersOf(ctx, fc.CustomerID, 1)
	} else {
		list, err = orders.OrdersOfCart(ctx, fc.CartID, 1)
	}
	if err != nil || len(list) == 0 || time.Since(list[0].Created) > recentOrder {
		return ""
	}
	if shown != "" {
		o, err := orders.Order(ctx, list[0].ID)
		if err != nil || checkout.BasketVersion(checkout.LinesOf(o)) != shown {
			return ""
		}
	}
	return list[0].ID
}

// CheckoutModel is what the checkout page's content shows.
type CheckoutModel struct {
	Cart Summary
	// Basket is the cart's version (checkout.Cart.Version): the order is placed only for it.
	Basket         string
	CSRF           string
	Form           checkout.CheckoutForm
	Errors         checkout.FieldErrors
	Error          string
	StorePickerSrc string
	// Address is the signed-in customer's address on one line, "" when there is none.
	Address string
}

// CustomerCopies reads checkout's own copy of an account, kept by accounts' events (ok=false when
// checkout has none yet): the checkout path never calls accounts.
type CustomerCopies interface {
	CustomerCopy(ctx context.Context, id string) (c checkout.CustomerCopy, ok bool, err error)
}

// Summary is what the checkout page shows of the cart: how many tractors, for how much.
type Summary struct {
	units int
	total int64
	short bool
}

// NewSummary is the checkout page's summary of c.
func NewSummary(c checkout.Cart) Summary {
	s := Summary{units: c.Quantity(), total: c.Total()}
	for _, l := range c.Lines {
		s.short = s.short || l.Stock < l.Quantity
	}
	return s
}

// Short reports whether a line holds more than is in stock: the order would be refused.
func (s Summary) Short() bool { return s.short }

// Empty reports whether the cart holds nothing.
func (s Summary) Empty() bool { return s.units == 0 }

// Quantity is the number of tractors in the cart.
func (s Summary) Quantity() int { return s.units }

// Total is the cart's total.
func (s Summary) Total() int64 { return s.total }

// describedBy is a field's aria-describedby: its hint's id, then its error's when it has one.
func describedBy(hint string, invalid bool, name string) string {
	ids := hint
	if invalid {
		ids = strings.TrimSpace(ids + " co-" + name + "-error")
	}
	return ids
}

// tractors is "1 tractor", "2 tractors".
func tractors(n int) string {
	if n == 1 {
		return "1 tractor"
	}
	return strconv.Itoa(n) + " tractors"
}

// generalError is the FieldErrors key of an error that belongs to no field.
const generalError = "_"

// Handler serves the checkout page's content: the cart's summary and the form, filled again with a
// refused form and its errors, for a signed-in customer prefilled from customers (name, e-mail; the
// address shown), the store preselected from ?store=. customers may be nil.
func Handler(carts cart.LineReader, items cart.ItemReader, forms FormTaker, customers CustomerCopies, opts ...fragments.RenderOption) fiber.Handler {
	return func(c *fiber.Ctx) error {
		ctx := c.UserContext()
		crt, err := cart.Load(ctx, carts, items)
		if err != nil {
			return fmt.Errorf("checkout: %w", err)
		}
		m := CheckoutModel{Cart: NewSummary(crt), Basket: crt.Version(), CSRF: fragments.ContextFrom(ctx).CSRF}
		if crt.ID != "" {
			f, errs, ok, err := forms.TakeForm(ctx, crt.ID)
			if err != nil {
				return fmt.Errorf("checkout: refused form: %w", err)
			}
			if ok {
				m.Form, m.Errors = f, errs
				m.Error = errs[generalError]
				delete(m.Errors, generalError)
				if m.Cart.Short() {
					// The way out is the basket (the page links to it): what was typed waits for the
					// shopper's return, without its errors. Best effort: a form lost here is retyped.
					_ = forms.SaveForm(ctx, crt.ID, f, nil)
				}
			}
		}
		if fc := fragments.ContextFrom(ctx); customers != nil && !fc.Guest() {
			cu, ok, err := customers.CustomerCopy(ctx, fc.CustomerID)
			if err != nil {
				return fmt.Errorf("checkout: customer: %w", err)
			}
			if ok {
				m.Form = cu.Prefill(m.Form)
				m.Address = cu.Address.String()
			}
		}
		if m.Form.IdempotencyKey == "" {
			m.Form.IdempotencyKey = uuid.NewString()
		}
		if s := c.Query("store"); m.Form.StoreID == "" && checkout.ValidSKU(s) {
			m.Form.StoreID = s
		}
		m.StorePickerSrc = "explore/store-picker"
		if m.Form.StoreID != "" {
			m.StorePickerSrc += "?selected=" + url.QueryEscape(m.Form.StoreID)
		}
		return fragments.Render(c, CheckoutView(m), fragments.Private, opts...)
	}
}

// placeOrderTimeout bounds placing an order, its queries included: the shell gives up on a team
// after 10 s, and a browser sooner, but neither tells checkout, so without a deadline of its own a
// query waiting in PostgreSQL (on a lock, a slow disk) would run on after everyone has gone (issue 17).
const placeOrderTimeout = 5 * time.Second

// PlaceOrder is POST /ui/place-order: a valid form places the order (or finds it again by its
// idempotency key), empties the cart and redirects to the thank-you page; an invalid or refused one
// (a store checkout does not know, a tractor out of stock) is kept with its errors and redirected back
// to the checkout page, or answered with a 4xx error when the script asks for JSON; without a cart,
// the visitor is sent to the cart.
func PlaceOrder(basket Basket, orders OrderPlacer, log *slog.Logger) fiber.Handler {
	return func(c *fiber.Ctx) error {
		ctx, cancel := context.WithTimeout(c.UserContext(), placeOrderTimeout)
		defer cancel()
		fc := fragments.ContextFrom(ctx)
		if fc.CartID == "" {
			return c.Redirect("/checkout/cart", fiber.StatusSeeOther)
		}
		f := checkout.CheckoutForm{
			FirstName: c.FormValue(checkout.FieldFirstName), LastName: c.FormValue(checkout.FieldLastName),
			Email: c.FormValue(checkout.FieldEmail), Card: c.FormValue(checkout.FieldCard),
			StoreID: c.FormValue(checkout.FieldStore), IdempotencyKey: c.FormValue(checkout.FieldIdempotencyKey),
		}.Normalize()
		// refuse keeps the form and its errors for the checkout page; a form post is redirected there,
		// a script (Accept: JSON) gets why as a 4xx error.
		refuse := func(fe checkout.FieldErrors, why error) error {
			// Kept even when the request's deadline has passed (a long wait for another tab).
			sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), saveFormTimeout)
			defer cancel()
			if err := basket.SaveForm(sctx, fc.CartID, f, fe); err != nil {
				return fmt.Errorf("keep refused form: %w", err)
			}
			if cart.WantsJSON(c) {
				return why
			}
			return c.Redirect("/checkout/checkout", fiber.StatusSeeOther)
		}
		// One order per basket: the cart is this request's until its order's lines are taken out or
		// the order refused, so a second tab's form (another key) cannot order the same lines.
		// Another tab placing this basket's order is waited for (briefly): the basket is then empty,
		// and this post is sent to that order's thank-you page. The wait leaves orderTime of the
		// request's deadline for placing the order itself.
		waitUntil := time.Now().Add(claimWait)
		if d, ok := ctx.Deadline(); ok && d.Add(-orderTime).Before(waitUntil) {
			waitUntil = d.Add(-orderTime)
		}
		claim, err := checkout.ClaimCart(ctx, basket, fc.CartID, f.IdempotencyKey, waitUntil, log)
		if errors.Is(err, checkout.ErrOrderInProgress) {
			return refuse(checkout.FieldErrors{generalError: checkout.OrderInProgressMessage},
				errs.Wrap(errs.ECONFLICT, err, checkout.OrderInProgressMessage))
		}
		if err != nil {
			return err
		}
		defer claim.Release()
		lines, err := basket.Lines(ctx, fc.CartID)
		if err != nil {
			return fmt.Errorf("read cart: %w", err)
		}
		changed := changedFrom(lines, c.FormValue(checkout.FieldBasket))
		if choice := strings.TrimSpace(c.FormValue(checkout.FieldStoreChoice)); choice != "" {
			// A store chosen in the picker without JavaScript: back to the checkout page with it and
			// the other fields (SaveForm keeps them, never the card number); only a bad store id is an
			// error, and it is not kept (the picker would be asked for it).
			f.StoreID = choice
			var fe checkout.FieldErrors
			if msg := f.Validate()[checkout.FieldStore]; msg != "" {
				f.StoreID, fe = "", checkout.FieldErrors{checkout.FieldStore: msg}
			} else if known, err := orders.KnownStore(ctx, choice); err != nil {
				return fmt.Errorf("chosen store: %w", err)
			} else if !known {
				// Well formed, but no store of ours (a tampered form, or one closed since the page
				// was shown): the picker is asked again, not an id the order would be refused for.
				f.StoreID, fe = "", checkout.FieldErrors{checkout.FieldStore: errs.Message(checkout.CheckStore(choice, nil))}
			}
			// The page comes back with the cart as it is now: say so when that is not what it showed.
			if changed {
				if fe == nil {
					fe = checkout.FieldErrors{}
				}
				fe[generalError] = checkout.BasketChangedMessage
			}
			if err := basket.SaveForm(ctx, fc.CartID, f, fe); err != nil {
				return fmt.Errorf("keep the form with its chosen store: %w", err)
			}
			return c.Redirect("/checkout/checkout", fiber.StatusSeeOther)
		}
		if fe := f.Validate(); fe != nil {
			return refuse(fe, errs.Errorf(errs.EINVALID, "Please check the highlighted fields."))
		}
		// The cart changed since the page showed it: its summary again, not an order for what the
		// visitor did not see.
		if changed {
			// A new key with the new summary: the old one may already name an order (this form's
			// first post, its answer lost), which would be found again instead of the basket shown now.
			f.IdempotencyKey = ""
			return refuse(checkout.FieldErrors{generalError: checkout.BasketChangedMessage},
				errs.Wrap(errs.ECONFLICT, checkout.ErrBasketChanged, checkout.BasketChangedMessage))
		}
		id, created, err := orders.PlaceOrder(ctx, checkout.Placement{CartID: fc.CartID, CustomerID: fc.CustomerID,
			Lines: lines, Form: f, ShownTotal: shownTotal(c.FormValue(checkout.FieldTotal))})
		if errors.Is(err, checkout.ErrEmptyCart) {
			// Nothing to order: the order of this basket was just placed (from another tab, or this
			// form posted again after it), so its thank-you page; else the cart.
			if recent := latestOrder(ctx, orders, fc, c.FormValue(checkout.FieldBasket)); recent != "" {
				return c.Redirect("/checkout/thanks?order="+url.QueryEscape(recent), fiber.StatusSeeOther)
			}
			return c.Redirect("/checkout/cart", fiber.StatusSeeOther)
		}
		if errors.Is(err, checkout.ErrUnknownStore) {
			return refuse(checkout.FieldErrors{checkout.FieldStore: errs.Message(err)}, err)
		}
		if code := errs.Code(err); code == errs.EINVALID || code == errs.ECONFLICT {
			return refuse(checkout.FieldErrors{generalError: errs.Message(err)}, err)
		}
		if err != nil {
			claim.Unsure()
			return err
		}
		if created {
			log.InfoContext(ctx, "order placed", "order_id", id, "lines", len(lines))
		}
		ordered := lines
		if !created {
			// A replay of the key: its order's own lines (the cart may hold a newer basket).
			o, err := orders.Order(ctx, id)
			if err != nil {
				claim.Unsure()
				return err
			}
			ordered = checkout.LinesOf(o)
		}
		if err := claim.Placed(id, ordered); err != nil {
			// The order stands; its lines leave the basket on the next attempt (the key finds the
			// same order), and until then the claim keeps other keys from ordering them again.
			log.ErrorContext(ctx, "take the order's lines out of the cart", "order_id", id, "error", err.Error())
		}
		return c.Redirect("/checkout/thanks?order="+url.QueryEscape(id), fiber.StatusSeeOther)
	}
}

// shownTotal is the total the checkout page showed (FieldTotal), in whole Ø: nil, nothing to compare,
// for a form without one (a page rendered before it existed); -1, which no order costs, for a value
// that is not a total (a tampered form), so the order is refused and the page shown again.
func shownTotal(v string) *int64 {
	if v == "" {
		return nil
	}
	n, err := strconv.ParseInt(v, 10, 64)
	if err != nil || n < 0 {
		n = -1
	}
	return &n
}

// changedFrom reports whether lines are not the cart the checkout page showed as version shown. An
// empty cart has not changed (the order placed by this form's first post, found again by its key, or
// the cart page), nor has any cart for a form without the version (a page rendered before it existed).
func changedFrom(lines []checkout.CartLine, shown string) bool {
	return shown != "" && len(lines) > 0 && shown != checkout.BasketVersion(lines)
}

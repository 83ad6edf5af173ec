package ui

import (
	"errors"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/gofiber/fiber/v2"
	"github.com/google/uuid"

	"github.com/inlay-dev/inlay/fragments"
	"github.com/inlay-dev/inlay/services/checkout"
	"github.com/inlay-dev/inlay/services/checkout/postgres"
	"github.com/inlay-dev/inlay/services/kit/server"
)

// Models of the views.

// AddToCartModel is what Add To Cart shows.
type AddToCartModel struct {
	Item checkout.Item
	CSRF string
}

// CartModel is what the cart page's content shows.
type CartModel struct {
	Cart               checkout.Cart
	CSRF               string
	Error              string
	RecommendationsSrc string
}

// CheckoutModel is what the checkout page's content shows.
type CheckoutModel struct {
	Cart           checkout.Cart
	CSRF           string
	Form           checkout.CheckoutForm
	Errors         checkout.FieldErrors
	Error          string
	StorePickerSrc string
	// Address is the signed-in customer's address on one line, "" when there is none.
	Address string
}

// ThanksModel is what the thank-you page's content shows.
type ThanksModel struct {
	Order checkout.Order
}

// generalError is the FieldErrors key of an error that belongs to no field.
const generalError = "_"

// Cart error codes the no-JavaScript add redirects with (?error=); only these messages are shown, so
// the page never reflects request text.
var cartErrors = map[string]string{
	"unknown":      "This tractor does not exist.",
	"out-of-stock": "Sorry, this tractor is out of stock.",
	"line-limit":   "You cannot add more of this tractor.",
	"cart-full":    checkout.ErrCartFull.Error() + ".",
	"invalid":      "This tractor could not be added.",
}

// --- fragments ----------------------------------------------------------------------------------

func (h *handlers) assets(name string) fragments.RenderOption {
	return fragments.Assets(h.manifest, name)
}

func (h *handlers) addToCart(c *fiber.Ctx) error {
	ctx := c.UserContext()
	sku := c.Query("sku")
	if !checkout.ValidSKU(sku) {
		return fragments.Render(c, AddToCartUnavailable(), fragments.Private, fragments.Status(fiber.StatusNotFound), h.assets(AddToCart))
	}
	it, err := h.store.Item(ctx, sku)
	if errors.Is(err, checkout.ErrUnknownSKU) {
		return fragments.Render(c, AddToCartUnavailable(), fragments.Private, fragments.Status(fiber.StatusNotFound), h.assets(AddToCart))
	}
	if err != nil {
		return err
	}
	return fragments.Render(c, AddToCartView(AddToCartModel{Item: it, CSRF: fragments.ContextFrom(ctx).CSRF}),
		fragments.Private, h.assets(AddToCart))
}

func (h *handlers) miniCart(c *fiber.Ctx) error {
	ctx := c.UserContext()
	n := 0
	id, err := h.cartID(ctx)
	if err != nil {
		return err
	}
	if id != "" {
		lines, err := h.carts.Lines(ctx, id)
		if err != nil {
			return err
		}
		for _, l := range lines {
			n += l.Quantity
		}
	}
	return fragments.Render(c, MiniCartView(n), fragments.Private, h.assets(MiniCart))
}

// loadCart reads the cart of the request's context with its variants; lines whose sku checkout no
// longer knows are left out.
func (h *handlers) loadCart(c *fiber.Ctx) (checkout.Cart, error) {
	ctx := c.UserContext()
	id, err := h.cartID(ctx)
	if err != nil {
		return checkout.Cart{}, err
	}
	cart := checkout.Cart{ID: id}
	if cart.ID == "" {
		return cart, nil
	}
	lines, err := h.carts.Lines(ctx, cart.ID)
	if err != nil {
		return cart, err
	}
	skus := make([]string, len(lines))
	for i, l := range lines {
		skus[i] = l.SKU
	}
	items, err := h.store.Items(ctx, skus)
	if err != nil {
		return cart, err
	}
	for _, l := range lines {
		if it, ok := items[l.SKU]; ok {
			cart.Lines = append(cart.Lines, checkout.Line{Item: it, Quantity: l.Quantity})
		}
	}
	return cart, nil
}

func (h *handlers) cart(c *fiber.Ctx) error {
	cart, err := h.loadCart(c)
	if err != nil {
		return err
	}
	m := CartModel{Cart: cart, CSRF: fragments.ContextFrom(c.UserContext()).CSRF, Error: cartErrors[c.Query("error")]}
	if !cart.Empty() {
		m.RecommendationsSrc = "inspire/recommendations?skus=" + url.QueryEscape(strings.Join(cart.SKUs(), ","))
	}
	return fragments.Render(c, CartView(m), fragments.Private, h.assets(CartPage))
}

func (h *handlers) checkout(c *fiber.Ctx) error {
	ctx := c.UserContext()
	cart, err := h.loadCart(c)
	if err != nil {
		return err
	}
	m := CheckoutModel{Cart: cart, CSRF: fragments.ContextFrom(ctx).CSRF}
	if cart.ID != "" {
		f, errs, ok, err := h.carts.TakeForm(ctx, cart.ID)
		if err != nil {
			return err
		}
		if ok {
			m.Form, m.Errors = f, errs
			m.Error = errs[generalError]
			delete(m.Errors, generalError)
		}
	}
	if fc := fragments.ContextFrom(ctx); !fc.Guest() {
		// checkout's own copy of the account, kept by accounts' events: no call to accounts here.
		cu, ok, err := h.store.CustomerCopy(ctx, fc.CustomerID)
		if err != nil {
			return err
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
	return fragments.Render(c, CheckoutView(m), fragments.Private, h.assets(CheckoutPage))
}

// ownOrder reads order id when it belongs to the request's cart or customer; ENOTFOUND otherwise,
// so nobody learns about someone else's order.
func (h *handlers) ownOrder(c *fiber.Ctx, id string) (checkout.Order, error) {
	o, err := h.store.Order(c.UserContext(), id)
	if err != nil {
		return o, err
	}
	if !owns(fragments.ContextFrom(c.UserContext()), o.CartID, o.Customer.ID) {
		return checkout.Order{}, checkout.ErrOrderNotFound(id)
	}
	return o, nil
}

func owns(fc fragments.Context, cartID, customerID string) bool {
	return fc.CartID != "" && fc.CartID == cartID || fc.CustomerID != "" && fc.CustomerID == customerID
}

func (h *handlers) thanks(c *fiber.Ctx) error {
	o, err := h.ownOrder(c, c.Query("order"))
	if server.ErrorCode(err) == server.ENOTFOUND {
		return fragments.Render(c, Unavailable("checkout-thanks", "This order does not exist."), fragments.Private,
			fragments.Status(fiber.StatusNotFound), h.assets(Thanks))
	}
	if err != nil {
		return err
	}
	return fragments.Render(c, ThanksView(ThanksModel{Order: o}), fragments.Private, h.assets(Thanks))
}

// order is the order page's content (GET /checkout/orders/{id}): the order and its live status.
func (h *handlers) order(c *fiber.Ctx) error {
	o, err := h.ownOrder(c, c.Query("order"))
	if server.ErrorCode(err) == server.ENOTFOUND {
		return fragments.Render(c, Unavailable("checkout-order", "This order does not exist."), fragments.Private,
			fragments.Status(fiber.StatusNotFound), h.assets(OrderPage))
	}
	if err != nil {
		return err
	}
	return fragments.Render(c, OrderView(ThanksModel{Order: o}), fragments.Private, h.assets(OrderPage))
}

// historyLength is how many orders the Order History shows.
const historyLength = 20

// orderHistory is the signed-in customer's latest orders, for accounts' Account page.
func (h *handlers) orderHistory(c *fiber.Ctx) error {
	fc := fragments.ContextFrom(c.UserContext())
	orders, err := h.store.OrdersOf(c.UserContext(), fc.CustomerID, historyLength)
	if err != nil {
		return err
	}
	return fragments.Render(c, OrderHistoryView(orders, fc.Guest()), fragments.Private, h.assets(OrderHistory))
}

func (h *handlers) compactHeader(c *fiber.Ctx) error {
	return fragments.Render(c, CompactHeaderView(h.logo), fragments.Public, h.assets(CompactHeader),
		fragments.MaxAge(time.Hour), fragments.StaleWhileRevalidate(24*time.Hour))
}

// --- /ui endpoints ------------------------------------------------------------------------------

// wantsJSON reports whether the request came from checkout's script (fetch with Accept: JSON)
// rather than a plain form post.
func wantsJSON(c *fiber.Ctx) bool {
	return strings.Contains(c.Get(fiber.HeaderAccept), fiber.MIMEApplicationJSON)
}

// setCartCookie (re)sets inlay_cart for 30 days. The shell passes it to the browser because
// checkout owns the name.
func (h *handlers) setCartCookie(c *fiber.Ctx, id string) {
	c.Cookie(&fiber.Cookie{Name: checkout.CartCookie, Value: id, Path: "/", MaxAge: int(checkout.CartTTL.Seconds()),
		Expires: time.Now().Add(checkout.CartTTL), HTTPOnly: true, Secure: h.secure, SameSite: fiber.CookieSameSiteLaxMode})
}

// AddResult is POST /ui/cart/add's JSON answer.
type AddResult struct {
	SKU          string `json:"sku"`
	Quantity     int    `json:"quantity"`
	CartQuantity int    `json:"cartQuantity"`
	Message      string `json:"message"`
}

func (h *handlers) add(c *fiber.Ctx) error {
	ctx := c.UserContext()
	q, id, err := h.addSKU(c, c.FormValue("sku"))
	if err != nil {
		if wantsJSON(c) {
			return err
		}
		return c.Redirect("/checkout/cart?error="+addErrorCode(err), fiber.StatusSeeOther)
	}
	if !wantsJSON(c) {
		return c.Redirect("/checkout/cart", fiber.StatusSeeOther)
	}
	lines, err := h.carts.Lines(ctx, id)
	if err != nil {
		return err
	}
	total := 0
	for _, l := range lines {
		total += l.Quantity
	}
	c.Set(fiber.HeaderCacheControl, "no-store")
	return c.JSON(AddResult{SKU: c.FormValue("sku"), Quantity: q, CartQuantity: total, Message: "Tractor was added."})
}

// addSKU adds one unit of sku to the request's cart (creating the cart and its cookie when the
// context has none) and returns the line's quantity and the cart id.
func (h *handlers) addSKU(c *fiber.Ctx, sku string) (int, string, error) {
	ctx := c.UserContext()
	if !checkout.ValidSKU(sku) {
		return 0, "", server.Wrap(server.EINVALID, checkout.ErrInvalidSKU, "Please name a tractor (field sku).")
	}
	it, err := h.store.Item(ctx, sku)
	if err != nil {
		return 0, "", err
	}
	limit, err := checkout.AddLimit(it)
	if err != nil {
		return 0, "", err
	}
	id, err := h.cartID(ctx)
	if err != nil {
		return 0, "", err
	}
	if id == "" {
		id = uuid.NewString()
	}
	q, err := h.carts.Add(ctx, id, sku, 1, limit)
	switch {
	case errors.Is(err, checkout.ErrLineLimit):
		msg := "You already have " + itoa(limit) + " of " + it.Title() + " in your basket"
		if limit < checkout.MaxQuantity {
			msg += ", all we have in stock."
		} else {
			msg += ", the most one order may hold."
		}
		return 0, "", server.Wrap(server.ECONFLICT, err, msg)
	case errors.Is(err, checkout.ErrCartFull):
		return 0, "", server.Wrap(server.ECONFLICT, err, "Your basket is full: "+err.Error()+".")
	case err != nil:
		return 0, "", err
	}
	h.keepCartCookie(c, id)
	return q, id, nil
}

func addErrorCode(err error) string {
	switch {
	case errors.Is(err, checkout.ErrUnknownSKU):
		return "unknown"
	case errors.Is(err, checkout.ErrOutOfStock):
		return "out-of-stock"
	case errors.Is(err, checkout.ErrLineLimit):
		return "line-limit"
	case errors.Is(err, checkout.ErrCartFull):
		return "cart-full"
	}
	return "invalid"
}

func (h *handlers) remove(c *fiber.Ctx) error {
	ctx := c.UserContext()
	sku := c.FormValue("sku")
	if !checkout.ValidSKU(sku) {
		return server.Wrap(server.EINVALID, checkout.ErrInvalidSKU, "Please name a tractor (field sku).")
	}
	id, err := h.cartID(ctx)
	if err != nil {
		return err
	}
	if id != "" {
		// Removing a line that is not there is done already: the answer is the same.
		if err := h.carts.Remove(ctx, id, sku); err != nil && !errors.Is(err, checkout.ErrNotInCart) {
			return err
		}
		h.keepCartCookie(c, id)
	}
	if wantsJSON(c) {
		return c.JSON(fiber.Map{"sku": sku, "removed": true})
	}
	return c.Redirect("/checkout/cart", fiber.StatusSeeOther)
}

func (h *handlers) placeOrder(c *fiber.Ctx) error {
	ctx := c.UserContext()
	fc := fragments.ContextFrom(ctx)
	cartID, err := h.cartID(ctx)
	if err != nil {
		return err
	}
	if cartID == "" {
		return c.Redirect("/checkout/cart", fiber.StatusSeeOther)
	}
	f := checkout.CheckoutForm{
		FirstName: c.FormValue(checkout.FieldFirstName), LastName: c.FormValue(checkout.FieldLastName),
		Email: c.FormValue(checkout.FieldEmail), Card: c.FormValue(checkout.FieldCard),
		StoreID: c.FormValue(checkout.FieldStore), IdempotencyKey: c.FormValue(checkout.FieldIdempotencyKey),
	}.Normalize()
	refuse := func(errs checkout.FieldErrors) error {
		if err := h.carts.SaveForm(ctx, cartID, f, errs); err != nil {
			return err
		}
		return c.Redirect("/checkout/checkout", fiber.StatusSeeOther)
	}
	if errs := f.Validate(); errs != nil {
		return refuse(errs)
	}
	lines, err := h.carts.Lines(ctx, cartID)
	if err != nil {
		return err
	}
	id, created, err := h.store.PlaceOrder(ctx, postgres.Place{CartID: cartID, CustomerID: fc.CustomerID, Lines: lines, Form: f})
	if errors.Is(err, postgres.ErrEmptyCart) {
		return c.Redirect("/checkout/cart", fiber.StatusSeeOther)
	}
	if code := server.ErrorCode(err); code == server.EINVALID || code == server.ECONFLICT {
		return refuse(checkout.FieldErrors{generalError: server.ErrorMessage(err)})
	}
	if err != nil {
		return err
	}
	if created {
		h.log.InfoContext(ctx, "order placed", "order_id", id, "lines", len(lines))
	}
	if err := h.carts.Clear(ctx, cartID); err != nil {
		// The order stands; the basket empties on the next attempt (the key finds the same order).
		h.log.ErrorContext(ctx, "clear cart after order", "order_id", id, "error", err.Error())
	}
	h.keepCartCookie(c, cartID)
	return c.Redirect("/checkout/thanks?order="+url.QueryEscape(id), fiber.StatusSeeOther)
}

// OrderStatus is GET /ui/orders/{id}/status's JSON answer.
type OrderStatus struct {
	OrderID string          `json:"orderId"`
	Status  checkout.Status `json:"status"`
	Reason  string          `json:"reason,omitempty"`
	Final   bool            `json:"final"`
}

func (h *handlers) orderStatus(c *fiber.Ctx) error {
	id := c.Params("id")
	o, err := h.ownOrder(c, id)
	if err != nil {
		return err
	}
	c.Set(fiber.HeaderCacheControl, "no-store")
	return c.JSON(OrderStatus{OrderID: o.ID, Status: o.Status, Reason: o.Reason, Final: o.Status.Final()})
}

func itoa(n int) string { return strconv.Itoa(n) }

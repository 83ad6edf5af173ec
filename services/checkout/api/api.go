// Package api is checkout's /v1 JSON API for the backends-for-frontend (never exposed by the shell):
// the caller's cart and orders. The caller is named only by the signed Inlay-Context the BFF sends
// (fragments.Middleware checks it with the team's key set; kid "mobile" for bff/mobile): a customer
// (its cart is checkout.CustomerCartID, a guest cart the context also names is merged into it first,
// as on the storefront) or else a guest cart id. A request whose context names neither is refused
// with 401; checkout never sees a bearer token.
//
//	GET    /v1/cart                   the cart
//	POST   /v1/cart/items             {"sku", "quantity"?: 1-10, default 1} adds units → the cart
//	PUT    /v1/cart/items/{sku}       {"quantity": 1-10} sets the line (adds it when new) → the cart
//	DELETE /v1/cart/items/{sku}       removes the line (a missing line is fine) → the cart
//	POST   /v1/orders                 "Idempotency-Key: <1-64 of A-Z a-z 0-9 - _>", {"storeId", "card",
//	                                  "firstName", "lastName", "email"} (names and e-mail default to the
//	                                  customer's) places the cart's order → 201 the order (Location);
//	                                  the same key again → 200 the same order (Idempotent-Replayed: true)
//	GET    /v1/orders?limit=20        the caller's latest orders (1-50), newest first
//	GET    /v1/orders/{id}            one of the caller's orders; anyone else's is 404
//
// Prices, names and stock are checkout's own copies, kept from decide's and inventory's events.
// Errors are RFC 9457 problem details (kit/server.Problem): 400 for malformed input (unknown
// fields, wrong types, a quantity outside 1-10: nothing is stored), 401 without a caller, 404 for
// an unknown sku or order, 409 when the cart or stock does not allow it (out of stock, line limit,
// empty cart), 413 for a body over 16 KiB, 422 for an idempotency key reused with another request.
package api

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"strings"
	"time"

	"github.com/gofiber/fiber/v2"

	"github.com/inlay-dev/inlay/fragments"
	"github.com/inlay-dev/inlay/services/checkout"
	"github.com/inlay-dev/inlay/services/checkout/ui"
	"github.com/inlay-dev/inlay/services/kit/errs"
	"github.com/inlay-dev/inlay/services/kit/server"
)

// IdempotencyKeyHeader names the key of POST /v1/orders.
const IdempotencyKeyHeader = "Idempotency-Key"

// ReplayedHeader is "true" on an answer that found the order an earlier request with the same key
// placed.
const ReplayedHeader = "Idempotent-Replayed"

// BodyLimit bounds a request body.
const BodyLimit = 16 << 10

// Order list bounds.
const (
	DefaultOrders = 20
	MaxOrders     = 50
)

// placeOrderTimeout bounds placing an order, as the storefront's form does.
const placeOrderTimeout = 5 * time.Second

// CartLine is a line of the cart. Stock is how many units checkout last heard inventory has.
type CartLine struct {
	SKU         string `json:"sku"`
	ProductID   string `json:"productId"`
	ProductName string `json:"productName"`
	Name        string `json:"name"`
	Title       string `json:"title"`
	Color       string `json:"color"`
	Image       string `json:"image"`
	URL         string `json:"url"`
	Quantity    int    `json:"quantity"`
	UnitPrice   int64  `json:"unitPrice"`
	Total       int64  `json:"total"`
	Stock       int    `json:"stock"`
}

// Cart is the caller's cart: its lines in the order they were added, the units and the total (Ø).
type Cart struct {
	Lines    []CartLine `json:"lines"`
	Quantity int        `json:"quantity"`
	Total    int64      `json:"total"`
}

// AddItem is POST /v1/cart/items' body; Quantity defaults to 1.
type AddItem struct {
	SKU      string `json:"sku"`
	Quantity *int   `json:"quantity"`
}

// SetQuantity is PUT /v1/cart/items/{sku}'s body.
type SetQuantity struct {
	Quantity *int `json:"quantity"`
}

// PlaceOrder is POST /v1/orders' body. For a signed-in customer, empty names and e-mail are taken
// from checkout's copy of the account.
type PlaceOrder struct {
	StoreID   string `json:"storeId"`
	Card      string `json:"card"`
	FirstName string `json:"firstName"`
	LastName  string `json:"lastName"`
	Email     string `json:"email"`
	// ExpectedTotal, when given, is the total the caller showed the customer, in whole Ø: an order
	// that would cost another amount at the current prices is refused (409), nothing is charged.
	ExpectedTotal *int64 `json:"expectedTotal"`
}

// OrderLine is an order's snapshot of a cart line.
type OrderLine struct {
	SKU         string `json:"sku"`
	ProductID   string `json:"productId"`
	ProductName string `json:"productName"`
	Name        string `json:"name"`
	Image       string `json:"image"`
	URL         string `json:"url"`
	Quantity    int    `json:"quantity"`
	UnitPrice   int64  `json:"unitPrice"`
	Total       int64  `json:"total"`
}

// Customer is who placed an order.
type Customer struct {
	FirstName string `json:"firstName"`
	LastName  string `json:"lastName"`
	Email     string `json:"email"`
}

// OrderSummary is an order in a list. Status is pending, confirmed or cancelled (with Reason);
// Final says it will not change again.
type OrderSummary struct {
	ID      string    `json:"id"`
	Status  string    `json:"status"`
	Reason  string    `json:"reason"`
	Final   bool      `json:"final"`
	StoreID string    `json:"storeId"`
	Total   int64     `json:"total"`
	Created time.Time `json:"created"`
}

// Order is one order with its lines.
type Order struct {
	OrderSummary
	Updated   time.Time   `json:"updated"`
	CardLast4 string      `json:"cardLast4"`
	Customer  Customer    `json:"customer"`
	Lines     []OrderLine `json:"lines"`
}

// Orders is GET /v1/orders' answer.
type Orders struct {
	Orders []OrderSummary `json:"orders"`
}

// Carts is what the API does with carts (redis.Carts).
type Carts interface {
	ui.CartMerger
	Add(ctx context.Context, cartID, sku string, n, limit int) (int, error)
	Set(ctx context.Context, cartID, sku string, n, limit int) error
	Remove(ctx context.Context, cartID, sku string) error
	checkout.CartClaimer
}

// Store is what the API reads and places (postgres.Store).
type Store interface {
	Item(ctx context.Context, sku string) (checkout.Item, error)
	Items(ctx context.Context, skus []string) (map[string]checkout.Item, error)
	PlaceOrder(ctx context.Context, p checkout.Placement) (id string, created bool, err error)
	Order(ctx context.Context, id string) (checkout.Order, error)
	OrdersOf(ctx context.Context, customerID string, limit int) ([]checkout.Order, error)
	OrdersOfCart(ctx context.Context, cartID string, limit int) ([]checkout.Order, error)
	CustomerCopy(ctx context.Context, id string) (checkout.CustomerCopy, bool, error)
}

// Handler serves the API.
type Handler struct {
	carts    Carts
	store    Store
	verifier *fragments.Verifier
	log      *slog.Logger
}

// New returns the API on carts and store; verifier checks every request's Inlay-Context.
func New(carts Carts, store Store, verifier *fragments.Verifier, log *slog.Logger) *Handler {
	if log == nil {
		log = slog.Default()
	}
	return &Handler{carts: carts, store: store, verifier: verifier, log: log}
}

// Mount adds the /v1 routes to r.
func (h *Handler) Mount(r fiber.Router) {
	v1 := r.Group("/v1", server.API(BodyLimit), fragments.Middleware(h.verifier), h.caller)
	v1.Get("/cart", h.cart)
	v1.Post("/cart/items", h.add)
	v1.Put("/cart/items/:sku", h.set)
	v1.Delete("/cart/items/:sku", h.remove)
	v1.Post("/orders", h.placeOrder)
	v1.Get("/orders", h.orders)
	v1.Get("/orders/:id", h.order)
}

type callerKey struct{}

// caller is who asks, from the verified context: the cart the request works on and the customer.
type caller struct {
	cartID, customerID string
}

// caller resolves the request's cart from its Inlay-Context: a customer's own cart (merging the
// guest cart the context also names into it), else the guest cart; neither is 401.
func (h *Handler) caller(c *fiber.Ctx) error {
	ctx := c.UserContext()
	fc := fragments.ContextFrom(ctx)
	// A context's cart id never names a customer's cart (checkout.GuestCartID).
	guest := checkout.GuestCartID(fc.CartID)
	who := caller{cartID: guest, customerID: fc.CustomerID}
	if !fc.Guest() {
		who.cartID = checkout.CustomerCartID(fc.CustomerID)
		if guest != "" {
			// While the guest cart's order is being placed nothing is merged: a later call merges
			// what is left of it.
			if err := ui.MergeGuest(ctx, h.carts, h.store, guest, who.cartID); err != nil && !errors.Is(err, checkout.ErrOrderInProgress) {
				return err
			}
		}
	}
	if who.cartID == "" {
		c.Set(fiber.HeaderWWWAuthenticate, `Bearer realm="inlay"`)
		return errs.Errorf(errs.EUNAUTHORIZED, "the request's Inlay-Context names no customer and no cart")
	}
	c.Locals(callerKey{}, who)
	c.Set(fiber.HeaderCacheControl, "no-store")
	return c.Next()
}

func callerOf(c *fiber.Ctx) caller {
	who, _ := c.Locals(callerKey{}).(caller)
	return who
}

func (h *Handler) cart(c *fiber.Ctx) error {
	return h.answerCart(c, fiber.StatusOK)
}

// answerCart answers the caller's cart with status.
func (h *Handler) answerCart(c *fiber.Ctx, status int) error {
	ctx := c.UserContext()
	id := callerOf(c).cartID
	lines, err := h.carts.Lines(ctx, id)
	if err != nil {
		return fmt.Errorf("read cart: %w", err)
	}
	skus := make([]string, len(lines))
	for i, l := range lines {
		skus[i] = l.SKU
	}
	known, err := h.store.Items(ctx, skus)
	if err != nil {
		return fmt.Errorf("read cart's variants: %w", err)
	}
	crt := checkout.NewCart(id, lines, known)
	out := Cart{Lines: make([]CartLine, 0, len(crt.Lines)), Quantity: crt.Quantity(), Total: crt.Total()}
	for _, l := range crt.Lines {
		out.Lines = append(out.Lines, CartLine{SKU: l.SKU, ProductID: l.ProductID, ProductName: l.ProductName,
			Name: l.Name, Title: l.Title(), Color: l.Color, Image: l.Image, URL: l.URL(), Quantity: l.Quantity,
			UnitPrice: l.Price, Total: l.Total(), Stock: l.Stock})
	}
	return c.Status(status).JSON(out)
}

// quantity checks a line's quantity: a whole number from 1 to checkout.MaxQuantity.
func quantity(q *int, required bool) (int, error) {
	msg := "must be a whole number from 1 to " + strconv.Itoa(checkout.MaxQuantity)
	if q == nil {
		if required {
			return 0, errs.Invalid("quantity is required", map[string]string{"quantity": "is required"})
		}
		return 1, nil
	}
	if *q < 1 || *q > checkout.MaxQuantity {
		return 0, errs.Invalid("quantity "+msg, map[string]string{"quantity": msg})
	}
	return *q, nil
}

func validSKU(sku string) error {
	if !checkout.ValidSKU(sku) {
		return errs.Invalid("sku must be a sku: letters, digits, - and _, at most 64",
			map[string]string{"sku": "must be a sku"})
	}
	return nil
}

func (h *Handler) add(c *fiber.Ctx) error {
	var req AddItem
	if err := server.DecodeJSON(c, &req); err != nil {
		return err
	}
	if err := validSKU(req.SKU); err != nil {
		return err
	}
	n, err := quantity(req.Quantity, false)
	if err != nil {
		return err
	}
	ctx := c.UserContext()
	it, limit, err := h.item(ctx, req.SKU)
	if err != nil {
		return err
	}
	if _, err := h.carts.Add(ctx, callerOf(c).cartID, req.SKU, n, limit); err != nil {
		return cartError(err, it, limit)
	}
	return h.answerCart(c, fiber.StatusOK)
}

func (h *Handler) set(c *fiber.Ctx) error {
	sku := c.Params("sku")
	if err := validSKU(sku); err != nil {
		return err
	}
	var req SetQuantity
	if err := server.DecodeJSON(c, &req); err != nil {
		return err
	}
	n, err := quantity(req.Quantity, true)
	if err != nil {
		return err
	}
	ctx := c.UserContext()
	it, limit, err := h.item(ctx, sku)
	if err != nil {
		return err
	}
	if err := h.carts.Set(ctx, callerOf(c).cartID, sku, n, limit); err != nil {
		return cartError(err, it, limit)
	}
	return h.answerCart(c, fiber.StatusOK)
}

func (h *Handler) remove(c *fiber.Ctx) error {
	sku := c.Params("sku")
	if err := validSKU(sku); err != nil {
		return err
	}
	if err := h.carts.Remove(c.UserContext(), callerOf(c).cartID, sku); err != nil && !errors.Is(err, checkout.ErrNotInCart) {
		return err
	}
	return h.answerCart(c, fiber.StatusOK)
}

// item reads the sku's variant (404 when checkout does not know it) and how many units a line of it
// may hold (409 when it is out of stock).
func (h *Handler) item(ctx context.Context, sku string) (checkout.Item, int, error) {
	it, err := h.store.Item(ctx, sku)
	if err != nil {
		return it, 0, err
	}
	limit, err := checkout.AddLimit(it)
	return it, limit, err
}

// cartError explains a refused cart change.
func cartError(err error, it checkout.Item, limit int) error {
	switch {
	case errors.Is(err, checkout.ErrLineLimit):
		msg := "at most " + strconv.Itoa(limit) + " of " + it.Title() + " fit in the basket"
		if limit < checkout.MaxQuantity {
			msg += ": all we have in stock"
		} else {
			msg += ": the most one order may hold"
		}
		return errs.Wrap(errs.ECONFLICT, err, msg)
	case errors.Is(err, checkout.ErrCartFull):
		return errs.Wrap(errs.ECONFLICT, err, "the basket is full: "+err.Error())
	}
	return err
}

// fieldNames maps the checkout form's fields to the request's.
var fieldNames = map[string]string{
	checkout.FieldFirstName:      "firstName",
	checkout.FieldLastName:       "lastName",
	checkout.FieldEmail:          "email",
	checkout.FieldCard:           "card",
	checkout.FieldStore:          "storeId",
	checkout.FieldIdempotencyKey: IdempotencyKeyHeader,
}

func (h *Handler) placeOrder(c *fiber.Ctx) error {
	ctx, cancel := context.WithTimeout(c.UserContext(), placeOrderTimeout)
	defer cancel()
	key := strings.TrimSpace(c.Get(IdempotencyKeyHeader))
	if key == "" || len(key) > 64 || !checkout.ValidSKU(key) {
		return errs.Invalid("the Idempotency-Key header must hold 1 to 64 letters, digits, - or _",
			map[string]string{IdempotencyKeyHeader: "is required: 1 to 64 letters, digits, - or _"})
	}
	key = strings.Clone(key)
	var req PlaceOrder
	if err := server.DecodeJSON(c, &req); err != nil {
		return err
	}
	who := callerOf(c)
	f := checkout.CheckoutForm{FirstName: req.FirstName, LastName: req.LastName, Email: req.Email,
		Card: req.Card, StoreID: req.StoreID, IdempotencyKey: key}.Normalize()
	if who.customerID != "" {
		cu, ok, err := h.store.CustomerCopy(ctx, who.customerID)
		if err != nil {
			return fmt.Errorf("place order: customer: %w", err)
		}
		if ok {
			f = cu.Prefill(f)
		}
	}
	negative := req.ExpectedTotal != nil && *req.ExpectedTotal < 0
	if fe := f.Validate(); fe != nil || negative {
		fields := make(map[string]string, len(fe)+1)
		for k, msg := range fe {
			fields[fieldNames[k]] = msg
		}
		if negative {
			fields["expectedTotal"] = "must be the shown total, a whole number of Ø, 0 or more"
		}
		return errs.Invalid("please correct the order's fields", fields)
	}
	// One order per basket: the cart is this request's until its order's lines are taken out or the
	// order refused.
	claim, err := checkout.ClaimCart(ctx, h.carts, who.cartID, key, time.Time{}, h.log)
	if errors.Is(err, checkout.ErrOrderInProgress) {
		return errs.Wrap(errs.ECONFLICT, err, checkout.OrderInProgressMessage)
	}
	if err != nil {
		return err
	}
	defer claim.Release()
	lines, err := h.carts.Lines(ctx, who.cartID)
	if err != nil {
		return fmt.Errorf("read cart: %w", err)
	}
	id, created, err := h.store.PlaceOrder(ctx, checkout.Placement{CartID: who.cartID, CustomerID: who.customerID,
		Lines: lines, Form: f, RequestHash: requestHash(f), ShownTotal: req.ExpectedTotal})
	switch {
	case errors.Is(err, checkout.ErrUnknownStore):
		return errs.Invalid(errs.Message(err), map[string]string{"storeId": "is not one of our stores"})
	case errors.Is(err, checkout.ErrEmptyCart), errors.Is(err, checkout.ErrUnknownSKU):
		// The cart's state, not the request, stands in the way.
		return errs.Wrap(errs.ECONFLICT, err, errs.Message(err))
	case err != nil:
		if code := errs.Code(err); code != errs.EINVALID && code != errs.ECONFLICT {
			claim.Unsure() // the order may stand: only a retry with its key goes on
		}
		return err
	}
	if created {
		h.log.InfoContext(ctx, "order placed", "order_id", id, "lines", len(lines), "via", "api")
	}
	o, err := h.store.Order(ctx, id)
	if err != nil {
		claim.Unsure() // the order stands: a retry with its key takes its lines out of the cart
		return err
	}
	// The order's own lines (a replay's cart may hold a new basket, which stays).
	if err := claim.Placed(id, checkout.LinesOf(o)); err != nil {
		// The order stands; its lines leave the cart on the next attempt with its key, and until
		// then the claim keeps other keys from ordering them again.
		h.log.ErrorContext(ctx, "take the order's lines out of the cart", "order_id", id, "error", err.Error())
	}
	status := fiber.StatusOK
	if created {
		status = fiber.StatusCreated
		c.Location("/v1/orders/" + id)
	} else {
		c.Set(ReplayedHeader, "true")
	}
	return c.Status(status).JSON(order(o))
}

// requestHash is the digest of what an order request asked for: the same key with another digest is
// another request (never the card number itself, only its last four digits).
func requestHash(f checkout.CheckoutForm) string {
	sum := sha256.Sum256([]byte(strings.Join([]string{f.StoreID, f.FirstName, f.LastName, f.Email,
		checkout.LastFour(f.Card)}, "\x00")))
	return hex.EncodeToString(sum[:])
}

func (h *Handler) orders(c *fiber.Ctx) error {
	limit, err := server.QueryInt(c, "limit", DefaultOrders, 1, MaxOrders)
	if err != nil {
		return err
	}
	who := callerOf(c)
	var list []checkout.Order
	if who.customerID != "" {
		list, err = h.store.OrdersOf(c.UserContext(), who.customerID, limit)
	} else {
		list, err = h.store.OrdersOfCart(c.UserContext(), who.cartID, limit)
	}
	if err != nil {
		return err
	}
	out := Orders{Orders: make([]OrderSummary, 0, len(list))}
	for _, o := range list {
		out.Orders = append(out.Orders, summary(o))
	}
	return c.JSON(out)
}

func (h *Handler) order(c *fiber.Ctx) error {
	id := c.Params("id")
	o, err := h.store.Order(c.UserContext(), id)
	if err != nil {
		return err
	}
	who := callerOf(c)
	if !o.OwnedBy(who.cartID, who.customerID) {
		return checkout.ErrOrderNotFound(id) // the same answer as for an order that does not exist
	}
	return c.JSON(order(o))
}

func summary(o checkout.Order) OrderSummary {
	return OrderSummary{ID: o.ID, Status: string(o.Status), Reason: o.Reason, Final: o.Status.Final(),
		StoreID: o.StoreID, Total: o.Total, Created: o.Created.UTC()}
}

func order(o checkout.Order) Order {
	out := Order{OrderSummary: summary(o), Updated: o.Updated.UTC(), CardLast4: o.CardLast,
		Customer: Customer{FirstName: o.Customer.FirstName, LastName: o.Customer.LastName, Email: o.Customer.Email},
		Lines:    make([]OrderLine, 0, len(o.Lines))}
	for _, l := range o.Lines {
		v := checkout.Variant{SKU: l.SKU, ProductID: l.ProductID}
		out.Lines = append(out.Lines, OrderLine{SKU: l.SKU, ProductID: l.ProductID, ProductName: l.ProductName,
			Name: l.Name, Image: l.Image, URL: v.URL(), Quantity: l.Quantity, UnitPrice: l.UnitPrice, Total: l.Total()})
	}
	return out
}

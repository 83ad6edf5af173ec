// Package api is inventory's /v1 JSON API for other services, the backends-for-frontend and tests:
//
//	GET  /v1/stock                       the stock of every sku, sorted by sku
//	GET  /v1/stock/{sku}                 one sku's stock (404 when inventory has no row of it)
//	GET  /v1/reservations/{order_id}     an order's reservation (404 when inventory never heard of it)
//	POST /v1/admin/stock/{sku}           {"quantity": 8} with "Authorization: Bearer <admin token>":
//	                                     set the stock (publishes stock.changed when it changed)
//
// Errors are RFC 9457 problem details (kit/server.Problem: "code" is the kit's error code) with the
// matching status; bodies are limited to 16 KiB.
package api

import (
	"context"
	"crypto/subtle"
	"encoding/json"
	"strings"

	"github.com/gofiber/fiber/v2"

	"github.com/inlay-dev/inlay/services/inventory"
	"github.com/inlay-dev/inlay/services/kit/errs"
	"github.com/inlay-dev/inlay/services/kit/server"
)

// Stock is a sku's stock as the API shows it.
type Stock struct {
	SKU      string `json:"sku"`
	Quantity int    `json:"quantity"`
	Version  int64  `json:"version"`
}

// Line is a reserved line.
type Line struct {
	SKU      string `json:"sku"`
	Quantity int    `json:"quantity"`
}

// Reservation is an order's reservation as the API shows it.
type Reservation struct {
	OrderID string `json:"order_id"`
	Status  string `json:"status"`
	Lines   []Line `json:"lines"`
}

// StockRequest is the body of the admin stock change.
type StockRequest struct {
	Quantity *int `json:"quantity"`
}

// Store is what the API reads and changes.
type Store interface {
	All(ctx context.Context) ([]inventory.Stock, error)
	Stock(ctx context.Context, sku string) (inventory.Stock, error)
	Set(ctx context.Context, sku string, quantity int) (inventory.Stock, error)
	Reservation(ctx context.Context, orderID string) (string, []inventory.Line, error)
}

// Handler serves the API.
type Handler struct {
	store      Store
	adminToken string
}

// New returns the API handler; adminToken guards the admin endpoints and must not be empty.
func New(store Store, adminToken string) *Handler {
	return &Handler{store: store, adminToken: adminToken}
}

// Mount adds the routes to r.
func (h *Handler) Mount(r fiber.Router) {
	v1 := r.Group("/v1", server.API(0))
	v1.Get("/stock", h.all)
	v1.Get("/stock/:sku", h.stock)
	v1.Get("/reservations/:order_id", h.reservation)
	v1.Post("/admin/stock/:sku", h.admin, h.set)
}

func (h *Handler) all(c *fiber.Ctx) error {
	all, err := h.store.All(c.UserContext())
	if err != nil {
		return err
	}
	out := make([]Stock, 0, len(all))
	for _, st := range all {
		out = append(out, Stock(st))
	}
	return c.JSON(fiber.Map{"stock": out})
}

func (h *Handler) stock(c *fiber.Ctx) error {
	st, err := h.store.Stock(c.UserContext(), c.Params("sku"))
	if err != nil {
		return err
	}
	return c.JSON(Stock(st))
}

func (h *Handler) reservation(c *fiber.Ctx) error {
	id := c.Params("order_id")
	status, lines, err := h.store.Reservation(c.UserContext(), id)
	if err != nil {
		return err
	}
	if status == "" {
		return errs.Errorf(errs.ENOTFOUND, "no reservation for order %q", id)
	}
	out := Reservation{OrderID: id, Status: status, Lines: make([]Line, 0, len(lines))}
	for _, l := range lines {
		out.Lines = append(out.Lines, Line(l))
	}
	return c.JSON(out)
}

// admin lets a request through only with the admin token as its bearer token.
func (h *Handler) admin(c *fiber.Ctx) error {
	token, ok := strings.CutPrefix(c.Get(fiber.HeaderAuthorization), "Bearer ")
	if !ok || h.adminToken == "" || subtle.ConstantTimeCompare([]byte(token), []byte(h.adminToken)) != 1 {
		c.Set(fiber.HeaderWWWAuthenticate, `Bearer realm="inventory admin"`)
		return errs.Errorf(errs.EUNAUTHORIZED, "the admin token is missing or wrong")
	}
	return c.Next()
}

func (h *Handler) set(c *fiber.Ctx) error {
	var req StockRequest
	if err := json.Unmarshal(c.Body(), &req); err != nil || req.Quantity == nil {
		return errs.Errorf(errs.EINVALID, `the body must be {"quantity": <whole number, not negative>}`)
	}
	st, err := h.store.Set(c.UserContext(), c.Params("sku"), *req.Quantity)
	if err != nil {
		return err
	}
	return c.JSON(Stock(st))
}

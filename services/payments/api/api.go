// Package api is payments' /v1 JSON API for other services and the backends-for-frontend:
//
//	GET /v1/payments/{order_id}   the order's payment (404 when it has none yet)
//
// Errors are RFC 9457 problem details, as for every team's /v1 (docs/apis.md). The answer's example
// is testdata/payment.json.
package api

import (
	"context"
	"time"

	"github.com/gofiber/fiber/v2"

	"github.com/inlay-dev/inlay/services/payments"
)

// Payment is a payment as the API shows it.
type Payment struct {
	PaymentID string    `json:"payment_id"`
	OrderID   string    `json:"order_id"`
	Status    string    `json:"status"`
	Amount    int64     `json:"amount"`
	Reason    string    `json:"reason,omitempty"`
	CardLast4 string    `json:"card_last4"`
	CreatedAt time.Time `json:"created_at"`
	UpdatedAt time.Time `json:"updated_at"`
}

// Reader reads payments.
type Reader interface {
	// Payment returns the order's payment, ENOTFOUND when it has none.
	Payment(ctx context.Context, orderID string) (payments.Payment, error)
}

// Handler serves the API.
type Handler struct {
	payments Reader
}

// New returns the API handler.
func New(r Reader) *Handler { return &Handler{payments: r} }

// Mount adds the routes to r.
func (h *Handler) Mount(r fiber.Router) {
	r.Get("/v1/payments/:order_id", h.payment)
}

func (h *Handler) payment(c *fiber.Ctx) error {
	p, err := h.payments.Payment(c.UserContext(), c.Params("order_id"))
	if err != nil {
		return err
	}
	return c.JSON(Payment{PaymentID: p.ID, OrderID: p.OrderID, Status: string(p.Status), Amount: p.Amount,
		Reason: p.Reason, CardLast4: p.CardLast4, CreatedAt: p.CreatedAt.UTC(), UpdatedAt: p.UpdatedAt.UTC()})
}

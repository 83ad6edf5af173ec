package postgres

import (
	"context"
	"errors"
	"fmt"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/inlay-dev/inlay/services/kit/errs"
	"github.com/inlay-dev/inlay/services/kit/events"
	"github.com/inlay-dev/inlay/services/payments"
	paymentsevents "github.com/inlay-dev/inlay/services/payments/events"
)

// NewID returns a new payment id (a UUIDv7).
func NewID() (string, error) {
	id, err := uuid.NewV7()
	if err != nil {
		return "", fmt.Errorf("new payment id: %w", err)
	}
	return id.String(), nil
}

// Store keeps payments. Every change commits together with its event in the outbox.
type Store struct {
	pool   *pgxpool.Pool
	outbox *events.Outbox
}

var _ paymentsevents.Store = (*Store)(nil)

// NewStore returns a Store on pool (migrated with Migrations and events.Migrate).
func NewStore(pool *pgxpool.Pool) *Store {
	return &Store{pool: pool, outbox: events.NewOutbox(paymentsevents.Source)}
}

const columns = `payment_id::text, order_id, status, amount, reason, card_last4, created_at, updated_at`

func scan(row pgx.Row) (payments.Payment, error) {
	var p payments.Payment
	var status string
	err := row.Scan(&p.ID, &p.OrderID, &status, &p.Amount, &p.Reason, &p.CardLast4, &p.CreatedAt, &p.UpdatedAt)
	p.Status = payments.Status(status)
	return p, err
}

// Record stores the first decision on an order and publishes payment.authorized (with lines) or
// payment.declined in tx. When the order already has a payment it changes nothing and returns that
// payment with created false: an order is never charged twice.
func (s *Store) Record(ctx context.Context, tx pgx.Tx, p payments.Payment, lines []payments.Line) (payments.Payment, bool, error) {
	if p.Status != payments.StatusAuthorized && p.Status != payments.StatusDeclined {
		return payments.Payment{}, false, fmt.Errorf("record payment of order %s: status %q is not a decision", p.OrderID, p.Status)
	}
	// ON CONFLICT DO NOTHING waits for a concurrent insert of the same order and then does nothing.
	stored, err := scan(tx.QueryRow(ctx, `
		INSERT INTO payments (payment_id, order_id, status, amount, reason, card_last4)
		VALUES ($1, $2, $3, $4, $5, $6)
		ON CONFLICT (order_id) DO NOTHING
		RETURNING `+columns,
		p.ID, p.OrderID, string(p.Status), p.Amount, p.Reason, p.CardLast4))
	if errors.Is(err, pgx.ErrNoRows) {
		existing, err := scan(tx.QueryRow(ctx, `SELECT `+columns+` FROM payments WHERE order_id = $1`, p.OrderID))
		if err != nil {
			return payments.Payment{}, false, fmt.Errorf("read payment of order %s: %w", p.OrderID, err)
		}
		return existing, false, nil
	}
	if err != nil {
		return payments.Payment{}, false, fmt.Errorf("record payment of order %s: %w", p.OrderID, err)
	}
	var e events.Event
	if stored.Status == payments.StatusAuthorized {
		e, err = paymentsevents.AuthorizedEvent(stored, lines)
	} else {
		e, err = paymentsevents.DeclinedEvent(stored)
	}
	if err != nil {
		return payments.Payment{}, false, err
	}
	if err := s.outbox.Add(ctx, tx, e); err != nil {
		return payments.Payment{}, false, fmt.Errorf("publish %s: %w", e.Type, err)
	}
	return stored, true, nil
}

// Refund refunds the order's authorized payment with reason and publishes payment.refunded in tx.
// A declined or already refunded payment is left alone (refunded false); paymentsevents.ErrNoPayment
// when the order has no payment.
func (s *Store) Refund(ctx context.Context, tx pgx.Tx, orderID, reason string) (payments.Payment, bool, error) {
	p, err := scan(tx.QueryRow(ctx, `
		UPDATE payments SET status = 'refunded', reason = $2, refunded_at = now(), updated_at = now()
		WHERE order_id = $1 AND status = 'authorized'
		RETURNING `+columns, orderID, reason))
	if errors.Is(err, pgx.ErrNoRows) {
		existing, err := scan(tx.QueryRow(ctx, `SELECT `+columns+` FROM payments WHERE order_id = $1`, orderID))
		if errors.Is(err, pgx.ErrNoRows) {
			return payments.Payment{}, false, fmt.Errorf("refund order %s: %w", orderID, paymentsevents.ErrNoPayment)
		}
		if err != nil {
			return payments.Payment{}, false, fmt.Errorf("read payment of order %s: %w", orderID, err)
		}
		return existing, false, nil
	}
	if err != nil {
		return payments.Payment{}, false, fmt.Errorf("refund order %s: %w", orderID, err)
	}
	e, err := paymentsevents.RefundedEvent(p)
	if err != nil {
		return payments.Payment{}, false, err
	}
	if err := s.outbox.Add(ctx, tx, e); err != nil {
		return payments.Payment{}, false, fmt.Errorf("publish %s: %w", e.Type, err)
	}
	return p, true, nil
}

// Payment returns the payment of an order; ENOTFOUND when it has none.
func (s *Store) Payment(ctx context.Context, orderID string) (payments.Payment, error) {
	p, err := scan(s.pool.QueryRow(ctx, `SELECT `+columns+` FROM payments WHERE order_id = $1`, orderID))
	if errors.Is(err, pgx.ErrNoRows) {
		return payments.Payment{}, errs.Errorf(errs.ENOTFOUND, "no payment for order %q", orderID)
	}
	if err != nil {
		return payments.Payment{}, fmt.Errorf("read payment of order %s: %w", orderID, err)
	}
	return p, nil
}

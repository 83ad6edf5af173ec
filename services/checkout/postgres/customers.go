package postgres

import (
	"context"
	"errors"
	"fmt"

	"github.com/jackc/pgx/v5"

	"github.com/inlay-dev/inlay/services/checkout"
)

// ApplyCustomer writes checkout's copy of an account (from accounts' events) in tx unless the copy
// already holds this version or a newer one. With address false, the stored address is kept (the
// registration event carries none).
func (s *Store) ApplyCustomer(ctx context.Context, tx pgx.Tx, c checkout.CustomerCopy, address bool, version int64) error {
	a := c.Address
	_, err := tx.Exec(ctx, `INSERT INTO customers AS c (id, email, name, street, city, postcode, country, version)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
		ON CONFLICT (id) DO UPDATE SET email = EXCLUDED.email, name = EXCLUDED.name,
			street = CASE WHEN $9 THEN EXCLUDED.street ELSE c.street END,
			city = CASE WHEN $9 THEN EXCLUDED.city ELSE c.city END,
			postcode = CASE WHEN $9 THEN EXCLUDED.postcode ELSE c.postcode END,
			country = CASE WHEN $9 THEN EXCLUDED.country ELSE c.country END,
			version = EXCLUDED.version
		WHERE c.version < EXCLUDED.version`,
		c.ID, c.Email, c.Name, a.Street, a.City, a.Postcode, a.Country, version, address)
	if err != nil {
		return fmt.Errorf("apply customer %s: %w", c.ID, err)
	}
	// When the account was made, whichever event brings it (a newer address.changed may have come
	// first, and the version guard above would drop the registration's).
	if !c.RegisteredAt.IsZero() {
		if _, err := tx.Exec(ctx, `UPDATE customers SET registered_at = $2 WHERE id = $1 AND registered_at IS NULL`,
			c.ID, c.RegisteredAt); err != nil {
			return fmt.Errorf("apply customer %s: registered at: %w", c.ID, err)
		}
	}
	// A guest cart the customer signed in with before this copy existed: its orders are the
	// customer's now (adoptable's rules).
	if _, err := tx.Exec(ctx, `UPDATE orders o SET customer_id = $1
		FROM adopted_carts a, customers c WHERE a.customer_id = $1 AND o.cart_id = a.cart_id AND c.id = $1
			AND `+adoptable, c.ID); err != nil {
		return fmt.Errorf("apply customer %s: its guest orders: %w", c.ID, err)
	}
	return nil
}

// adoptable is when guest order o joins customer copy c: placed as a guest with the account's e-mail
// after the account was made. An account made afterwards with that e-mail proves nothing (addresses
// are not verified): on a shared browser, anyone could take a stranger's guest order by registering
// their address.
const adoptable = `o.customer_id = '' AND c.email <> '' AND lower(o.email) = lower(c.email)
	AND c.registered_at IS NOT NULL AND o.created_at > c.registered_at`

// AdoptGuestOrders records that customer signed in with guest cart cartID (its lines merged into
// theirs) and makes that cart's guest orders placed with the customer's e-mail, after the account
// was made, theirs (adoptable): a customer who ordered without signing in, then signed in, finds the
// order in their history and on its page. Only this browser's guest cart, only with the account's
// e-mail, only an account older than the order: another person's guest order on a shared browser
// stays theirs. Without checkout's copy of the account yet, ApplyCustomer does it when it arrives.
func (s *Store) AdoptGuestOrders(ctx context.Context, cartID, customerID string) error {
	if cartID == "" || customerID == "" {
		return nil
	}
	b := &pgx.Batch{}
	b.Queue(`INSERT INTO adopted_carts (cart_id, customer_id) VALUES ($1, $2) ON CONFLICT DO NOTHING`, cartID, customerID)
	b.Queue(`UPDATE orders o SET customer_id = $2 FROM customers c
		WHERE c.id = $2 AND o.cart_id = $1 AND `+adoptable, cartID, customerID)
	if err := s.db.SendBatch(ctx, b).Close(); err != nil {
		return fmt.Errorf("adopt guest orders of cart %s: %w", cartID, err)
	}
	return nil
}

// CustomerCopy returns checkout's copy of the account id; ok is false when checkout has none (yet).
func (s *Store) CustomerCopy(ctx context.Context, id string) (checkout.CustomerCopy, bool, error) {
	var c checkout.CustomerCopy
	err := s.db.QueryRow(ctx, `SELECT id, email, name, street, city, postcode, country FROM customers WHERE id = $1`, id).
		Scan(&c.ID, &c.Email, &c.Name, &c.Address.Street, &c.Address.City, &c.Address.Postcode, &c.Address.Country)
	if errors.Is(err, pgx.ErrNoRows) {
		return checkout.CustomerCopy{}, false, nil
	}
	if err != nil {
		return checkout.CustomerCopy{}, false, fmt.Errorf("read customer %s: %w", id, err)
	}
	return c, true, nil
}

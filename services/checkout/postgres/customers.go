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

// Package postgres is the accounts service's PostgreSQL adapter: its migrations (goose SQL files,
// applied at start by services/kit) and the customer store, whose every change commits together with
// its event in the outbox (services/kit/events).
package postgres

import (
	"context"
	"errors"
	"fmt"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/inlay-dev/inlay/services/accounts"
	accountsevents "github.com/inlay-dev/inlay/services/accounts/events"
	"github.com/inlay-dev/inlay/services/kit/events"
)

// Customers keeps customers and their addresses.
type Customers struct {
	pool   *pgxpool.Pool
	outbox *events.Outbox
}

var _ accounts.Customers = (*Customers)(nil)

// NewCustomers returns the store on pool (migrated with Migrations and events.Migrate).
func NewCustomers(pool *pgxpool.Pool) *Customers {
	return &Customers{pool: pool, outbox: events.NewOutbox(accountsevents.Source)}
}

const customerColumns = `id::text, email, name, password_hash, street, city, postcode, country, created_at, version`

type row interface{ Scan(dest ...any) error }

func scanCustomer(r row) (accounts.Customer, int64, error) {
	var c accounts.Customer
	var version int64
	err := r.Scan(&c.ID, &c.Email, &c.Name, &c.PasswordHash, &c.Address.Street, &c.Address.City,
		&c.Address.Postcode, &c.Address.Country, &c.CreatedAt, &version)
	if errors.Is(err, pgx.ErrNoRows) {
		return accounts.Customer{}, 0, accounts.ErrCustomerNotFound
	}
	c.CreatedAt = c.CreatedAt.UTC()
	return c, version, err
}

// Customer returns the customer with id, or accounts.ErrCustomerNotFound.
func (s *Customers) Customer(ctx context.Context, id string) (accounts.Customer, error) {
	if !accounts.ValidID(id) {
		return accounts.Customer{}, accounts.ErrCustomerNotFound
	}
	c, _, err := scanCustomer(s.pool.QueryRow(ctx, `SELECT `+customerColumns+` FROM customers WHERE id = $1`, id))
	if err != nil {
		return accounts.Customer{}, fmt.Errorf("customer %s: %w", id, err)
	}
	return c, nil
}

// CustomerByEmail returns the customer with the e-mail (compared without case), or
// accounts.ErrCustomerNotFound.
func (s *Customers) CustomerByEmail(ctx context.Context, email string) (accounts.Customer, error) {
	c, _, err := scanCustomer(s.pool.QueryRow(ctx,
		`SELECT `+customerColumns+` FROM customers WHERE lower(email) = lower($1)`, email))
	if err != nil {
		return accounts.Customer{}, fmt.Errorf("customer by e-mail: %w", err)
	}
	return c, nil
}

// Create stores c with its customer.registered event (and address.changed when c has an address);
// accounts.ErrEmailTaken when a customer has the e-mail in any case.
func (s *Customers) Create(ctx context.Context, c accounts.Customer) error {
	err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		a := c.Address
		if _, err := tx.Exec(ctx, `INSERT INTO customers (id, email, name, password_hash, street, city, postcode, country, created_at, version)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, 1)`,
			c.ID, c.Email, c.Name, c.PasswordHash, a.Street, a.City, a.Postcode, a.Country, c.CreatedAt); err != nil {
			var pe *pgconn.PgError
			if errors.As(err, &pe) && pe.Code == "23505" && pe.ConstraintName == "customers_email_key" {
				return accounts.ErrEmailTaken
			}
			return err
		}
		e, err := accountsevents.CustomerRegisteredEvent(c, 1)
		if err != nil {
			return err
		}
		if err := s.outbox.Add(ctx, tx, e); err != nil {
			return err
		}
		if !a.Empty() {
			e, err := accountsevents.AddressChangedEvent(c, 1)
			if err != nil {
				return err
			}
			return s.outbox.Add(ctx, tx, e)
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("create customer %s: %w", c.ID, err)
	}
	return nil
}

// Update changes the customer id with fn inside one transaction that holds the row's lock, then
// writes the new state and, when the address changed, its address.changed event. When fn changes
// nothing, nothing is written. The id, e-mail and creation time cannot change.
func (s *Customers) Update(ctx context.Context, id string, fn func(c *accounts.Customer) error) (accounts.Customer, error) {
	if !accounts.ValidID(id) {
		return accounts.Customer{}, accounts.ErrCustomerNotFound
	}
	var next accounts.Customer
	err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		prev, version, err := scanCustomer(tx.QueryRow(ctx, `SELECT `+customerColumns+` FROM customers WHERE id = $1 FOR UPDATE`, id))
		if err != nil {
			return err
		}
		next = prev
		if err := fn(&next); err != nil {
			return err
		}
		if next.ID != prev.ID || next.Email != prev.Email || !next.CreatedAt.Equal(prev.CreatedAt) {
			return &accounts.Error{Code: accounts.Invalid, Message: "The id, e-mail and creation time of a customer cannot change."}
		}
		if next == prev {
			return nil
		}
		version++
		a := next.Address
		if _, err := tx.Exec(ctx, `UPDATE customers SET name = $2, password_hash = $3, street = $4, city = $5,
			postcode = $6, country = $7, version = $8, updated_at = now() WHERE id = $1`,
			id, next.Name, next.PasswordHash, a.Street, a.City, a.Postcode, a.Country, version); err != nil {
			return err
		}
		if next.Address != prev.Address {
			e, err := accountsevents.AddressChangedEvent(next, version)
			if err != nil {
				return err
			}
			return s.outbox.Add(ctx, tx, e)
		}
		return nil
	})
	if err != nil {
		return accounts.Customer{}, fmt.Errorf("update customer %s: %w", id, err)
	}
	return next, nil
}

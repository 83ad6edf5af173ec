package postgres_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/inlay-dev/inlay/services/accounts"
	accountsevents "github.com/inlay-dev/inlay/services/accounts/events"
	"github.com/inlay-dev/inlay/services/accounts/postgres"
	"github.com/inlay-dev/inlay/services/kit/events"
	"github.com/inlay-dev/inlay/services/kit/kittest"
)

func newStore(t *testing.T) (*postgres.Customers, *pgxpool.Pool) {
	t.Helper()
	pool := kittest.Postgres(t, postgres.Migrations())
	if err := events.Migrate(context.Background(), pool); err != nil {
		t.Fatal(err)
	}
	return postgres.NewCustomers(pool), pool
}

func outbox(t *testing.T, pool *pgxpool.Pool) []string {
	t.Helper()
	rows, err := pool.Query(context.Background(), `SELECT type FROM inlay_outbox ORDER BY id`)
	if err != nil {
		t.Fatal(err)
	}
	var types []string
	for rows.Next() {
		var s string
		if err := rows.Scan(&s); err != nil {
			t.Fatal(err)
		}
		types = append(types, s)
	}
	return types
}

func TestCustomers(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s, pool := newStore(t)
	c := accounts.Customer{ID: accounts.NewID(), Email: "ada@example.com", Name: "Ada", PasswordHash: "h",
		CreatedAt: time.Now().UTC().Truncate(time.Microsecond)}
	if err := s.Create(ctx, c); err != nil {
		t.Fatal(err)
	}
	dup := c
	dup.ID, dup.Email = accounts.NewID(), "ADA@example.com"
	if err := s.Create(ctx, dup); !errors.Is(err, accounts.ErrEmailTaken) {
		t.Errorf("duplicate e-mail in another case: %v, want ErrEmailTaken", err)
	}
	got, err := s.CustomerByEmail(ctx, "Ada@Example.com")
	if err != nil || got.ID != c.ID || got.Name != "Ada" || !got.CreatedAt.Equal(c.CreatedAt) {
		t.Fatalf("CustomerByEmail = %+v, %v", got, err)
	}
	if _, err := s.Customer(ctx, accounts.NewID()); !errors.Is(err, accounts.ErrCustomerNotFound) {
		t.Errorf("unknown id: %v", err)
	}
	if _, err := s.Customer(ctx, "not-a-uuid"); !errors.Is(err, accounts.ErrCustomerNotFound) {
		t.Errorf("malformed id: %v", err)
	}

	addr := accounts.Address{Street: "Main Street 1", City: "Springfield", Postcode: "12345", Country: "US"}
	up, err := s.Update(ctx, c.ID, func(c *accounts.Customer) error { c.Address = addr; return nil })
	if err != nil || up.Address != addr {
		t.Fatalf("Update = %+v, %v", up, err)
	}
	// No change: no event.
	if _, err := s.Update(ctx, c.ID, func(c *accounts.Customer) error { return nil }); err != nil {
		t.Fatal(err)
	}
	// A failing fn changes nothing.
	boom := errors.New("boom")
	if _, err := s.Update(ctx, c.ID, func(c *accounts.Customer) error { c.Address.City = "X"; return boom }); !errors.Is(err, boom) {
		t.Fatalf("fn error: %v", err)
	}
	if _, err := s.Update(ctx, c.ID, func(c *accounts.Customer) error { c.Email = "x@example.com"; return nil }); accounts.ErrorCode(err) != accounts.Invalid {
		t.Errorf("e-mail change: %v", err)
	}
	got, err = s.Customer(ctx, c.ID)
	if err != nil || got.Address != addr || got.Email != "ada@example.com" {
		t.Fatalf("after updates: %+v, %v", got, err)
	}
	want := []string{accountsevents.CustomerRegisteredType, accountsevents.AddressChangedType}
	if types := outbox(t, pool); len(types) != 2 || types[0] != want[0] || types[1] != want[1] {
		t.Errorf("outbox %v, want %v", types, want)
	}
	var data []byte
	if err := pool.QueryRow(ctx, `SELECT body FROM inlay_outbox WHERE type = $1`, accountsevents.AddressChangedType).Scan(&data); err != nil {
		t.Fatal(err)
	}
	e, err := events.Decode(data)
	if err != nil {
		t.Fatal(err)
	}
	var ac accountsevents.AddressChanged
	if err := e.DecodeData(&ac); err != nil || ac.Address.City != "Springfield" || ac.Version != 2 || ac.Email != "ada@example.com" || e.Subject != c.ID {
		t.Errorf("address.changed %+v (%v)", ac, err)
	}
}

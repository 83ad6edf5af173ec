package postgres

import (
	"context"
	"errors"
	"fmt"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/inlay-dev/inlay/services/checkout"
	"github.com/inlay-dev/inlay/services/kit/events"
	"github.com/inlay-dev/inlay/services/kit/server"
)

// Source is the events' source, and the event types checkout publishes (the saga contract agreed
// with inventory and payments).
const (
	Source         = "checkout"
	OrderPlaced    = "checkout.order.placed.v1"
	OrderConfirmed = "checkout.order.confirmed.v1"
	OrderCancelled = "checkout.order.cancelled.v1"
)

// EventLine is an order line in checkout's events.
type EventLine struct {
	SKU       string `json:"sku"`
	Quantity  int    `json:"quantity"`
	UnitPrice int64  `json:"unit_price"`
}

// Card is the card in order.placed. The simulated provider takes test card numbers; a real provider
// would receive a token from its own client-side form instead, and no card number would ever pass
// through checkout.
type Card struct {
	Number string `json:"number"`
}

// PlacedData is the payload of checkout.order.placed.v1.
type PlacedData struct {
	OrderID string      `json:"order_id"`
	Lines   []EventLine `json:"lines"`
	Total   int64       `json:"total"`
	Card    Card        `json:"card"`
}

// ConfirmedData is the payload of checkout.order.confirmed.v1.
type ConfirmedData struct {
	OrderID string      `json:"order_id"`
	Lines   []EventLine `json:"lines"`
}

// CancelledData is the payload of checkout.order.cancelled.v1.
type CancelledData struct {
	OrderID string      `json:"order_id"`
	Reason  string      `json:"reason"`
	Lines   []EventLine `json:"lines"`
}

// Store is checkout's PostgreSQL store: variants, stock and orders, with the outbox.
type Store struct {
	db  *pgxpool.Pool
	out *events.Outbox
}

// NewStore returns the store on db (migrated, with the events tables of events.Migrate).
func NewStore(db *pgxpool.Pool) *Store { return &Store{db: db, out: events.NewOutbox(Source)} }

// ProductChange is a product's state as decide published it: its name and, when Variants is not
// nil, its complete variant list (variants missing from it are removed).
type ProductChange struct {
	ID       string
	Name     string
	Variants []checkout.Variant
}

// ApplyProduct writes a product's variants at version inside tx; rows written by a newer version are
// left alone, so a late or repeated event changes nothing.
func (s *Store) ApplyProduct(ctx context.Context, tx pgx.Tx, p ProductChange, version int64) error {
	for _, v := range p.Variants {
		_, err := tx.Exec(ctx, `
			INSERT INTO variants (sku, product_id, product_name, name, color, image, price, version)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
			ON CONFLICT (sku) DO UPDATE SET product_id = EXCLUDED.product_id,
				product_name = EXCLUDED.product_name, name = EXCLUDED.name, color = EXCLUDED.color,
				image = EXCLUDED.image, price = EXCLUDED.price, version = EXCLUDED.version, updated_at = now()
			WHERE variants.version < EXCLUDED.version`,
			v.SKU, p.ID, p.Name, v.Name, v.Color, v.Image, v.Price, version)
		if err != nil {
			return fmt.Errorf("write variant %s: %w", v.SKU, err)
		}
	}
	if p.Variants != nil {
		skus := make([]string, len(p.Variants))
		for i, v := range p.Variants {
			skus[i] = v.SKU
		}
		if _, err := tx.Exec(ctx, `DELETE FROM variants WHERE product_id = $1 AND sku <> ALL($2) AND version < $3`,
			p.ID, skus, version); err != nil {
			return fmt.Errorf("remove variants of %s: %w", p.ID, err)
		}
	} else {
		// Only the name changed: rename the product's variants.
		if _, err := tx.Exec(ctx, `UPDATE variants SET product_name = $2, version = $3, updated_at = now()
			WHERE product_id = $1 AND version < $3`, p.ID, p.Name, version); err != nil {
			return fmt.Errorf("rename product %s: %w", p.ID, err)
		}
	}
	return nil
}

// ApplyPrice writes a variant's price at version inside tx; older versions are ignored.
func (s *Store) ApplyPrice(ctx context.Context, tx pgx.Tx, sku string, price, version int64) error {
	if _, err := tx.Exec(ctx, `UPDATE variants SET price = $2, version = $3, updated_at = now()
		WHERE sku = $1 AND version < $3`, sku, price, version); err != nil {
		return fmt.Errorf("write price of %s: %w", sku, err)
	}
	return nil
}

// ApplyStock writes a sku's available quantity inside tx.
func (s *Store) ApplyStock(ctx context.Context, tx pgx.Tx, sku string, quantity int) error {
	if _, err := tx.Exec(ctx, `INSERT INTO stock (sku, quantity) VALUES ($1, $2)
		ON CONFLICT (sku) DO UPDATE SET quantity = EXCLUDED.quantity, updated_at = now()`, sku, quantity); err != nil {
		return fmt.Errorf("write stock of %s: %w", sku, err)
	}
	return nil
}

const itemColumns = `v.sku, v.product_id, v.product_name, v.name, v.color, v.image, v.price, COALESCE(s.quantity, 0)`

func scanItem(row pgx.Row) (checkout.Item, error) {
	var it checkout.Item
	err := row.Scan(&it.SKU, &it.ProductID, &it.ProductName, &it.Name, &it.Color, &it.Image, &it.Price, &it.Stock)
	return it, err
}

// Item returns a variant with its stock; an ENOTFOUND error wrapping checkout.ErrUnknownSKU when
// checkout does not know the sku.
func (s *Store) Item(ctx context.Context, sku string) (checkout.Item, error) {
	it, err := scanItem(s.db.QueryRow(ctx, `SELECT `+itemColumns+` FROM variants v LEFT JOIN stock s USING (sku)
		WHERE v.sku = $1`, sku))
	if errors.Is(err, pgx.ErrNoRows) {
		return it, server.Wrap(server.ENOTFOUND, checkout.ErrUnknownSKU, fmt.Sprintf("tractor %q does not exist", sku))
	}
	if err != nil {
		return it, fmt.Errorf("read variant %s: %w", sku, err)
	}
	return it, nil
}

// Items returns the variants with their stock for skus, by sku; unknown skus are missing.
func (s *Store) Items(ctx context.Context, skus []string) (map[string]checkout.Item, error) {
	return items(ctx, s.db, skus)
}

type querier interface {
	Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error)
}

func items(ctx context.Context, q querier, skus []string) (map[string]checkout.Item, error) {
	if len(skus) == 0 {
		return map[string]checkout.Item{}, nil
	}
	rows, err := q.Query(ctx, itemsSQL, skus)
	if err != nil {
		return nil, fmt.Errorf("read variants: %w", err)
	}
	return collectItems(rows, len(skus))
}

// itemsSQL reads the variants (with their stock) of the skus in $1.
const itemsSQL = `SELECT ` + itemColumns + ` FROM variants v LEFT JOIN stock s USING (sku) WHERE v.sku = ANY($1)`

func collectItems(rows pgx.Rows, n int) (map[string]checkout.Item, error) {
	defer rows.Close()
	out := make(map[string]checkout.Item, n)
	for rows.Next() {
		it, err := scanItem(rows)
		if err != nil {
			return nil, fmt.Errorf("read variants: %w", err)
		}
		out[it.SKU] = it
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("read variants: %w", err)
	}
	return out, nil
}

// Place is what placing an order needs: the cart's lines and the validated form.
type Place struct {
	CartID     string
	CustomerID string
	Lines      []checkout.CartLine
	Form       checkout.CheckoutForm // normalized and valid
}

// ErrEmptyCart is returned by PlaceOrder for a cart without lines.
var ErrEmptyCart = errors.New("the basket is empty")

// LineError says a cart line cannot be ordered (unknown sku, not enough stock).
type LineError struct {
	SKU    string
	Reason error
	Title  string
}

func (e *LineError) Error() string {
	if e.Title != "" {
		return e.Title + ": " + e.Reason.Error()
	}
	return e.SKU + ": " + e.Reason.Error()
}

func (e *LineError) Unwrap() error { return e.Reason }

// PlaceOrder creates the pending order with snapshots of its lines (current prices from checkout's
// variants), customer and store, and its order.placed event, in one transaction. An order placed
// before with the same idempotency key is returned instead (created=false): the same form posted
// twice makes one order. A key used by another cart is a conflict.
func (s *Store) PlaceOrder(ctx context.Context, p Place) (id string, created bool, err error) {
	key := p.Form.IdempotencyKey
	// Two round trips to PostgreSQL, whatever its latency: one batch reads an order already placed
	// with this form and the cart's variants; one batch (one implicit transaction) writes the order,
	// its lines and its event. A duplicate key (a concurrent post of the same form) fails the second
	// batch as a whole.
	skus := make([]string, len(p.Lines))
	for i, l := range p.Lines {
		skus[i] = l.SKU
	}
	var prior, priorCart string
	var known map[string]checkout.Item
	read := &pgx.Batch{}
	read.Queue(`SELECT id::text, cart_id FROM orders WHERE idempotency_key = $1`, key).QueryRow(func(row pgx.Row) error {
		if err := row.Scan(&prior, &priorCart); err != nil && !errors.Is(err, pgx.ErrNoRows) {
			return fmt.Errorf("find order by idempotency key: %w", err)
		}
		return nil
	})
	read.Queue(itemsSQL, skus).Query(func(rows pgx.Rows) error {
		var err error
		known, err = collectItems(rows, len(skus))
		return err
	})
	if err := s.db.SendBatch(ctx, read).Close(); err != nil {
		return "", false, fmt.Errorf("place order: %w", err)
	}
	if prior != "" {
		if priorCart != p.CartID {
			return "", false, server.Errorf(server.ECONFLICT, "this form was already used; please reload the checkout page")
		}
		return prior, false, nil
	}
	if len(p.Lines) == 0 {
		return "", false, server.Wrap(server.EINVALID, ErrEmptyCart, "Your basket is empty.")
	}
	uid, err := uuid.NewV7()
	if err != nil {
		return "", false, fmt.Errorf("order id: %w", err)
	}
	id = uid.String()
	lines := make([]checkout.OrderLine, 0, len(p.Lines))
	evLines := make([]EventLine, 0, len(p.Lines))
	var total int64
	for _, l := range p.Lines {
		it, ok := known[l.SKU]
		if !ok {
			le := &LineError{SKU: l.SKU, Reason: checkout.ErrUnknownSKU}
			return "", false, server.Wrap(server.EINVALID, le, le.Error())
		}
		if it.Stock < l.Quantity {
			le := &LineError{SKU: l.SKU, Title: it.Title(), Reason: checkout.ErrOutOfStock}
			return "", false, server.Wrap(server.ECONFLICT, le, le.Error())
		}
		ol := checkout.OrderLine{SKU: it.SKU, ProductID: it.ProductID, ProductName: it.ProductName, Name: it.Name,
			Image: it.Image, Quantity: l.Quantity, UnitPrice: it.Price}
		lines = append(lines, ol)
		evLines = append(evLines, EventLine{SKU: it.SKU, Quantity: l.Quantity, UnitPrice: it.Price})
		total += ol.Total()
	}
	f := p.Form
	write := &pgx.Batch{}
	write.Queue(`INSERT INTO orders (id, status, cart_id, customer_id, first_name, last_name, email,
			store_id, card_last4, total, idempotency_key)
		VALUES ($1, 'pending', $2, $3, $4, $5, $6, $7, $8, $9, $10)`,
		id, p.CartID, p.CustomerID, f.FirstName, f.LastName, f.Email, f.StoreID, checkout.LastFour(f.Card), total, key)
	for i, l := range lines {
		write.Queue(`INSERT INTO order_lines (order_id, position, sku, product_id, product_name, name,
				image, quantity, unit_price) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)`,
			id, i, l.SKU, l.ProductID, l.ProductName, l.Name, l.Image, l.Quantity, l.UnitPrice)
	}
	e, err := events.New(Source, OrderPlaced, id, PlacedData{OrderID: id, Lines: evLines, Total: total,
		Card: Card{Number: f.Card}})
	if err != nil {
		return "", false, err
	}
	if err := s.out.Queue(ctx, write, e); err != nil {
		return "", false, err
	}
	err = s.db.SendBatch(ctx, write).Close()
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) && pgErr.Code == "23505" && pgErr.ConstraintName == "orders_idempotency_key" {
		// A concurrent request with the same key won.
		id, ok, err := s.orderByKey(ctx, key, p.CartID)
		if err == nil && !ok {
			err = fmt.Errorf("order with idempotency key %s vanished", key)
		}
		return id, false, err
	}
	if err != nil {
		return "", false, fmt.Errorf("place order: %w", err)
	}
	return id, true, nil
}

func (s *Store) orderByKey(ctx context.Context, key, cartID string) (string, bool, error) {
	var id, cart string
	err := s.db.QueryRow(ctx, `SELECT id::text, cart_id FROM orders WHERE idempotency_key = $1`, key).Scan(&id, &cart)
	if errors.Is(err, pgx.ErrNoRows) {
		return "", false, nil
	}
	if err != nil {
		return "", false, fmt.Errorf("find order by idempotency key: %w", err)
	}
	if cart != cartID {
		return "", false, server.Errorf(server.ECONFLICT, "this form was already used; please reload the checkout page")
	}
	return id, true, nil
}

// Order returns an order with its lines; ErrOrderNotFound when it does not exist.
func (s *Store) Order(ctx context.Context, id string) (checkout.Order, error) {
	var o checkout.Order
	if _, err := uuid.Parse(id); err != nil {
		return o, checkout.ErrOrderNotFound(id)
	}
	err := s.db.QueryRow(ctx, `SELECT id::text, cart_id, status, reason, customer_id, first_name, last_name, email,
			store_id, card_last4, total, created_at, updated_at FROM orders WHERE id = $1`, id).
		Scan(&o.ID, &o.CartID, &o.Status, &o.Reason, &o.Customer.ID, &o.Customer.FirstName, &o.Customer.LastName,
			&o.Customer.Email, &o.StoreID, &o.CardLast, &o.Total, &o.Created, &o.Updated)
	if errors.Is(err, pgx.ErrNoRows) {
		return o, checkout.ErrOrderNotFound(id)
	}
	if err != nil {
		return o, fmt.Errorf("read order %s: %w", id, err)
	}
	rows, err := s.db.Query(ctx, `SELECT sku, product_id, product_name, name, image, quantity, unit_price
		FROM order_lines WHERE order_id = $1 ORDER BY position`, id)
	if err != nil {
		return o, fmt.Errorf("read order lines %s: %w", id, err)
	}
	o.Lines, err = pgx.CollectRows(rows, func(r pgx.CollectableRow) (checkout.OrderLine, error) {
		var l checkout.OrderLine
		err := r.Scan(&l.SKU, &l.ProductID, &l.ProductName, &l.Name, &l.Image, &l.Quantity, &l.UnitPrice)
		return l, err
	})
	if err != nil {
		return o, fmt.Errorf("read order lines %s: %w", id, err)
	}
	return o, nil
}

// OrderStatus returns an order's cart, status and reason.
func (s *Store) OrderStatus(ctx context.Context, id string) (cartID string, st checkout.Status, reason string, err error) {
	if _, err := uuid.Parse(id); err != nil {
		return "", "", "", checkout.ErrOrderNotFound(id)
	}
	err = s.db.QueryRow(ctx, `SELECT cart_id, status, reason FROM orders WHERE id = $1`, id).Scan(&cartID, &st, &reason)
	if errors.Is(err, pgx.ErrNoRows) {
		return "", "", "", checkout.ErrOrderNotFound(id)
	}
	if err != nil {
		return "", "", "", fmt.Errorf("read order %s: %w", id, err)
	}
	return cartID, st, reason, nil
}

// ErrUnknownOrder is returned (wrapped) by Confirm and Cancel for an order checkout does not have.
var ErrUnknownOrder = errors.New("unknown order")

// Confirm moves order id to confirmed inside tx and adds order.confirmed. An order already
// confirmed is left alone (changed=false); any other state is checkout.ErrIllegalTransition.
func (s *Store) Confirm(ctx context.Context, tx pgx.Tx, id string) (changed bool, err error) {
	return s.transition(ctx, tx, id, checkout.Confirmed, "")
}

// Cancel moves order id to cancelled with reason inside tx and adds order.cancelled. An order
// already cancelled is left alone (changed=false, its first reason kept); a confirmed one is
// checkout.ErrIllegalTransition.
func (s *Store) Cancel(ctx context.Context, tx pgx.Tx, id, reason string) (changed bool, err error) {
	return s.transition(ctx, tx, id, checkout.Cancelled, reason)
}

func (s *Store) transition(ctx context.Context, tx pgx.Tx, id string, to checkout.Status, reason string) (bool, error) {
	if _, err := uuid.Parse(id); err != nil {
		return false, fmt.Errorf("order %q: %w", id, ErrUnknownOrder)
	}
	var from checkout.Status
	err := tx.QueryRow(ctx, `SELECT status FROM orders WHERE id = $1 FOR UPDATE`, id).Scan(&from)
	if errors.Is(err, pgx.ErrNoRows) {
		return false, fmt.Errorf("order %s: %w", id, ErrUnknownOrder)
	}
	if err != nil {
		return false, fmt.Errorf("lock order %s: %w", id, err)
	}
	changed, err := checkout.Transition(from, to)
	if err != nil || !changed {
		return false, err
	}
	if _, err := tx.Exec(ctx, `UPDATE orders SET status = $2, reason = $3, updated_at = now() WHERE id = $1`,
		id, to, reason); err != nil {
		return false, fmt.Errorf("update order %s: %w", id, err)
	}
	rows, err := tx.Query(ctx, `SELECT sku, quantity, unit_price FROM order_lines WHERE order_id = $1 ORDER BY position`, id)
	if err != nil {
		return false, fmt.Errorf("read order lines %s: %w", id, err)
	}
	lines, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (EventLine, error) {
		var l EventLine
		err := r.Scan(&l.SKU, &l.Quantity, &l.UnitPrice)
		return l, err
	})
	if err != nil {
		return false, fmt.Errorf("read order lines %s: %w", id, err)
	}
	var e events.Event
	if to == checkout.Confirmed {
		e, err = events.New(Source, OrderConfirmed, id, ConfirmedData{OrderID: id, Lines: lines})
	} else {
		e, err = events.New(Source, OrderCancelled, id, CancelledData{OrderID: id, Reason: reason, Lines: lines})
	}
	if err != nil {
		return false, err
	}
	if err := s.out.Add(ctx, tx, e); err != nil {
		return false, err
	}
	return true, nil
}

// OrdersOf returns a customer's latest orders (at most limit, newest first), without their lines.
func (s *Store) OrdersOf(ctx context.Context, customerID string, limit int) ([]checkout.Order, error) {
	if customerID == "" {
		return nil, nil
	}
	rows, err := s.db.Query(ctx, `SELECT id::text, status, reason, store_id, total, created_at FROM orders
		WHERE customer_id = $1 ORDER BY created_at DESC LIMIT $2`, customerID, limit)
	if err != nil {
		return nil, fmt.Errorf("read orders of customer: %w", err)
	}
	orders, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (checkout.Order, error) {
		o := checkout.Order{Customer: checkout.Customer{ID: customerID}}
		err := r.Scan(&o.ID, &o.Status, &o.Reason, &o.StoreID, &o.Total, &o.Created)
		return o, err
	})
	if err != nil {
		return nil, fmt.Errorf("read orders of customer: %w", err)
	}
	return orders, nil
}

package postgres

import (
	"context"
	"errors"
	"fmt"
	"slices"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/inlay-dev/inlay/services/checkout"
	checkoutevents "github.com/inlay-dev/inlay/services/checkout/events"
	"github.com/inlay-dev/inlay/services/kit/errs"
	kitevents "github.com/inlay-dev/inlay/services/kit/events"
)

// Store is checkout's PostgreSQL store: variants, stock and orders, with the outbox.
type Store struct {
	db  *pgxpool.Pool
	out *kitevents.Outbox
}

// NewStore returns the store on db (migrated, with the events tables of events.Migrate).
func NewStore(db *pgxpool.Pool) *Store {
	return &Store{db: db, out: kitevents.NewOutbox(checkoutevents.Source)}
}

// ApplyProduct writes a product's variants at version inside tx; rows written by a newer version are
// left alone, so a late or repeated event changes nothing.
func (s *Store) ApplyProduct(ctx context.Context, tx pgx.Tx, p checkout.ProductChange, version int64) error {
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

// ApplyStore writes one of explore's stores at version inside tx; a row written by a newer version is
// left alone, so a late or repeated event changes nothing.
func (s *Store) ApplyStore(ctx context.Context, tx pgx.Tx, st checkout.PickupStore, version int64) error {
	if _, err := tx.Exec(ctx, `INSERT INTO stores (id, name, version) VALUES ($1, $2, $3)
		ON CONFLICT (id) DO UPDATE SET name = EXCLUDED.name, version = EXCLUDED.version, updated_at = now()
		WHERE stores.version < EXCLUDED.version`, st.ID, st.Name, version); err != nil {
		return fmt.Errorf("write store %s: %w", st.ID, err)
	}
	return nil
}

// KnownStore reports whether checkout knows the pickup store id (from explore's store events).
func (s *Store) KnownStore(ctx context.Context, id string) (bool, error) {
	var known bool
	if err := s.db.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM stores WHERE id = $1)`, id).Scan(&known); err != nil {
		return false, fmt.Errorf("known store %s: %w", id, err)
	}
	return known, nil
}

// storesSQL reads the pickup stores of the ids in $1.
const storesSQL = `SELECT id, name FROM stores WHERE id = ANY($1)`

func collectStores(rows pgx.Rows) (map[string]checkout.PickupStore, error) {
	list, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (checkout.PickupStore, error) {
		var st checkout.PickupStore
		err := r.Scan(&st.ID, &st.Name)
		return st, err
	})
	if err != nil {
		return nil, fmt.Errorf("read stores: %w", err)
	}
	out := make(map[string]checkout.PickupStore, len(list))
	for _, st := range list {
		out[st.ID] = st
	}
	return out, nil
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
		return it, errs.Wrap(errs.ENOTFOUND, checkout.ErrUnknownSKU, fmt.Sprintf("tractor %q does not exist", sku))
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

// PlaceOrder creates the pending order (checkout.NewOrder: lines checked against stock and priced
// from checkout's variants, customer and store snapshot) and its order.placed event, in one
// transaction. An order the cart placed before with the same idempotency key is returned instead
// (created=false): the same form posted twice makes one order. Keys are scoped to the cart: another
// cart's key is another order. A key the cart used for a request with another p.RequestHash is an
// EUNPROCESSABLE error wrapping checkout.ErrKeyReused. NewOrder's coded errors (empty cart, unknown
// sku, out of stock) are returned as they are.
func (s *Store) PlaceOrder(ctx context.Context, p checkout.Placement) (id string, created bool, err error) {
	key := p.Form.IdempotencyKey
	// Two round trips to PostgreSQL, whatever its latency (issue 17): one batch reads an order already
	// placed with this form, the cart's variants and the store; one batch (one implicit transaction)
	// writes the order, its lines and its event. A duplicate key (a concurrent post of the same
	// form) fails the second batch as a whole.
	skus := make([]string, len(p.Lines))
	for i, l := range p.Lines {
		skus[i] = l.SKU
	}
	var prior, priorHash string
	var known map[string]checkout.Item
	var stores map[string]checkout.PickupStore
	read := &pgx.Batch{}
	read.Queue(orderByKeySQL, p.CartID, key).QueryRow(func(row pgx.Row) error {
		if err := row.Scan(&prior, &priorHash); err != nil && !errors.Is(err, pgx.ErrNoRows) {
			return fmt.Errorf("find order by idempotency key: %w", err)
		}
		return nil
	})
	read.Queue(itemsSQL, skus).Query(func(rows pgx.Rows) (err error) {
		known, err = collectItems(rows, len(skus))
		return err
	})
	read.Queue(storesSQL, []string{p.Form.StoreID}).Query(func(rows pgx.Rows) (err error) {
		stores, err = collectStores(rows)
		return err
	})
	if err := s.db.SendBatch(ctx, read).Close(); err != nil {
		return "", false, fmt.Errorf("place order: %w", err)
	}
	if prior != "" {
		if err := sameRequest(priorHash, p.RequestHash); err != nil {
			return "", false, err
		}
		return prior, false, nil
	}
	uid, err := uuid.NewV7()
	if err != nil {
		return "", false, fmt.Errorf("order id: %w", err)
	}
	id = uid.String()
	o, err := checkout.NewOrder(id, p, known, stores)
	if err != nil {
		if errs.Code(err) != errs.EINTERNAL {
			return "", false, err
		}
		return "", false, fmt.Errorf("place order: %w", err)
	}
	e, err := checkoutevents.OrderPlaced(o, p.Form.Card)
	if err != nil {
		return "", false, err
	}
	write := &pgx.Batch{}
	write.Queue(insertOrderSQL,
		o.ID, o.Status, o.CartID, o.Customer.ID, o.Customer.FirstName, o.Customer.LastName, o.Customer.Email,
		o.StoreID, o.CardLast, o.Total, key, p.RequestHash)
	for i, l := range o.Lines {
		write.Queue(insertOrderLineSQL,
			id, i, l.SKU, l.ProductID, l.ProductName, l.Name, l.Image, l.Quantity, l.UnitPrice)
	}
	if err := s.out.Queue(ctx, write, e); err != nil {
		return "", false, err
	}
	err = s.db.SendBatch(ctx, write).Close()
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) && pgErr.Code == "23505" && pgErr.ConstraintName == "orders_idempotency_key" {
		// A concurrent request with the same key won.
		id, ok, err := s.orderByKey(ctx, p.CartID, key, p.RequestHash)
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

// insertOrderSQL and insertOrderLineSQL write a placed order and its lines.
const (
	insertOrderSQL = `INSERT INTO orders (id, status, cart_id, customer_id, first_name, last_name, email,
		store_id, card_last4, total, idempotency_key, request_hash)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)`
	insertOrderLineSQL = `INSERT INTO order_lines (order_id, position, sku, product_id, product_name, name,
		image, quantity, unit_price) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)`
)

// HotStatements are the writes of placing an order (its second batch: the order, its lines and its
// event): every new pooled connection prepares them (kit.Options.Prepare), so no order pays for
// describing them on a connection that has not run them yet. Describing costs a round trip a batch;
// an order whose two batches both met such a connection took four round trips, which is what broke
// place-order's bound when PostgreSQL is slow (issue 17's fault case: 2.01 s against 2 s). The reads
// of the first batch are left to pgx's own cache (postgres.Options.Prepare says why): at worst
// three round trips.
func HotStatements() []string {
	return []string{insertOrderSQL, insertOrderLineSQL, kitevents.OutboxQueueSQL}
}

// orderByKeySQL finds the order cart $1 placed with the idempotency key $2, and its request's hash.
const orderByKeySQL = `SELECT id::text, request_hash FROM orders WHERE cart_id = $1 AND idempotency_key = $2`

// sameRequest refuses a request whose hash differs from the one the key's order was placed with.
func sameRequest(prior, hash string) error {
	if prior != hash {
		return errs.Wrap(errs.EUNPROCESSABLE, checkout.ErrKeyReused,
			"this Idempotency-Key was used for a different order; use a new key for a new order")
	}
	return nil
}

func (s *Store) orderByKey(ctx context.Context, cartID, key, hash string) (string, bool, error) {
	var id, prior string
	err := s.db.QueryRow(ctx, orderByKeySQL, cartID, key).Scan(&id, &prior)
	if errors.Is(err, pgx.ErrNoRows) {
		return "", false, nil
	}
	if err != nil {
		return "", false, fmt.Errorf("find order by idempotency key: %w", err)
	}
	if err := sameRequest(prior, hash); err != nil {
		return "", false, err
	}
	return id, true, nil
}

// Order returns an order with its lines; ErrOrderNotFound when it does not exist.
func (s *Store) Order(ctx context.Context, id string) (checkout.Order, error) {
	return loadOrder(ctx, s.db, id, false)
}

// OrderTx returns an order with its lines inside tx (events.OrderReader); ErrOrderNotFound when it
// does not exist.
func (s *Store) OrderTx(ctx context.Context, tx pgx.Tx, id string) (checkout.Order, error) {
	return loadOrder(ctx, tx, id, false)
}

// rowQuerier is what both the pool and a transaction offer.
type rowQuerier interface {
	querier
	QueryRow(ctx context.Context, sql string, args ...any) pgx.Row
}

// loadOrder reads an order with its lines; with lock, it holds the order's row lock until q's
// transaction ends.
func loadOrder(ctx context.Context, q rowQuerier, id string, lock bool) (checkout.Order, error) {
	var o checkout.Order
	if _, err := uuid.Parse(id); err != nil {
		return o, checkout.ErrOrderNotFound(id)
	}
	// The pickup store's name is the store's current one (checkout's copy of explore's stores).
	sql := `SELECT o.id::text, o.cart_id, o.status, o.reason, o.customer_id, o.first_name, o.last_name, o.email,
			o.store_id, coalesce(s.name, ''), o.card_last4, o.total, o.created_at, o.updated_at
		FROM orders o LEFT JOIN stores s ON s.id = o.store_id WHERE o.id = $1`
	if lock {
		sql += ` FOR UPDATE OF o`
	}
	err := q.QueryRow(ctx, sql, id).
		Scan(&o.ID, &o.CartID, &o.Status, &o.Reason, &o.Customer.ID, &o.Customer.FirstName, &o.Customer.LastName,
			&o.Customer.Email, &o.StoreID, &o.StoreName, &o.CardLast, &o.Total, &o.Created, &o.Updated)
	if errors.Is(err, pgx.ErrNoRows) {
		return o, checkout.ErrOrderNotFound(id)
	}
	if err != nil {
		return o, fmt.Errorf("read order %s: %w", id, err)
	}
	rows, err := q.Query(ctx, `SELECT sku, product_id, product_name, name, image, quantity, unit_price
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

// Update changes order id with fn inside one transaction that holds the order's row lock (see
// UpdateTx) and returns the order after the change.
func (s *Store) Update(ctx context.Context, id string, fn func(o *checkout.Order) error) (checkout.Order, error) {
	var o checkout.Order
	err := pgx.BeginFunc(ctx, s.db, func(tx pgx.Tx) error {
		var err error
		o, err = s.UpdateTx(ctx, tx, id, fn)
		return err
	})
	if err != nil {
		return checkout.Order{}, fmt.Errorf("update order %s: %w", id, err)
	}
	return o, nil
}

// UpdateTx changes order id with fn inside tx (an event handler's transaction, so the change
// commits with its inbox row), holding the order's row lock. When fn changed the status, it writes
// the status and reason and adds order.confirmed or order.cancelled to the outbox; when fn changed
// nothing, nothing is written. It returns an ENOTFOUND error wrapping checkout.ErrUnknownOrder for an
// order checkout does not have, fn's error as it is, and an EINVALID one wrapping
// checkout.ErrSnapshotChanged when fn changed more than status and reason.
func (s *Store) UpdateTx(ctx context.Context, tx pgx.Tx, id string, fn func(o *checkout.Order) error) (checkout.Order, error) {
	prev, err := loadOrder(ctx, tx, id, true)
	if errs.Code(err) == errs.ENOTFOUND {
		return checkout.Order{}, errs.Wrap(errs.ENOTFOUND, checkout.ErrUnknownOrder, fmt.Sprintf("order %q not found", id))
	}
	if err != nil {
		return checkout.Order{}, err
	}
	next := prev
	next.Lines = slices.Clone(prev.Lines)
	if err := fn(&next); err != nil {
		return checkout.Order{}, err
	}
	if !next.SameSnapshot(prev) {
		return checkout.Order{}, errs.Wrap(errs.EINVALID, checkout.ErrSnapshotChanged, fmt.Sprintf("order %s: only status and reason may change", id))
	}
	if next.Status == prev.Status && next.Reason == prev.Reason {
		return prev, nil
	}
	if err := tx.QueryRow(ctx, `UPDATE orders SET status = $2, reason = $3, updated_at = now() WHERE id = $1
		RETURNING updated_at`, id, next.Status, next.Reason).Scan(&next.Updated); err != nil {
		return checkout.Order{}, fmt.Errorf("update order %s: %w", id, err)
	}
	if next.Status == prev.Status {
		return next, nil
	}
	var e kitevents.Event
	switch next.Status {
	case checkout.Confirmed:
		e, err = checkoutevents.OrderConfirmed(next)
	case checkout.Cancelled:
		e, err = checkoutevents.OrderCancelled(next)
	default:
		err = fmt.Errorf("order %s: %w: %s → %s", id, checkout.ErrIllegalTransition, prev.Status, next.Status)
	}
	if err != nil {
		return checkout.Order{}, err
	}
	if err := s.out.Add(ctx, tx, e); err != nil {
		return checkout.Order{}, err
	}
	return next, nil
}

// OrdersOfCart returns the latest orders a guest placed from cart cartID (at most limit, newest
// first), without their lines; a customer's orders are not among them (OrdersOf).
func (s *Store) OrdersOfCart(ctx context.Context, cartID string, limit int) ([]checkout.Order, error) {
	if cartID == "" {
		return nil, nil
	}
	rows, err := s.db.Query(ctx, `SELECT id::text, status, reason, store_id, total, created_at FROM orders
		WHERE cart_id = $1 AND customer_id = '' ORDER BY created_at DESC LIMIT $2`, cartID, limit)
	if err != nil {
		return nil, fmt.Errorf("read orders of cart: %w", err)
	}
	orders, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (checkout.Order, error) {
		o := checkout.Order{CartID: cartID}
		err := r.Scan(&o.ID, &o.Status, &o.Reason, &o.StoreID, &o.Total, &o.Created)
		return o, err
	})
	if err != nil {
		return nil, fmt.Errorf("read orders of cart: %w", err)
	}
	return orders, nil
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

package postgres

import (
	"context"
	"errors"
	"fmt"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/inlay-dev/inlay/services/inventory"
	inventoryevents "github.com/inlay-dev/inlay/services/inventory/events"
	"github.com/inlay-dev/inlay/services/kit/events"
)

// Store keeps stock and reservations. Every change commits together with its events in the outbox.
//
// Locks are always taken in the same order — the order's reservation row first, then stock rows
// sorted by sku — so concurrent orders never deadlock; a reservation reads the rows it locked, so
// two orders never take the same units, and the stock table's CHECK keeps quantities at zero or
// more whatever happens.
type Store struct {
	pool   *pgxpool.Pool
	outbox *events.Outbox
}

var _ inventoryevents.Store = (*Store)(nil)

// NewStore returns a Store on pool (migrated with Migrations and events.Migrate).
func NewStore(pool *pgxpool.Pool) *Store {
	return &Store{pool: pool, outbox: events.NewOutbox(inventoryevents.Source)}
}

// Reserve reserves lines (normalised: merged and sorted by sku) for the order, all or nothing,
// once per order. It publishes stock.reserved and a stock.changed per sku, or stock.rejected with the
// short skus. An order decided before changes nothing; an order cancelled before its payment arrived
// is rejected as "order cancelled" (so payments refunds it).
func (s *Store) Reserve(ctx context.Context, tx pgx.Tx, orderID string, lines []inventory.Line) (inventoryevents.Outcome, error) {
	// Claim the order: a concurrent claim of the same order waits here and then finds it taken.
	tag, err := tx.Exec(ctx, `INSERT INTO reservations (order_id, status) VALUES ($1, 'reserved') ON CONFLICT (order_id) DO NOTHING`, orderID)
	if err != nil {
		return inventoryevents.Outcome{}, fmt.Errorf("claim order %s: %w", orderID, err)
	}
	if tag.RowsAffected() == 0 {
		return s.decided(ctx, tx, orderID)
	}

	skus := make([]string, len(lines))
	for i, l := range lines {
		skus[i] = l.SKU
	}
	onHand, err := lockStock(ctx, tx, skus)
	if err != nil {
		return inventoryevents.Outcome{}, fmt.Errorf("reserve order %s: %w", orderID, err)
	}
	after, short := inventory.Reserve(onHand, lines)
	if short != nil {
		if _, err := tx.Exec(ctx, `UPDATE reservations SET status = 'rejected', reason = $2, updated_at = now() WHERE order_id = $1`,
			orderID, inventory.ReasonOutOfStock); err != nil {
			return inventoryevents.Outcome{}, fmt.Errorf("reject order %s: %w", orderID, err)
		}
		e, err := inventoryevents.RejectedEvent(orderID, inventory.ReasonOutOfStock, short)
		if err != nil {
			return inventoryevents.Outcome{}, err
		}
		if err := s.outbox.Add(ctx, tx, e); err != nil {
			return inventoryevents.Outcome{}, fmt.Errorf("publish %s: %w", e.Type, err)
		}
		return inventoryevents.Outcome{Status: inventory.StatusRejected, Changed: true, Short: short}, nil
	}

	quantities := make([]int, len(lines))
	for i, l := range lines {
		quantities[i] = after[l.SKU]
	}
	changed, err := setStock(ctx, tx, skus, quantities)
	if err != nil {
		return inventoryevents.Outcome{}, fmt.Errorf("reserve order %s: %w", orderID, err)
	}
	reserved := make([]int, len(lines))
	for i, l := range lines {
		reserved[i] = l.Quantity
	}
	if _, err := tx.Exec(ctx, `INSERT INTO reservation_lines (order_id, sku, quantity)
		SELECT $1, u.sku, u.quantity FROM unnest($2::text[], $3::int[]) AS u(sku, quantity)`, orderID, skus, reserved); err != nil {
		return inventoryevents.Outcome{}, fmt.Errorf("record reservation of order %s: %w", orderID, err)
	}
	e, err := inventoryevents.ReservedEvent(orderID, lines)
	if err != nil {
		return inventoryevents.Outcome{}, err
	}
	if err := s.publish(ctx, tx, append([]events.Event{e}, changed...)...); err != nil {
		return inventoryevents.Outcome{}, err
	}
	return inventoryevents.Outcome{Status: inventory.StatusReserved, Changed: true}, nil
}

// decided handles a payment of an order inventory had decided on before: nothing changes, except
// that an order cancelled before its payment arrived is now rejected.
func (s *Store) decided(ctx context.Context, tx pgx.Tx, orderID string) (inventoryevents.Outcome, error) {
	tag, err := tx.Exec(ctx, `UPDATE reservations SET status = 'rejected', reason = $2, updated_at = now()
		WHERE order_id = $1 AND status = 'cancelled'`, orderID, inventory.ReasonOrderCancelled)
	if err != nil {
		return inventoryevents.Outcome{}, fmt.Errorf("reject cancelled order %s: %w", orderID, err)
	}
	if tag.RowsAffected() == 1 {
		e, err := inventoryevents.RejectedEvent(orderID, inventory.ReasonOrderCancelled, nil)
		if err != nil {
			return inventoryevents.Outcome{}, err
		}
		if err := s.publish(ctx, tx, e); err != nil {
			return inventoryevents.Outcome{}, err
		}
		return inventoryevents.Outcome{Status: inventory.StatusRejected, Changed: true}, nil
	}
	var status string
	if err := tx.QueryRow(ctx, `SELECT status FROM reservations WHERE order_id = $1`, orderID).Scan(&status); err != nil {
		return inventoryevents.Outcome{}, fmt.Errorf("read reservation of order %s: %w", orderID, err)
	}
	return inventoryevents.Outcome{Status: status}, nil
}

// Release returns the stock of a reserved order and publishes stock.changed per sku, once. An order
// inventory never heard of is remembered as cancelled (its payment, should it still come, is
// rejected); a rejected or released order is left alone.
func (s *Store) Release(ctx context.Context, tx pgx.Tx, orderID string) (bool, error) {
	tag, err := tx.Exec(ctx, `INSERT INTO reservations (order_id, status, reason) VALUES ($1, 'cancelled', $2)
		ON CONFLICT (order_id) DO NOTHING`, orderID, inventory.ReasonOrderCancelled)
	if err != nil {
		return false, fmt.Errorf("cancel order %s: %w", orderID, err)
	}
	if tag.RowsAffected() == 1 {
		return false, nil
	}
	var status string
	if err := tx.QueryRow(ctx, `SELECT status FROM reservations WHERE order_id = $1 FOR UPDATE`, orderID).Scan(&status); err != nil {
		return false, fmt.Errorf("lock reservation of order %s: %w", orderID, err)
	}
	if status != inventory.StatusReserved {
		return false, nil
	}
	rows, err := tx.Query(ctx, `SELECT sku, quantity FROM reservation_lines WHERE order_id = $1 ORDER BY sku`, orderID)
	if err != nil {
		return false, fmt.Errorf("read reservation of order %s: %w", orderID, err)
	}
	lines, err := pgx.CollectRows(rows, pgx.RowToStructByPos[inventory.Line])
	if err != nil {
		return false, fmt.Errorf("read reservation of order %s: %w", orderID, err)
	}
	skus := make([]string, len(lines))
	for i, l := range lines {
		skus[i] = l.SKU
	}
	onHand, err := lockStock(ctx, tx, skus)
	if err != nil {
		return false, fmt.Errorf("release order %s: %w", orderID, err)
	}
	quantities := make([]int, len(lines))
	for i, l := range lines {
		quantities[i] = min(onHand[l.SKU]+l.Quantity, inventory.MaxQuantity)
	}
	changed, err := setStock(ctx, tx, skus, quantities)
	if err != nil {
		return false, fmt.Errorf("release order %s: %w", orderID, err)
	}
	if _, err := tx.Exec(ctx, `UPDATE reservations SET status = 'released', reason = $2, updated_at = now() WHERE order_id = $1`,
		orderID, inventory.ReasonOrderCancelled); err != nil {
		return false, fmt.Errorf("release order %s: %w", orderID, err)
	}
	return true, s.publish(ctx, tx, changed...)
}

// Ensure creates a stock row of 0 for each sku that has none and publishes stock.changed for those.
func (s *Store) Ensure(ctx context.Context, tx pgx.Tx, skus []string) (int, error) {
	zeros := make([]int, len(skus))
	return s.insert(ctx, tx, skus, zeros)
}

// insert adds stock rows for the skus that have none, publishing stock.changed for each new row.
func (s *Store) insert(ctx context.Context, tx pgx.Tx, skus []string, quantities []int) (int, error) {
	rows, err := tx.Query(ctx, `INSERT INTO stock (sku, quantity)
		SELECT u.sku, u.quantity FROM unnest($1::text[], $2::int[]) WITH ORDINALITY AS u(sku, quantity, n) ORDER BY n
		ON CONFLICT (sku) DO NOTHING
		RETURNING sku, quantity, version`, skus, quantities)
	if err != nil {
		return 0, fmt.Errorf("insert stock of %d skus: %w", len(skus), err)
	}
	created, err := pgx.CollectRows(rows, pgx.RowToStructByPos[inventory.Stock])
	if err != nil {
		return 0, fmt.Errorf("insert stock of %d skus: %w", len(skus), err)
	}
	es := make([]events.Event, 0, len(created))
	for _, st := range created {
		e, err := inventoryevents.StockChangedEvent(st)
		if err != nil {
			return 0, err
		}
		es = append(es, e)
	}
	return len(created), s.publish(ctx, tx, es...)
}

// Seed creates the stock rows of skus that have none, with their seed quantities, and publishes a
// stock.changed for each; existing rows (and everything sold since) are left alone, so seeding again
// changes nothing. It returns how many rows it created.
func (s *Store) Seed(ctx context.Context, stock []inventory.Stock) (int, error) {
	skus := make([]string, len(stock))
	quantities := make([]int, len(stock))
	for i, st := range stock {
		if err := inventory.ValidateQuantity(st.Quantity); err != nil {
			return 0, fmt.Errorf("seed %s: %w", st.SKU, err)
		}
		skus[i], quantities[i] = st.SKU, st.Quantity
	}
	var n int
	err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		var err error
		n, err = s.insert(ctx, tx, skus, quantities)
		return err
	})
	if err != nil {
		return 0, fmt.Errorf("seed stock: %w", err)
	}
	return n, nil
}

// Set sets the stock of sku (creating its row) and publishes stock.changed when the quantity
// changed. EINVALID for a quantity outside 0..inventory.MaxQuantity.
func (s *Store) Set(ctx context.Context, sku string, quantity int) (inventory.Stock, error) {
	if err := inventory.ValidateQuantity(quantity); err != nil {
		return inventory.Stock{}, err
	}
	if sku == "" {
		return inventory.Stock{}, inventory.ErrSKUNotFound(sku)
	}
	var st inventory.Stock
	err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		err := tx.QueryRow(ctx, `INSERT INTO stock (sku, quantity) VALUES ($1, $2)
			ON CONFLICT (sku) DO UPDATE SET quantity = EXCLUDED.quantity, version = stock.version + 1, updated_at = now()
			WHERE stock.quantity <> EXCLUDED.quantity
			RETURNING sku, quantity, version`, sku, quantity).Scan(&st.SKU, &st.Quantity, &st.Version)
		if errors.Is(err, pgx.ErrNoRows) { // unchanged
			return tx.QueryRow(ctx, `SELECT sku, quantity, version FROM stock WHERE sku = $1`, sku).Scan(&st.SKU, &st.Quantity, &st.Version)
		}
		if err != nil {
			return err
		}
		e, err := inventoryevents.StockChangedEvent(st)
		if err != nil {
			return err
		}
		return s.publish(ctx, tx, e)
	})
	if err != nil {
		return inventory.Stock{}, fmt.Errorf("set stock of %s: %w", sku, err)
	}
	return st, nil
}

// Stock returns the stock of sku; ErrSKUNotFound when inventory has no row of it.
func (s *Store) Stock(ctx context.Context, sku string) (inventory.Stock, error) {
	var st inventory.Stock
	err := s.pool.QueryRow(ctx, `SELECT sku, quantity, version FROM stock WHERE sku = $1`, sku).Scan(&st.SKU, &st.Quantity, &st.Version)
	if errors.Is(err, pgx.ErrNoRows) {
		return inventory.Stock{}, inventory.ErrSKUNotFound(sku)
	}
	if err != nil {
		return inventory.Stock{}, fmt.Errorf("read stock of %s: %w", sku, err)
	}
	return st, nil
}

// All returns the stock of every sku, sorted by sku.
func (s *Store) All(ctx context.Context) ([]inventory.Stock, error) {
	rows, err := s.pool.Query(ctx, `SELECT sku, quantity, version FROM stock ORDER BY sku`)
	if err != nil {
		return nil, fmt.Errorf("list stock: %w", err)
	}
	out, err := pgx.CollectRows(rows, pgx.RowToStructByPos[inventory.Stock])
	if err != nil {
		return nil, fmt.Errorf("list stock: %w", err)
	}
	return out, nil
}

// Reservation returns the reservation status of an order ("" when inventory never heard of it) and
// the lines it holds or held.
func (s *Store) Reservation(ctx context.Context, orderID string) (string, []inventory.Line, error) {
	var status string
	err := s.pool.QueryRow(ctx, `SELECT status FROM reservations WHERE order_id = $1`, orderID).Scan(&status)
	if errors.Is(err, pgx.ErrNoRows) {
		return "", nil, nil
	}
	if err != nil {
		return "", nil, fmt.Errorf("read reservation of order %s: %w", orderID, err)
	}
	rows, err := s.pool.Query(ctx, `SELECT sku, quantity FROM reservation_lines WHERE order_id = $1 ORDER BY sku`, orderID)
	if err != nil {
		return "", nil, fmt.Errorf("read reservation of order %s: %w", orderID, err)
	}
	lines, err := pgx.CollectRows(rows, pgx.RowToStructByPos[inventory.Line])
	if err != nil {
		return "", nil, fmt.Errorf("read reservation of order %s: %w", orderID, err)
	}
	return status, lines, nil
}

// Republish writes a stock.changed of every sku's current stock to the outbox, for consumers whose
// queue did not exist when the stock was first published; it returns how many.
func (s *Store) Republish(ctx context.Context) (int, error) {
	var n int
	err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		rows, err := tx.Query(ctx, `SELECT sku, quantity, version FROM stock ORDER BY sku FOR SHARE`)
		if err != nil {
			return err
		}
		all, err := pgx.CollectRows(rows, pgx.RowToStructByPos[inventory.Stock])
		if err != nil {
			return err
		}
		es := make([]events.Event, 0, len(all))
		for _, st := range all {
			e, err := inventoryevents.StockChangedEvent(st)
			if err != nil {
				return err
			}
			es = append(es, e)
		}
		n = len(es)
		return s.publish(ctx, tx, es...)
	})
	if err != nil {
		return 0, fmt.Errorf("republish stock: %w", err)
	}
	return n, nil
}

// lockStock locks the stock rows of skus in sku order and returns their quantities; a sku without a
// row is missing from the map.
func lockStock(ctx context.Context, tx pgx.Tx, skus []string) (map[string]int, error) {
	rows, err := tx.Query(ctx, `SELECT sku, quantity FROM stock WHERE sku = ANY($1) ORDER BY sku FOR UPDATE`, skus)
	if err != nil {
		return nil, fmt.Errorf("lock stock: %w", err)
	}
	onHand := make(map[string]int, len(skus))
	var sku string
	var q int
	if _, err := pgx.ForEachRow(rows, []any{&sku, &q}, func() error {
		onHand[sku] = q
		return nil
	}); err != nil {
		return nil, fmt.Errorf("lock stock: %w", err)
	}
	return onHand, nil
}

// setStock sets the (locked) stock rows of skus to quantities and returns a stock.changed event
// of each.
func setStock(ctx context.Context, tx pgx.Tx, skus []string, quantities []int) ([]events.Event, error) {
	rows, err := tx.Query(ctx, `UPDATE stock SET quantity = u.quantity, version = stock.version + 1, updated_at = now()
		FROM unnest($1::text[], $2::int[]) AS u(sku, quantity)
		WHERE stock.sku = u.sku
		RETURNING stock.sku, stock.quantity, stock.version`, skus, quantities)
	if err != nil {
		return nil, fmt.Errorf("update stock: %w", err)
	}
	changed, err := pgx.CollectRows(rows, pgx.RowToStructByPos[inventory.Stock])
	if err != nil {
		return nil, fmt.Errorf("update stock: %w", err)
	}
	if len(changed) != len(skus) {
		return nil, fmt.Errorf("update stock: %d of %d skus have a row", len(changed), len(skus))
	}
	es := make([]events.Event, 0, len(changed))
	for _, st := range changed {
		e, err := inventoryevents.StockChangedEvent(st)
		if err != nil {
			return nil, err
		}
		es = append(es, e)
	}
	return es, nil
}

func (s *Store) publish(ctx context.Context, tx pgx.Tx, es ...events.Event) error {
	if len(es) == 0 {
		return nil
	}
	if err := s.outbox.AddBatch(ctx, tx, es); err != nil {
		return fmt.Errorf("publish %d events: %w", len(es), err)
	}
	return nil
}

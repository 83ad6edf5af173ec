-- +goose Up
-- An idempotency key is scoped to the cart that placed the order (a signed-in customer's cart is the
-- customer's own, checkout.CustomerCartID): one caller's key never finds, or blocks, another's order.
-- request_hash is a digest of what a /v1 request asked for (store, names, e-mail, the card's last
-- four digits), so the same key sent with a different request is refused instead of answered with
-- the first order; empty for the storefront's form, whose key is new with every form.
DROP INDEX orders_idempotency_key;
CREATE UNIQUE INDEX orders_idempotency_key ON orders (cart_id, idempotency_key);
ALTER TABLE orders ADD COLUMN request_hash text NOT NULL DEFAULT '';
-- A guest's orders, by the cart that placed them (GET /v1/orders).
CREATE INDEX orders_guest_cart ON orders (cart_id, created_at DESC) WHERE customer_id = '';

-- +goose Down
DROP INDEX orders_guest_cart;
ALTER TABLE orders DROP COLUMN request_hash;
DROP INDEX orders_idempotency_key;
CREATE UNIQUE INDEX orders_idempotency_key ON orders (idempotency_key);

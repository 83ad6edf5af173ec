-- +goose Up
-- variants is checkout's copy of decide's variants, filled only by decide's events; version is the
-- product version of the event that wrote the row (older events are ignored).
CREATE TABLE variants (
    sku          text        PRIMARY KEY,
    product_id   text        NOT NULL,
    product_name text        NOT NULL,
    name         text        NOT NULL DEFAULT '',
    color        text        NOT NULL DEFAULT '',
    image        text        NOT NULL DEFAULT '',
    price        bigint      NOT NULL CHECK (price >= 0),
    version      bigint      NOT NULL DEFAULT 0,
    updated_at   timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX variants_product ON variants (product_id);

-- stock is checkout's copy of inventory's available quantity per sku (inventory.stock.changed).
CREATE TABLE stock (
    sku        text        PRIMARY KEY,
    quantity   integer     NOT NULL CHECK (quantity >= 0),
    updated_at timestamptz NOT NULL DEFAULT now()
);

-- orders: the snapshot of customer, store and total; idempotency_key makes placing the same form
-- twice create one order.
ALTER TABLE orders
    ADD COLUMN cart_id         text   NOT NULL DEFAULT '',
    ADD COLUMN customer_id     text   NOT NULL DEFAULT '',
    ADD COLUMN first_name      text   NOT NULL DEFAULT '',
    ADD COLUMN last_name       text   NOT NULL DEFAULT '',
    ADD COLUMN email           text   NOT NULL DEFAULT '',
    ADD COLUMN store_id        text   NOT NULL DEFAULT '',
    ADD COLUMN card_last4      text   NOT NULL DEFAULT '',
    ADD COLUMN total           bigint NOT NULL DEFAULT 0,
    ADD COLUMN idempotency_key text;
CREATE UNIQUE INDEX orders_idempotency_key ON orders (idempotency_key);
CREATE INDEX orders_customer ON orders (customer_id, created_at DESC) WHERE customer_id <> '';

-- order_lines: the snapshot of each cart line when the order was placed.
CREATE TABLE order_lines (
    order_id     uuid    NOT NULL REFERENCES orders (id) ON DELETE CASCADE,
    position     integer NOT NULL,
    sku          text    NOT NULL,
    product_id   text    NOT NULL,
    product_name text    NOT NULL,
    name         text    NOT NULL,
    image        text    NOT NULL,
    quantity     integer NOT NULL CHECK (quantity > 0),
    unit_price   bigint  NOT NULL CHECK (unit_price >= 0),
    PRIMARY KEY (order_id, position)
);

-- +goose Down
DROP TABLE order_lines;
DROP INDEX orders_customer;
DROP INDEX orders_idempotency_key;
ALTER TABLE orders DROP COLUMN cart_id, DROP COLUMN customer_id, DROP COLUMN first_name,
    DROP COLUMN last_name, DROP COLUMN email, DROP COLUMN store_id, DROP COLUMN card_last4,
    DROP COLUMN total, DROP COLUMN idempotency_key;
DROP TABLE stock;
DROP TABLE variants;

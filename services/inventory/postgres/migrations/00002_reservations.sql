-- +goose Up
-- version increases with every change of a sku's stock (carried by stock.changed).
ALTER TABLE stock ADD COLUMN version bigint NOT NULL DEFAULT 1 CHECK (version > 0);

-- reservations holds inventory's one decision per order (the primary key): an order is reserved or
-- rejected once; a reserved order is released once when cancelled.
CREATE TABLE reservations (
    order_id   text        PRIMARY KEY CHECK (order_id <> ''),
    status     text        NOT NULL CHECK (status IN ('reserved', 'rejected', 'released', 'cancelled')),
    reason     text        NOT NULL DEFAULT '',
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now()
);

-- reservation_lines are the units a reserved order holds, one row per sku.
CREATE TABLE reservation_lines (
    order_id text    NOT NULL REFERENCES reservations (order_id),
    sku      text    NOT NULL,
    quantity integer NOT NULL CHECK (quantity > 0),
    PRIMARY KEY (order_id, sku)
);

-- +goose Down
DROP TABLE reservation_lines;
DROP TABLE reservations;
ALTER TABLE stock DROP COLUMN version;

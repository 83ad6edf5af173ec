-- +goose Up
-- stock is the number of units on hand per sku; it never goes below zero.
CREATE TABLE stock (
    sku        text        PRIMARY KEY,
    quantity   integer     NOT NULL CHECK (quantity >= 0),
    updated_at timestamptz NOT NULL DEFAULT now()
);

-- +goose Down
DROP TABLE stock;

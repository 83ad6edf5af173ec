-- +goose Up
-- orders holds placed orders; lines, customer and store are snapshots taken when the order is placed,
-- so later price or catalogue changes never rewrite history.
CREATE TABLE orders (
    id         uuid        PRIMARY KEY,
    status     text        NOT NULL CHECK (status IN ('pending', 'confirmed', 'cancelled')),
    reason     text        NOT NULL DEFAULT '',
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now()
);

-- +goose Down
DROP TABLE orders;

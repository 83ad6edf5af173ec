-- +goose Up
-- payments holds one payment per order: an order is never charged twice.
CREATE TABLE payments (
    order_id     uuid        PRIMARY KEY,
    status       text        NOT NULL CHECK (status IN ('authorized', 'declined', 'refunded')),
    amount_cents bigint      NOT NULL CHECK (amount_cents >= 0),
    created_at   timestamptz NOT NULL DEFAULT now(),
    updated_at   timestamptz NOT NULL DEFAULT now()
);

-- +goose Down
DROP TABLE payments;

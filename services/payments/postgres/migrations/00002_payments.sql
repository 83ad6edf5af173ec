-- +goose Up
-- The first schema keyed payments by a uuid and had no payment id, reason or card digits; no payment
-- was ever written to it, so it is replaced.
DROP TABLE payments;

-- payments holds one payment per order (the primary key): an order is never charged twice.
CREATE TABLE payments (
    order_id    text        PRIMARY KEY CHECK (order_id <> ''),
    payment_id  uuid        NOT NULL UNIQUE,
    status      text        NOT NULL CHECK (status IN ('authorized', 'declined', 'refunded')),
    amount      bigint      NOT NULL CHECK (amount >= 0),
    -- reason is why the payment was declined or refunded.
    reason      text        NOT NULL DEFAULT '',
    -- card_last4 is all payments keeps of the card number.
    card_last4  text        NOT NULL DEFAULT '' CHECK (length(card_last4) <= 4),
    created_at  timestamptz NOT NULL DEFAULT now(),
    updated_at  timestamptz NOT NULL DEFAULT now(),
    refunded_at timestamptz,
    CHECK ((status = 'refunded') = (refunded_at IS NOT NULL))
);

-- +goose Down
DROP TABLE payments;
CREATE TABLE payments (
    order_id     uuid        PRIMARY KEY,
    status       text        NOT NULL CHECK (status IN ('authorized', 'declined', 'refunded')),
    amount_cents bigint      NOT NULL CHECK (amount_cents >= 0),
    created_at   timestamptz NOT NULL DEFAULT now(),
    updated_at   timestamptz NOT NULL DEFAULT now()
);

-- +goose Up
-- Each customer's one address (all empty until set) and the row's version, which every change raises
-- and every event carries.
ALTER TABLE customers
    ADD COLUMN street     text        NOT NULL DEFAULT '',
    ADD COLUMN city       text        NOT NULL DEFAULT '',
    ADD COLUMN postcode   text        NOT NULL DEFAULT '',
    ADD COLUMN country    text        NOT NULL DEFAULT '',
    ADD COLUMN version    bigint      NOT NULL DEFAULT 1,
    ADD COLUMN updated_at timestamptz NOT NULL DEFAULT now();

-- +goose Down
ALTER TABLE customers DROP COLUMN street, DROP COLUMN city, DROP COLUMN postcode, DROP COLUMN country,
    DROP COLUMN version, DROP COLUMN updated_at;

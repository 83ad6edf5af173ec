-- +goose Up
-- customers are the storefront's registered customers; e-mail addresses are unique regardless of case.
CREATE TABLE customers (
    id            uuid        PRIMARY KEY,
    email         text        NOT NULL,
    name          text        NOT NULL DEFAULT '',
    password_hash text        NOT NULL,
    created_at    timestamptz NOT NULL DEFAULT now()
);
CREATE UNIQUE INDEX customers_email_key ON customers (lower(email));

-- +goose Down
DROP TABLE customers;

-- +goose Up
-- customers is checkout's copy of accounts' customers, kept by accounts.customer.registered.v1 and
-- accounts.address.changed.v1 (version-guarded), to prefill the checkout form without asking accounts.
CREATE TABLE customers (
    id       text   PRIMARY KEY,
    email    text   NOT NULL DEFAULT '',
    name     text   NOT NULL DEFAULT '',
    street   text   NOT NULL DEFAULT '',
    city     text   NOT NULL DEFAULT '',
    postcode text   NOT NULL DEFAULT '',
    country  text   NOT NULL DEFAULT '',
    version  bigint NOT NULL
);

-- +goose Down
DROP TABLE customers;

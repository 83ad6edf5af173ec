-- +goose Up
-- partners are the sites that may embed fragments through bff/embed. Their keys are stored as
-- SHA-256 hashes only: a publishable key (browsers, checked with the Origin) and a secret key
-- (servers: nginx, Varnish). A revoked partner's keys stop working.
CREATE TABLE partners (
    id               bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    name             text        NOT NULL UNIQUE,
    origins          text[]      NOT NULL,
    fragments        text[]      NOT NULL,
    rate_per_minute  integer     NOT NULL CHECK (rate_per_minute > 0),
    publishable_hash bytea       NOT NULL UNIQUE,
    secret_hash      bytea       NOT NULL UNIQUE,
    created_at       timestamptz NOT NULL DEFAULT now(),
    revoked_at       timestamptz
);

-- +goose Down
DROP TABLE partners;

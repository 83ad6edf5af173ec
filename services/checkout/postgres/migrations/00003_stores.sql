-- +goose Up
-- stores is checkout's copy of explore's stores (explore.store.changed), filled only by its events: an
-- order may be picked up only at a store checkout knows. version is the store's version in the event
-- that wrote the row (older events are ignored).
CREATE TABLE stores (
    id         text        PRIMARY KEY,
    name       text        NOT NULL,
    version    bigint      NOT NULL DEFAULT 0,
    updated_at timestamptz NOT NULL DEFAULT now()
);

-- +goose Down
DROP TABLE stores;

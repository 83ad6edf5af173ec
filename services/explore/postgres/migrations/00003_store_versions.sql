-- +goose Up
-- version counts a store's changes: explore publishes explore.store.changed with it, and consumers
-- (checkout) ignore a state older than the one they hold.
ALTER TABLE stores ADD COLUMN version bigint NOT NULL DEFAULT 0;

-- +goose Down
ALTER TABLE stores DROP COLUMN version;

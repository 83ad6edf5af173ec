-- +goose Up
-- When the account was made (accounts.customer.registered's registeredAt): a guest order joins an
-- account only if the account existed when it was placed. An account made afterwards with the
-- order's e-mail proves nothing (e-mail addresses are not verified): on a shared browser, anyone
-- could otherwise take a stranger's guest order by registering their address.
ALTER TABLE customers ADD COLUMN registered_at timestamptz;

-- +goose Down
ALTER TABLE customers DROP COLUMN registered_at;

-- +goose Up
-- A guest cart a customer signed in with (the cart was merged into theirs): the guest orders placed
-- from it with the customer's e-mail become the customer's — at the sign-in, or when checkout's copy
-- of the account arrives, whichever is later (a new account's copy may come after its first page).
CREATE TABLE adopted_carts (
    cart_id     text        NOT NULL,
    customer_id text        NOT NULL,
    adopted_at  timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (customer_id, cart_id)
);

-- +goose Down
DROP TABLE adopted_carts;

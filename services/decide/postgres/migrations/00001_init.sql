-- +goose Up
-- decide is the source of truth for products, their variants, highlights and prices.
CREATE TABLE products (
	id         text        PRIMARY KEY,
	name       text        NOT NULL,
	category   text        NOT NULL,
	highlights text[]      NOT NULL DEFAULT '{}',
	position   integer     NOT NULL DEFAULT 0,
	-- version increases with every change to the product or one of its variants; events carry it so
	-- consumers can ignore stale ones.
	version    bigint      NOT NULL DEFAULT 1 CHECK (version > 0),
	-- seed_hash is the hash of the catalog entry this product was last seeded from; a changed
	-- catalog entry updates the product, an unchanged one leaves later admin changes alone.
	seed_hash  text        NOT NULL DEFAULT '',
	created_at timestamptz NOT NULL DEFAULT now(),
	updated_at timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE variants (
	sku        text    PRIMARY KEY,
	product_id text    NOT NULL REFERENCES products (id) ON DELETE CASCADE,
	position   integer NOT NULL DEFAULT 0,
	name       text    NOT NULL,
	color      text    NOT NULL CHECK (color ~ '^#[0-9a-f]{6}$'),
	price      bigint  NOT NULL CHECK (price >= 0)
);
CREATE INDEX variants_product ON variants (product_id, position);

-- +goose Down
DROP TABLE variants;
DROP TABLE products;

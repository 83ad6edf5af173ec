-- +goose Up
-- inspire's own read model of decide's variants, filled only from decide's events.
CREATE TABLE variants (
	sku          text    PRIMARY KEY,
	product_id   text    NOT NULL,
	product_name text    NOT NULL,
	name         text    NOT NULL,
	color        text    NOT NULL,
	r            integer NOT NULL CHECK (r BETWEEN 0 AND 255),
	g            integer NOT NULL CHECK (g BETWEEN 0 AND 255),
	b            integer NOT NULL CHECK (b BETWEEN 0 AND 255),
	price        bigint  NOT NULL,
	image        text    NOT NULL DEFAULT '',
	-- version is the product version of the last event applied; older events are ignored.
	version      bigint  NOT NULL
);
CREATE INDEX variants_product ON variants (product_id);

-- +goose Down
DROP TABLE variants;

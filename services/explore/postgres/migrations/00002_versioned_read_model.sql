-- Product summaries and variants are a read model rebuilt from decide's events, so this migration
-- recreates them rather than converting rows: version becomes decide's product version (it increases
-- with every change, a total order per product, unlike clock time), variants keep their name (for
-- search) and the price's version, and the product's own image is kept apart from the one derived
-- from its cheapest variant. The GIN indexes update in place (fastupdate off): this read model is
-- read far more than written, and a long pending list would make every search scan it.

-- +goose Up
DROP TABLE variants;
DROP TABLE products;

-- version is the product's version of the last product event applied, so an older event arriving
-- late never overwrites a newer one. start_price, variant_image and color are derived from the
-- cheapest variant; start_price is NULL while there is none.
CREATE TABLE products (
    id            text PRIMARY KEY,
    name          text     NOT NULL,
    category      text     NOT NULL,
    image         text     NOT NULL DEFAULT '',
    variant_image text     NOT NULL DEFAULT '',
    color         text     NOT NULL DEFAULT '',
    highlights    text[]   NOT NULL DEFAULT '{}',
    start_price   bigint,
    version       bigint   NOT NULL,
    search        tsvector NOT NULL DEFAULT ''::tsvector
);
CREATE INDEX products_category ON products (category, start_price DESC);
CREATE INDEX products_search ON products USING gin (search) WITH (fastupdate = off);
CREATE INDEX products_name_trgm ON products USING gin (name gin_trgm_ops) WITH (fastupdate = off);

-- price_version is the product version the price was set at. A price event may arrive before its
-- product's first event, so there is no foreign key.
CREATE TABLE variants (
    sku           text PRIMARY KEY,
    product_id    text   NOT NULL,
    position      int    NOT NULL DEFAULT 0,
    name          text   NOT NULL DEFAULT '',
    color         text   NOT NULL DEFAULT '',
    image         text   NOT NULL DEFAULT '',
    price         bigint NOT NULL,
    price_version bigint NOT NULL
);
CREATE INDEX variants_product ON variants (product_id);

ALTER INDEX search_terms_trgm SET (fastupdate = off);

-- +goose Down
ALTER INDEX search_terms_trgm RESET (fastupdate);
DROP TABLE variants;
DROP TABLE products;
CREATE TABLE products (
    id          text PRIMARY KEY,
    name        text        NOT NULL,
    category    text        NOT NULL,
    image       text        NOT NULL DEFAULT '',
    color       text        NOT NULL DEFAULT '',
    highlights  text[]      NOT NULL DEFAULT '{}',
    start_price bigint      NOT NULL DEFAULT 0,
    version     timestamptz NOT NULL,
    search      tsvector    NOT NULL DEFAULT ''::tsvector
);
CREATE INDEX products_category ON products (category, start_price DESC);
CREATE INDEX products_search ON products USING gin (search);
CREATE INDEX products_name_trgm ON products USING gin (name gin_trgm_ops);
CREATE TABLE variants (
    sku        text PRIMARY KEY,
    product_id text        NOT NULL,
    position   int         NOT NULL DEFAULT 0,
    color      text        NOT NULL DEFAULT '',
    image      text        NOT NULL DEFAULT '',
    price      bigint      NOT NULL,
    price_at   timestamptz NOT NULL
);
CREATE INDEX variants_product ON variants (product_id);

-- +goose Up
CREATE EXTENSION IF NOT EXISTS pg_trgm;

-- Categories, stores and teasers are explore's own data, seeded at start from services/explore/seed.
CREATE TABLE categories (
    key      text PRIMARY KEY,
    name     text NOT NULL,
    title    text NOT NULL,
    position int  NOT NULL
);

CREATE TABLE stores (
    id       text PRIMARY KEY,
    name     text NOT NULL,
    street   text NOT NULL,
    city     text NOT NULL,
    position int  NOT NULL
);

CREATE TABLE teasers (
    category text PRIMARY KEY,
    title    text NOT NULL,
    url      text NOT NULL,
    position int  NOT NULL
);

-- Product summaries are filled only from decide's events. version is the time of the last product
-- event applied, so an older event arriving late never overwrites a newer one.
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

-- Variants hold what explore needs to compute a product's start price (the lowest variant price).
-- A price event may arrive before its product's first event, so there is no foreign key.
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

-- The words of every searchable text, for spelling correction by trigram similarity.
CREATE TABLE search_terms (
    word text PRIMARY KEY
);
CREATE INDEX search_terms_trgm ON search_terms USING gin (word gin_trgm_ops);

-- +goose Down
DROP TABLE search_terms;
DROP TABLE variants;
DROP TABLE products;
DROP TABLE teasers;
DROP TABLE stores;
DROP TABLE categories;

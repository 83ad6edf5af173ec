-- +goose Up
-- start_sku is the variant the start price belongs to (the cheapest, then the first): a tile shows
-- its image, colour and price, so it links to it, not to the product's first variant.
ALTER TABLE products ADD COLUMN start_sku text NOT NULL DEFAULT '';
UPDATE products p SET start_sku = coalesce((SELECT v.sku FROM variants v WHERE v.product_id = p.id
    ORDER BY v.price, v.position, v.sku LIMIT 1), '');

-- +goose Down
ALTER TABLE products DROP COLUMN start_sku;

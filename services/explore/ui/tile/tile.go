// Package tile renders explore's product tiles (the Category and Search fragments): image, name and
// "from {startPrice} Ø", linking to the product page.
package tile

import (
	"strconv"

	"github.com/inlay-dev/inlay/services/explore"
)

// Tile is what one tile shows.
type Tile struct {
	ID    string
	URL   string
	Name  string
	Label string // what the image shows: the name, and the variant's when the tile is one variant
	Image string // image URL; when empty a tractor is drawn in Color
	Color string
	Price string // "from 5700 Ø"
}

// FromSummary builds a product's tile: it links to the variant it shows (ProductSummary.URL): the one
// a search named (p.SKU), else the one its start price belongs to.
func FromSummary(p explore.ProductSummary) Tile {
	t := Tile{ID: p.ID, URL: p.URL(), Name: p.Name, Label: p.Name, Image: p.Image,
		Color: safeColor(p.Color), Price: "from " + strconv.FormatInt(p.StartPrice, 10) + " Ø"}
	if p.SKU != "" {
		t.Price = strconv.FormatInt(p.VariantPrice, 10) + " Ø"
		if p.VariantName != "" {
			t.Label = p.Name + " in " + p.VariantName
		}
	}
	return t
}

// FromSummaries builds the tiles of products, in order.
func FromSummaries(products []explore.ProductSummary) []Tile {
	tiles := make([]Tile, len(products))
	for i, p := range products {
		tiles[i] = FromSummary(p)
	}
	return tiles
}

// safeColor passes #rgb and #rrggbb colours and answers grey for anything else, so the colour is
// safe in an SVG attribute whatever an event carried.
func safeColor(c string) string {
	if (len(c) == 7 || len(c) == 4) && c[0] == '#' {
		for _, r := range c[1:] {
			if !(r >= '0' && r <= '9' || r >= 'a' && r <= 'f' || r >= 'A' && r <= 'F') {
				return "#808080"
			}
		}
		return c
	}
	return "#808080"
}

// alt is what the tile's image shows, for its alt text.
func (t Tile) alt() string {
	if t.Label != "" {
		return t.Label
	}
	return t.Name
}

// Package seed holds explore's own copy of the data it owns in the storefront catalog: categories,
// stores and home teasers. Products are not here: they reach explore only through decide's events.
package seed

import (
	_ "embed"
	"encoding/json"
	"fmt"

	"github.com/inlay-dev/inlay/services/explore"
)

//go:embed catalog.json
var catalogJSON []byte

// Data is the seed: what explore owns, in display order.
type Data struct {
	Categories []explore.Category `json:"categories"`
	Stores     []explore.Store    `json:"stores"`
	Teasers    []explore.Teaser   `json:"teasers"`
}

// Load decodes the embedded seed.
func Load() (Data, error) {
	var d Data
	if err := json.Unmarshal(catalogJSON, &d); err != nil {
		return Data{}, fmt.Errorf("decode explore seed: %w", err)
	}
	return d, nil
}

// Package static serves explore's assets — its stylesheet, the store picker's script, the logo and the
// store and teaser illustrations (the project's own SVGs) — under content-hashed names with
// Cache-Control: immutable. An asset's public name is its file name with the first 10 hex digits of
// its SHA-256 before the extension (img/store-a.svg → img/store-a.1f2e3d4c5b.svg), so a changed file
// gets a new URL and the old one stops resolving.
package static

import (
	"embed"

	"github.com/inlay-dev/inlay/fragments/assets"
)

//go:embed explore.css store-picker.js img/*.svg
var files embed.FS

// Assets are explore's content-hashed assets (see fragments/assets).
type Assets = assets.Assets

// New reads explore's embedded assets. prefix is where the browser finds explore's /static/: the shell
// serves a team's /static/x as /static/{context}/x, so explore's prefix is "/static/explore".
func New(prefix string) (*Assets, error) { return assets.New(files, "explore", prefix) }

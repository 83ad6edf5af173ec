// Package static serves checkout's assets — its stylesheet, its script and the compact header's
// logo (the project's own SVG) — under content-hashed names with Cache-Control: immutable. An
// asset's public name is its file name with the first 10 hex digits of its SHA-256 before the
// extension (checkout.js → checkout.1f2e3d4c5b.js), so a changed file gets a new URL.
package static

import (
	"embed"

	"github.com/inlay-dev/inlay/fragments/assets"
)

//go:embed checkout.css checkout.js img/*.svg
var files embed.FS

// Assets are checkout's content-hashed assets (see fragments/assets).
type Assets = assets.Assets

// New reads checkout's embedded assets. prefix is where the browser finds checkout's /static/: the shell
// serves a team's /static/x as /static/{context}/x, so checkout's prefix is "/static/checkout".
func New(prefix string) (*Assets, error) { return assets.New(files, "checkout", prefix) }

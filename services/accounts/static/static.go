// Package static serves accounts' assets (its stylesheet) under content-hashed names with
// Cache-Control: immutable (see fragments/assets).
package static

import (
	"embed"

	"github.com/inlay-dev/inlay/fragments/assets"
)

//go:embed accounts.css
var files embed.FS

// Assets are accounts' content-hashed assets.
type Assets = assets.Assets

// New reads accounts' embedded assets. prefix is where the browser finds accounts' /static/: the
// shell serves a team's /static/x as /static/{context}/x, so accounts' prefix is "/static/accounts".
func New(prefix string) (*Assets, error) { return assets.New(files, "accounts", prefix) }

package ui

import (
	"embed"

	"github.com/inlay-dev/inlay/fragments/assets"
)

// files holds the pattern library's assets: its stylesheet.
//
//go:embed ui.css
var files embed.FS

// Stylesheet is the name of the pattern library's stylesheet among Assets' files.
const Stylesheet = "ui.css"

// AssetPrefix is where the shell serves the pattern library's assets: /static/ui/ui.{hash}.css.
const AssetPrefix = "/static/ui"

// Assets returns the pattern library's assets, content-hashed, to be served behind prefix
// (AssetPrefix in the shell). Every composed page links URL(Stylesheet) once, so the components look
// the same in every team's fragments.
func Assets(prefix string) (*assets.Assets, error) {
	return assets.New(files, "ui", prefix)
}

// Package static holds the shell's own assets: the base stylesheet and design tokens, the boundary
// toggle, the composer's script and the site's icon. The shell serves them under /static/shell/. There is no htmx:
// the teams' own small scripts enhance their forms (README.md, "Interactivity").
package static

import "embed"

// FS holds the assets, by file name.
//
//go:embed *.css *.js *.svg
var FS embed.FS

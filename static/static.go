// Package static holds the shell's own assets: the base stylesheet and design tokens, htmx (2.0.11, the last 2.x:
// 0BSD, from the npm registry), the boundary toggle and the composer's script. The shell serves them
// under /static/shell/.
package static

import "embed"

// FS holds the assets, by file name.
//
//go:embed *.css *.js
var FS embed.FS

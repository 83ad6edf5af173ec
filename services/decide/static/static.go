// Package static serves decide's assets under /static with content-hashed names and
// Cache-Control: immutable: the product fragment's stylesheet and the tractor images, drawn (as SVG)
// in each variant's colour in two sizes. The hash in an image's name is taken over the SVG it
// names, so a changed drawing gets new URLs and old ones stop resolving.
package static

import (
	"bytes"
	"context"
	"crypto/sha256"
	_ "embed"
	"encoding/hex"
	"fmt"
	"strconv"
	"strings"
	"sync"

	"github.com/gofiber/fiber/v2"

	"github.com/inlay-dev/inlay/services/decide"
)

//go:embed decide.css
var css []byte

// immutable is the Cache-Control of every content-hashed asset.
const immutable = "public, max-age=31536000, immutable"

// Assets builds the public URLs of decide's assets and serves them.
type Assets struct {
	prefix  string // public URL prefix: "/static/decide" behind the shell
	cssName string

	mu   sync.Mutex
	urls map[imageKey]string // cache of built image URLs, bounded by the catalog's colours
}

type imageKey struct {
	color string
	size  decide.ImageSize
}

var _ decide.Images = (*Assets)(nil)

// New returns decide's assets, whose public URLs start with prefix (the shell serves a team's
// /static/x as /static/{context}/x, so decide's prefix there is "/static/decide").
func New(prefix string) *Assets {
	return &Assets{prefix: strings.TrimSuffix(prefix, "/"), cssName: "decide." + hash(css) + ".css",
		urls: map[imageKey]string{}}
}

// Stylesheet is the stylesheet's content-hashed name under /static/, as the manifest lists it.
func (a *Assets) Stylesheet() string { return a.cssName }

// StylesheetURL is the stylesheet's public URL.
func (a *Assets) StylesheetURL() string { return a.prefix + "/" + a.cssName }

// Version changes whenever an asset does: the hash of the stylesheet and a reference drawing.
func (a *Assets) Version() string {
	svg, _ := render("#808080", decide.ImageLarge)
	return hash(append(append([]byte{}, css...), svg...))
}

// ImageURL is the public, content-hashed URL of the tractor drawn in color at size. An invalid colour
// is drawn grey.
func (a *Assets) ImageURL(color string, size decide.ImageSize) string {
	c, err := decide.ParseColor(color)
	if err != nil {
		c = "#808080"
	}
	if size != decide.ImageSmall {
		size = decide.ImageLarge
	}
	k := imageKey{c, size}
	a.mu.Lock()
	defer a.mu.Unlock()
	if u, ok := a.urls[k]; ok {
		return u
	}
	svg, err := render(c, size)
	if err != nil {
		return ""
	}
	u := fmt.Sprintf("%s/img/tractor-%s-%s.%s.svg", a.prefix, c[1:], size, hash(svg))
	if len(a.urls) < 4096 {
		a.urls[k] = u
	}
	return u
}

// Mount adds the asset routes to r: GET /static/{stylesheet} and GET /static/img/{image}.
func (a *Assets) Mount(r fiber.Router) {
	r.Get("/static/img/:name", a.image)
	r.Get("/static/:name", a.stylesheet)
}

func (a *Assets) stylesheet(c *fiber.Ctx) error {
	if c.Params("name") != a.cssName {
		return fiber.ErrNotFound
	}
	c.Set(fiber.HeaderCacheControl, immutable)
	c.Set(fiber.HeaderContentType, "text/css; charset=utf-8")
	return c.Send(css)
}

// image serves tractor-{rrggbb}-{size}.{hash}.svg when hash is that drawing's hash.
func (a *Assets) image(c *fiber.Ctx) error {
	color, size, sum, ok := parseImageName(c.Params("name"))
	if !ok {
		return fiber.ErrNotFound
	}
	svg, err := render(color, size)
	if err != nil {
		return fmt.Errorf("draw tractor %s %s: %w", color, size, err)
	}
	if hash(svg) != sum {
		return fiber.ErrNotFound
	}
	c.Set(fiber.HeaderCacheControl, immutable)
	c.Set(fiber.HeaderContentType, "image/svg+xml")
	c.Set(fiber.HeaderETag, strconv.Quote(sum))
	if c.Get(fiber.HeaderIfNoneMatch) == strconv.Quote(sum) {
		return c.SendStatus(fiber.StatusNotModified)
	}
	return c.Send(svg)
}

func parseImageName(name string) (color string, size decide.ImageSize, sum string, ok bool) {
	rest, found := strings.CutPrefix(name, "tractor-")
	if !found {
		return "", "", "", false
	}
	rest, found = strings.CutSuffix(rest, ".svg")
	if !found {
		return "", "", "", false
	}
	parts := strings.FieldsFunc(rest, func(r rune) bool { return r == '-' || r == '.' })
	if len(parts) != 3 || len(parts[0]) != 6 {
		return "", "", "", false
	}
	c, err := decide.ParseColor("#" + parts[0])
	if err != nil || c[1:] != parts[0] {
		return "", "", "", false
	}
	switch s := decide.ImageSize(parts[1]); s {
	case decide.ImageSmall, decide.ImageLarge:
		return c, s, parts[2], true
	}
	return "", "", "", false
}

type palette struct{ base, shade string }

type dimensions struct {
	width, height string
	detailed      bool
}

var sizes = map[decide.ImageSize]dimensions{
	decide.ImageSmall: {width: "240", height: "170"},
	decide.ImageLarge: {width: "600", height: "425", detailed: true},
}

// render draws the tractor for a normalised colour.
func render(color string, size decide.ImageSize) ([]byte, error) {
	var buf bytes.Buffer
	if err := tractor(palette{base: color, shade: Shade(color, 0.7)}, sizes[size]).Render(context.Background(), &buf); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// Shade darkens a #rrggbb colour by factor (0 black, 1 unchanged).
func Shade(color string, factor float64) string {
	b, err := hex.DecodeString(strings.TrimPrefix(color, "#"))
	if err != nil || len(b) != 3 {
		return color
	}
	for i := range b {
		b[i] = byte(float64(b[i])*factor + 0.5)
	}
	return "#" + hex.EncodeToString(b)
}

func hash(b []byte) string {
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:5])
}

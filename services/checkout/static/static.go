// Package static serves checkout's assets — its stylesheet, its script and the compact header's
// logo (the project's own SVG) — under content-hashed names with Cache-Control: immutable. An
// asset's public name is its file name with the first 10 hex digits of its SHA-256 before the
// extension (checkout.js → checkout.1f2e3d4c5b.js), so a changed file gets a new URL.
package static

import (
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"fmt"
	"io/fs"
	"path"
	"strconv"
	"strings"

	"github.com/gofiber/fiber/v2"
)

//go:embed checkout.css checkout.js img/*.svg
var files embed.FS

// immutable is the Cache-Control of every content-hashed asset.
const immutable = "public, max-age=31536000, immutable"

// Assets maps checkout's asset files to their content-hashed names and serves them.
type Assets struct {
	prefix  string
	version string
	byName  map[string]*asset
	byPath  map[string]*asset
}

type asset struct {
	path, contentType, etag string
	body                    []byte
}

// New reads the embedded assets. prefix is where the browser finds checkout's /static/ (the shell
// serves it at "/static/checkout").
func New(prefix string) (*Assets, error) {
	a := &Assets{prefix: strings.TrimSuffix(prefix, "/"), byName: map[string]*asset{}, byPath: map[string]*asset{}}
	all := sha256.New()
	err := fs.WalkDir(files, ".", func(name string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		body, err := files.ReadFile(name)
		if err != nil {
			return fmt.Errorf("read asset %s: %w", name, err)
		}
		sum := sha256.Sum256(body)
		h := hex.EncodeToString(sum[:5])
		ext := path.Ext(name)
		as := &asset{path: strings.TrimSuffix(name, ext) + "." + h + ext, body: body, etag: strconv.Quote(h),
			contentType: contentType(ext)}
		a.byName[name], a.byPath[as.path] = as, as
		all.Write([]byte(name))
		all.Write(sum[:])
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("checkout assets: %w", err)
	}
	a.version = hex.EncodeToString(all.Sum(nil)[:6])
	return a, nil
}

func contentType(ext string) string {
	switch ext {
	case ".js":
		return "text/javascript; charset=utf-8"
	case ".css":
		return "text/css; charset=utf-8"
	case ".svg":
		return "image/svg+xml"
	}
	return "application/octet-stream"
}

// Version changes whenever any asset does.
func (a *Assets) Version() string { return a.version }

// Path is the content-hashed name of file name under /static/, as the manifest lists it. It fails
// for a file that is not embedded, so a typo stops the service at start.
func (a *Assets) Path(name string) (string, error) {
	as, ok := a.byName[name]
	if !ok {
		return "", fmt.Errorf("checkout asset %q does not exist", name)
	}
	return as.path, nil
}

// URL is the public URL of file name.
func (a *Assets) URL(name string) (string, error) {
	p, err := a.Path(name)
	if err != nil {
		return "", err
	}
	return a.prefix + "/" + p, nil
}

// Mount adds GET /static/* to r.
func (a *Assets) Mount(r fiber.Router) { r.Get("/static/*", a.serve) }

func (a *Assets) serve(c *fiber.Ctx) error {
	as, ok := a.byPath[c.Params("*")]
	if !ok {
		return fiber.ErrNotFound
	}
	c.Set(fiber.HeaderCacheControl, immutable)
	c.Set(fiber.HeaderContentType, as.contentType)
	c.Set(fiber.HeaderETag, as.etag)
	c.Set(fiber.HeaderXContentTypeOptions, "nosniff")
	if c.Get(fiber.HeaderIfNoneMatch) == as.etag {
		return c.SendStatus(fiber.StatusNotModified)
	}
	return c.Send(as.body)
}

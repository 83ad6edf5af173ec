// Package assets serves a team's static assets — stylesheets, scripts, images — under content-hashed
// names with Cache-Control: immutable, as the fragment contract asks (docs/fragments.md). An asset's public
// name is its file name with the first 10 hex digits of its SHA-256 before the extension
// (img/store-a.svg → img/store-a.1f2e3d4c5b.svg), so a changed file gets a new URL and the old one
// stops resolving. Manifests list Path(name); pages and fragments link URL(name).
package assets

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io/fs"
	"mime"
	"path"
	"slices"
	"strconv"
	"strings"

	"github.com/gofiber/fiber/v2"
)

// immutable is the Cache-Control of every content-hashed asset.
const immutable = "public, max-age=31536000, immutable"

// Assets maps a team's asset files to their content-hashed names and serves them.
type Assets struct {
	team    string
	prefix  string
	version string
	byName  map[string]*asset // by file name: "img/store-a.svg"
	byPath  map[string]*asset // by hashed name: "img/store-a.1f2e3d4c5b.svg"
}

type asset struct {
	path        string
	contentType string
	etag        string
	body        []byte
}

// New reads every file of files as an asset of team. prefix is where the browser finds the team's
// /static/: the shell serves a team's /static/x as /static/{context}/x, so explore's prefix is
// "/static/explore" (fragments.AssetURL(team, "")).
func New(files fs.FS, team, prefix string) (*Assets, error) {
	a := &Assets{team: team, prefix: strings.TrimSuffix(prefix, "/"), byName: map[string]*asset{}, byPath: map[string]*asset{}}
	all := sha256.New()
	err := fs.WalkDir(files, ".", func(name string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		body, err := fs.ReadFile(files, name)
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
		return nil, fmt.Errorf("%s assets: %w", team, err)
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
	if t := mime.TypeByExtension(ext); t != "" {
		return t
	}
	return "application/octet-stream"
}

// Version changes whenever any asset does.
func (a *Assets) Version() string { return a.version }

// Names lists every asset's file name, sorted.
func (a *Assets) Names() []string {
	names := make([]string, 0, len(a.byName))
	for n := range a.byName {
		names = append(names, n)
	}
	slices.Sort(names)
	return names
}

// Path is the content-hashed name of the file name under /static/, as manifests list assets. It
// fails for a file that is not embedded: call it while wiring, so a typo stops the service at start.
func (a *Assets) Path(name string) (string, error) {
	as, ok := a.byName[name]
	if !ok {
		return "", fmt.Errorf("%s asset %q does not exist", a.team, name)
	}
	return as.path, nil
}

// URL is the public URL of the file name, behind the prefix given to New.
func (a *Assets) URL(name string) (string, error) {
	p, err := a.Path(name)
	if err != nil {
		return "", err
	}
	return a.prefix + "/" + p, nil
}

// Mount adds GET /static/* to r.
func (a *Assets) Mount(r fiber.Router) {
	r.Get("/static/*", a.serve)
}

// Handler serves the asset whose hashed name is the route's wildcard parameter, for a route other
// than /static/* (the shell serves the pattern library's at /static/ui/*).
func (a *Assets) Handler() fiber.Handler { return a.serve }

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

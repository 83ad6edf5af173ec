// Package ui is explore's fragment surface: it builds the manifest and mounts every fragment under
// /fragments/{name} behind the Inlay-Context check. One sub-package per fragment holds its handler and
// templ view: header, footer, teasers, category, stores, storepicker and search (tile is the product
// tile the category and search share).
package ui

import (
	"bytes"
	"context"
	"fmt"
	"time"

	"github.com/a-h/templ"
	"github.com/gofiber/fiber/v2"

	"github.com/inlay-dev/inlay/fragments"
	"github.com/inlay-dev/inlay/services/explore/static"
	"github.com/inlay-dev/inlay/services/explore/ui/category"
	"github.com/inlay-dev/inlay/services/explore/ui/footer"
	"github.com/inlay-dev/inlay/services/explore/ui/header"
	"github.com/inlay-dev/inlay/services/explore/ui/search"
	"github.com/inlay-dev/inlay/services/explore/ui/storepicker"
	"github.com/inlay-dev/inlay/services/explore/ui/stores"
	"github.com/inlay-dev/inlay/services/explore/ui/teasers"
)

// Context is explore's context name: its manifest name, data-boundary and asset prefix.
const Context = "explore"

// Catalog is everything explore's fragments read.
type Catalog interface {
	category.Catalog
	stores.StoreLister
	teasers.TeaserReader
	search.Searcher
}

// Options configures Mount.
type Options struct {
	Catalog Catalog
	Assets  *static.Assets
	// Verifier checks the shell's Inlay-Context on every fragment request.
	Verifier *fragments.Verifier
}

// Mount adds the manifest and the fragments to r and returns the manifest.
func Mount(r fiber.Router, opts Options) (fragments.Manifest, error) {
	if opts.Catalog == nil || opts.Assets == nil || opts.Verifier == nil {
		return fragments.Manifest{}, fmt.Errorf("explore ui: Catalog, Assets and Verifier are required")
	}
	u, err := resolve(opts.Assets)
	if err != nil {
		return fragments.Manifest{}, err
	}
	m, err := manifest(opts.Assets.Version(), u)
	if err != nil {
		return fragments.Manifest{}, err
	}
	fragments.ServeManifest(r, m)
	opts.Assets.Mount(r)

	g := r.Group("/fragments", fragments.Middleware(opts.Verifier))
	assets := func(name string) fragments.RenderOption { return fragments.Assets(m, name) }
	g.Get("/"+header.Name, header.Handler(header.Props{LogoURL: u.logo}, assets(header.Name)))
	g.Get("/"+footer.Name, footer.Handler(assets(footer.Name)))
	g.Get("/"+teasers.Name, teasers.Handler(opts.Catalog, u.teasers, assets(teasers.Name)))
	g.Get("/"+category.Name, category.Handler(opts.Catalog, assets(category.Name)))
	g.Get("/"+stores.Name, stores.Handler(opts.Catalog, u.stores, assets(stores.Name)))
	g.Get("/"+storepicker.Name, storepicker.Handler(opts.Catalog, u.stores, u.pickerScript, assets(storepicker.Name)))
	g.Get("/"+search.Name, search.Handler(opts.Catalog, assets(search.Name)))
	return m, nil
}

// urls are the asset paths and URLs the fragments use, resolved once at start.
type urls struct {
	css, pickerJS string // paths under /static/, for the manifest
	logo          string
	pickerScript  string
	teasers       map[string]string // by category
	stores        map[string]string // by store id
}

func resolve(a *static.Assets) (urls, error) {
	var u urls
	var errs []error
	path := func(name string) string {
		p, err := a.Path(name)
		errs = append(errs, err)
		return p
	}
	url := func(name string) string {
		p, err := a.URL(name)
		errs = append(errs, err)
		return p
	}
	u.css = path("explore.css")
	u.pickerJS = path("store-picker.js")
	u.pickerScript = url("store-picker.js")
	u.logo = url("img/logo.svg")
	u.teasers = map[string]string{"classic": url("img/teaser-classic.svg"), "autonomous": url("img/teaser-autonomous.svg")}
	u.stores = map[string]string{}
	for _, id := range []string{"store-a", "store-b", "store-c", "store-d"} {
		u.stores[id] = url("img/" + id + ".svg")
	}
	for _, err := range errs {
		if err != nil {
			return urls{}, err
		}
	}
	return u, nil
}

func manifest(version string, u urls) (fragments.Manifest, error) {
	css := []string{u.css}
	frag := func(timeout time.Duration, fallback templ.Component, params ...string) (fragments.Fragment, error) {
		var b bytes.Buffer
		if err := fallback.Render(context.Background(), &b); err != nil {
			return fragments.Fragment{}, fmt.Errorf("render fallback: %w", err)
		}
		return fragments.Fragment{Params: params, Timeout: fragments.Duration(timeout), Fallback: b.String(),
			Cache: fragments.Public, CSS: css}, nil
	}
	m := fragments.Manifest{Name: Context, Version: version, Fragments: map[string]fragments.Fragment{}}
	for _, f := range []struct {
		name     string
		timeout  time.Duration
		fallback templ.Component
		params   []string
	}{
		{header.Name, 300 * time.Millisecond, headerFallback(), nil},
		{footer.Name, 300 * time.Millisecond, footer.View(), nil},
		{teasers.Name, 500 * time.Millisecond, teasersFallback(), nil},
		{category.Name, time.Second, unavailable("explore-category", "The machines cannot be shown right now. Please try again in a moment."), []string{category.Param}},
		{stores.Name, 500 * time.Millisecond, unavailable("explore-stores", "Our stores cannot be shown right now. Please try again in a moment."), nil},
		{storepicker.Name, 500 * time.Millisecond, unavailable("explore-store-picker", "Stores cannot be loaded right now. Please reload the page to choose a store."), []string{storepicker.Param}},
		{search.Name, time.Second, unavailable("explore-search", "Search is not available right now. Please try again in a moment."), []string{search.Param}},
	} {
		frag, err := frag(f.timeout, f.fallback, f.params...)
		if err != nil {
			return fragments.Manifest{}, fmt.Errorf("explore manifest: %s: %w", f.name, err)
		}
		m.Fragments[f.name] = frag
	}
	sp := m.Fragments[storepicker.Name]
	sp.JS = []string{u.pickerJS}
	m.Fragments[storepicker.Name] = sp
	if err := m.Validate(); err != nil {
		return fragments.Manifest{}, err
	}
	return m, nil
}

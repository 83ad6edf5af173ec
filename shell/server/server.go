// Package server wires the shell process: page routes composed by the engine, the shell's own assets,
// and the proxy to the teams. shelld's main only loads the configuration and calls New.
package server

import (
	"bytes"
	"context"
	"fmt"
	"io/fs"
	"log/slog"
	"mime"
	"path"

	"github.com/gofiber/fiber/v2"

	"github.com/inlay-dev/inlay/shell"
	"github.com/inlay-dev/inlay/static"
)

// Options configures New.
type Options struct {
	Config Config
	Log    *slog.Logger
	// Pages are the templ-layout pages (shell/pages.All()).
	Pages []shell.Page
}

// Shell is the shell's HTTP surface, mounted on a kit server's Fiber app.
type Shell struct {
	opts   Options
	log    *slog.Logger
	assets map[string]asset
}

type asset struct {
	body        []byte
	contentType string
}

// New builds the shell from its configuration.
func New(ctx context.Context, opts Options) (*Shell, error) {
	s := &Shell{opts: opts, log: opts.Log, assets: map[string]asset{}}
	err := fs.WalkDir(static.FS, ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || path.Ext(p) == ".go" {
			return err
		}
		b, err := fs.ReadFile(static.FS, p)
		if err != nil {
			return fmt.Errorf("read asset %s: %w", p, err)
		}
		s.assets[p] = asset{body: b, contentType: mime.TypeByExtension(path.Ext(p))}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return s, nil
}

// Mount adds the shell's routes to app.
func (s *Shell) Mount(app *fiber.App) {
	app.Get("/static/shell/*", s.serveAsset)
	for _, p := range s.opts.Pages {
		app.Get(p.Route, s.pageHandler(p))
	}
}

// Run does the shell's background work until ctx is done.
func (s *Shell) Run(ctx context.Context) error {
	<-ctx.Done()
	return ctx.Err()
}

// Close releases the shell's resources.
func (s *Shell) Close() {}

func (s *Shell) serveAsset(c *fiber.Ctx) error {
	a, ok := s.assets[c.Params("*")]
	if !ok {
		return fiber.ErrNotFound
	}
	c.Set(fiber.HeaderContentType, a.contentType)
	c.Set(fiber.HeaderCacheControl, "public, max-age=300")
	return c.Send(a.body)
}

func (s *Shell) pageHandler(p shell.Page) fiber.Handler {
	return func(c *fiber.Ctx) error {
		params := map[string]string{}
		for _, k := range c.Route().Params {
			params[k] = c.Params(k)
		}
		req := shell.PageRequest{Path: c.Path(), Params: params, Locale: "en"}
		var buf bytes.Buffer
		if err := p.Layout(req).Render(c.UserContext(), &buf); err != nil {
			return fmt.Errorf("render %s: %w", p.Name, err)
		}
		c.Set(fiber.HeaderContentType, fiber.MIMETextHTMLCharsetUTF8)
		return c.Send(buf.Bytes())
	}
}

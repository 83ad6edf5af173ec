package fragments

import (
	"encoding/json"
	"errors"
	"fmt"
	"path"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/gofiber/fiber/v2"
)

// Limits Validate enforces on fragment timeouts: the shell waits at most this long for any fragment.
const (
	MinTimeout = time.Millisecond
	MaxTimeout = 30 * time.Second
)

// ManifestCacheControl is what ServeManifest answers with: fresh briefly, so that the shell's periodic
// re-read picks a new version up within seconds, and cheap to revalidate with the ETag.
const ManifestCacheControl = "public, max-age=5, stale-while-revalidate=30"

var (
	// NamePattern is what context and fragment names look like: they appear in
	// <inlay-fragment src="context/name"> and in URLs, so nothing else is allowed.
	NamePattern  = regexp.MustCompile(`^[a-z][a-z0-9-]{0,62}$`)
	paramPattern = regexp.MustCompile(`^[A-Za-z][A-Za-z0-9_.-]{0,62}$`)
	// documentTag finds markup that makes a fragment a page: fallbacks must be fragments too.
	documentTag = regexp.MustCompile(`(?i)<\s*(!doctype|html|head|body)[\s>/]`)
)

// Validate reports every problem of m, joined: the team name and fragment names must match
// NamePattern, the version must be set, params must be plain names without duplicates, timeouts
// must be zero (the shell's default) or within [MinTimeout, MaxTimeout], the cache policy must be
// Public or Private (Private when it asks for the CSRF token), fallbacks must not be documents, and assets must be clean paths relative to
// the team's /static/ (.css for CSS, .js or .mjs for JS).
func (m Manifest) Validate() error {
	var errs []error
	if !NamePattern.MatchString(m.Name) {
		errs = append(errs, fmt.Errorf("name %q: want %s", m.Name, NamePattern))
	}
	if strings.TrimSpace(m.Version) == "" || strings.ContainsFunc(m.Version, isSpaceOrControl) {
		errs = append(errs, fmt.Errorf("version %q: want a non-empty token without spaces", m.Version))
	}
	names := make([]string, 0, len(m.Fragments))
	for name := range m.Fragments {
		names = append(names, name)
	}
	slices.Sort(names)
	for _, name := range names {
		if err := m.Fragments[name].validate(); err != nil {
			errs = append(errs, fmt.Errorf("fragment %q: %w", name, err))
		}
		if !NamePattern.MatchString(name) {
			errs = append(errs, fmt.Errorf("fragment %q: name: want %s", name, NamePattern))
		}
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("manifest %q: %w", m.Name, err)
	}
	return nil
}

func (f Fragment) validate() error {
	var errs []error
	seen := map[string]bool{}
	for _, p := range f.Params {
		if !paramPattern.MatchString(p) {
			errs = append(errs, fmt.Errorf("param %q: want %s", p, paramPattern))
		}
		if seen[p] {
			errs = append(errs, fmt.Errorf("param %q: listed twice", p))
		}
		seen[p] = true
	}
	if t := time.Duration(f.Timeout); t != 0 && (t < MinTimeout || t > MaxTimeout) {
		errs = append(errs, fmt.Errorf("timeout %s: want 0 (default) or between %s and %s", t, MinTimeout, MaxTimeout))
	}
	if f.Cache != Public && f.Cache != Private {
		errs = append(errs, fmt.Errorf("cache %q: want %q or %q", f.Cache, Public, Private))
	}
	if documentTag.MatchString(f.Fallback) {
		errs = append(errs, errors.New("fallback: holds a document tag (html, head, body or doctype)"))
	}
	for _, p := range f.CSS {
		if err := validateAsset(p, ".css"); err != nil {
			errs = append(errs, fmt.Errorf("css %q: %w", p, err))
		}
	}
	for _, p := range f.JS {
		if err := validateAsset(p, ".js", ".mjs"); err != nil {
			errs = append(errs, fmt.Errorf("js %q: %w", p, err))
		}
	}
	return errors.Join(errs...)
}

func validateAsset(p string, exts ...string) error {
	switch {
	case p == "":
		return errors.New("empty")
	case strings.ContainsAny(p, ":?#\\") || strings.ContainsFunc(p, isSpaceOrControl):
		return errors.New("want a plain path, relative to the team's /static/ (no scheme, query or spaces)")
	case strings.HasPrefix(p, "/"):
		return errors.New("want a path relative to the team's /static/, without a leading slash")
	case path.Clean(p) != p || strings.HasPrefix(p, "../") || p == "..":
		return errors.New("want a clean path inside /static/")
	}
	for _, e := range exts {
		if strings.HasSuffix(p, e) {
			return nil
		}
	}
	return fmt.Errorf("want a name ending in %s", strings.Join(exts, " or "))
}

func isSpaceOrControl(r rune) bool { return r <= ' ' || r == 0x7f }

// VersionHeader names, on every answer under /fragments/, the version of the manifest the team's
// process serves (ServeManifest sets it): the shell checks that a fragment came from an instance of
// the version whose stylesheets the page links, which a health check's view of an instance that has
// just been replaced by another version may not (Client.Fetch).
const VersionHeader = "Inlay-Version"

// ServeManifest registers GET ManifestPath on r, answering m as JSON with ManifestCacheControl, a
// strong ETag and 304 on If-None-Match. The JSON is encoded once, here. Every answer under /fragments/
// registered on r after it carries m's version in VersionHeader: call it before adding the fragments.
//
// It panics if m does not Validate, as http.ServeMux.Handle panics on a bad pattern: a broken
// manifest is a programming error that must stop the service at startup (and fail its tests), not
// reach the shell.
func ServeManifest(r fiber.Router, m Manifest) {
	if err := m.Validate(); err != nil {
		panic(fmt.Sprintf("fragments.ServeManifest: %v", err))
	}
	body, err := json.Marshal(m)
	if err != nil {
		panic(fmt.Sprintf("fragments.ServeManifest: encode manifest %q: %v", m.Name, err))
	}
	etag := ETag(body)
	r.Use("/fragments", func(c *fiber.Ctx) error {
		c.Set(VersionHeader, m.Version)
		return c.Next()
	})
	r.Get(ManifestPath, func(c *fiber.Ctx) error {
		c.Set(fiber.HeaderCacheControl, ManifestCacheControl)
		c.Set(fiber.HeaderETag, etag)
		if ETagMatch(c.Get(fiber.HeaderIfNoneMatch), etag) {
			c.Status(fiber.StatusNotModified)
			return nil
		}
		c.Set(fiber.HeaderContentType, fiber.MIMEApplicationJSONCharsetUTF8)
		return c.Send(body)
	})
}

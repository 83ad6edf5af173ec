package fragments

import (
	"bytes"
	"crypto/sha256"
	"encoding/base64"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/a-h/templ"
	"github.com/gofiber/fiber/v2"
)

// Default freshness of public fragments; override per fragment with MaxAge and StaleWhileRevalidate.
const (
	DefaultMaxAge               = 60 * time.Second
	DefaultStaleWhileRevalidate = 5 * time.Minute
)

// privateCacheControl is what a personal fragment answers: nobody may store it.
const privateCacheControl = "private, no-store"

// RenderOption adjusts how Render answers.
type RenderOption func(*renderOptions)

type renderOptions struct {
	tags   []string
	status int
	maxAge time.Duration
	swr    time.Duration
	vary   []string
	css    []string
	js     []string
	title  string
}

// Tags names what the fragment shows as cache tags (TagsHeader, "product:CL-01"), so a team purges
// the shell's copies of every fragment that shows a product with one purge by tag.
func Tags(tags ...string) RenderOption {
	return func(o *renderOptions) { o.tags = append(o.tags, tags...) }
}

// ProductTag is the cache tag of a fragment that shows product id (its name, price or picture).
func ProductTag(id string) string { return "product:" + id }

// SKUTag is the cache tag of a fragment that shows one variant's own figures (checkout's price and
// stock of it), which the team that holds them purges without taking every fragment of the product.
func SKUTag(sku string) string { return "sku:" + sku }

// Status sets the response status (default 200). A primary fragment answers 404 with its not-found
// content, and the shell gives the page that status. ETag revalidation applies to 200 only.
func Status(code int) RenderOption { return func(o *renderOptions) { o.status = code } }

// MaxAge sets how long a public fragment is fresh (default DefaultMaxAge), in whole seconds.
func MaxAge(d time.Duration) RenderOption { return func(o *renderOptions) { o.maxAge = d } }

// StaleWhileRevalidate sets how long a stale public fragment may still be served while it is
// refetched (default DefaultStaleWhileRevalidate); zero leaves the directive out.
func StaleWhileRevalidate(d time.Duration) RenderOption {
	return func(o *renderOptions) { o.swr = d }
}

// Vary names request headers the fragment's content depends on, e.g. "Accept-Language" when it is
// localised. Caches (the shell's included) key public fragments on them.
func Vary(headers ...string) RenderOption {
	return func(o *renderOptions) { o.vary = append(o.vary, headers...) }
}

// CSS adds stylesheet URLs, sent as `Link: <url>; rel=stylesheet`.
func CSS(urls ...string) RenderOption {
	return func(o *renderOptions) { o.css = append(o.css, urls...) }
}

// JS adds module script URLs, sent as `Link: <url>; rel=modulepreload`.
func JS(urls ...string) RenderOption { return func(o *renderOptions) { o.js = append(o.js, urls...) } }

// Assets adds the CSS and JS the manifest m declares for the named fragment, as the URLs the browser
// loads them from through the shell: /static/{m.Name}/{path}.
func Assets(m Manifest, fragment string) RenderOption {
	return func(o *renderOptions) {
		f := m.Fragments[fragment]
		for _, p := range f.CSS {
			o.css = append(o.css, AssetURL(m.Name, p))
		}
		for _, p := range f.JS {
			o.js = append(o.js, AssetURL(m.Name, p))
		}
	}
}

// AssetURL is where the browser loads a team's asset through the shell: /static/{context}/{path},
// where path is relative to the team's own /static/ (as manifests declare assets).
func AssetURL(context, path string) string {
	return "/static/" + context + "/" + strings.TrimPrefix(path, "/")
}

var bufPool = sync.Pool{New: func() any { return new(bytes.Buffer) }}

// maxPooledBuffer keeps an occasional huge fragment from pinning its buffer in the pool.
const maxPooledBuffer = 1 << 20

// Render serves comp as a fragment: it renders into a buffer (so a render error still yields a
// clean error response, never half a fragment), then sets Content-Type, Cache-Control for policy p
// (public: max-age and stale-while-revalidate; private: "private, no-store"), a strong ETag over the
// body, Vary and Link headers, and answers 304 without a body when If-None-Match matches.
func Render(c *fiber.Ctx, comp templ.Component, p CachePolicy, opts ...RenderOption) error {
	o := renderOptions{status: fiber.StatusOK, maxAge: DefaultMaxAge, swr: DefaultStaleWhileRevalidate}
	for _, opt := range opts {
		opt(&o)
	}
	buf := bufPool.Get().(*bytes.Buffer) //nolint:forcetypeassert // the pool holds only *bytes.Buffer
	buf.Reset()
	defer func() {
		if buf.Cap() <= maxPooledBuffer {
			bufPool.Put(buf)
		}
	}()
	if err := comp.Render(c.UserContext(), buf); err != nil {
		return fmt.Errorf("render fragment %s: %w", c.Path(), err)
	}

	h := &c.Response().Header
	switch p {
	case Public:
		h.Set(fiber.HeaderCacheControl, publicCacheControl(o.maxAge, o.swr))
	case Private:
		h.Set(fiber.HeaderCacheControl, privateCacheControl)
	default:
		return fmt.Errorf("render fragment %s: unknown cache policy %q", c.Path(), p)
	}
	if len(o.vary) > 0 {
		h.Set(fiber.HeaderVary, strings.Join(o.vary, ", "))
	}
	if link := linkHeader(o.css, o.js); link != "" {
		h.Set(fiber.HeaderLink, link)
	}
	if tags := ParseTags(JoinTags(o.tags...)); len(tags) > 0 {
		h.Set(TagsHeader, JoinTags(tags...))
	}
	if t := EncodeTitle(o.title); t != "" {
		h.Set(TitleHeader, t)
	}
	h.SetContentType(fiber.MIMETextHTMLCharsetUTF8)

	if o.status != fiber.StatusOK {
		c.Status(o.status)
		c.Response().SetBody(buf.Bytes()) // copies: the buffer goes back to the pool
		return nil
	}
	etag := ETag(buf.Bytes())
	h.Set(fiber.HeaderETag, etag)
	if ETagMatch(c.Get(fiber.HeaderIfNoneMatch), etag) {
		c.Status(fiber.StatusNotModified)
		c.Response().ResetBody()
		return nil
	}
	c.Status(fiber.StatusOK)
	// SetBody copies, unlike c.Send (SetBodyRaw), which would hand fasthttp a buffer that goes back
	// to the pool and is overwritten by the next render before this response is written.
	c.Response().SetBody(buf.Bytes())
	return nil
}

func publicCacheControl(maxAge, swr time.Duration) string {
	s := "public, max-age=" + strconv.FormatInt(int64(maxAge/time.Second), 10)
	if swr > 0 {
		s += ", stale-while-revalidate=" + strconv.FormatInt(int64(swr/time.Second), 10)
	}
	return s
}

func linkHeader(css, js []string) string {
	var b strings.Builder
	add := func(url, rel string) {
		if b.Len() > 0 {
			b.WriteString(", ")
		}
		b.WriteString("<")
		b.WriteString(url)
		b.WriteString(">; rel=")
		b.WriteString(rel)
	}
	for _, u := range css {
		add(u, "stylesheet")
	}
	for _, u := range js {
		add(u, "modulepreload")
	}
	return b.String()
}

// ETag returns the strong entity tag of body: a quoted, base64url SHA-256 prefix (128 bits).
func ETag(body []byte) string {
	sum := sha256.Sum256(body)
	return `"` + base64.RawURLEncoding.EncodeToString(sum[:16]) + `"`
}

// ETagMatch reports whether an If-None-Match header value matches etag, by the weak comparison
// RFC 9110 prescribes for If-None-Match ("*", lists, W/ prefixes).
func ETagMatch(ifNoneMatch, etag string) bool {
	if ifNoneMatch == "" || etag == "" {
		return false
	}
	want := strings.TrimPrefix(etag, "W/")
	for _, t := range strings.Split(ifNoneMatch, ",") {
		t = strings.TrimSpace(t)
		if t == "*" || strings.TrimPrefix(t, "W/") == want {
			return true
		}
	}
	return false
}

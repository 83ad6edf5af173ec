// Fetching a slot's fragment: the cache policy (fresh, stale while revalidating, one request per
// missed key, pass-through for answers that are not cacheable), the team request, and the
// classification of its answer.

package compose

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"strings"
	"time"
	"unicode/utf8"

	"go.opentelemetry.io/otel/trace"

	"github.com/inlay-dev/inlay/fragments"
)

// fetch gets a slot's fragment: from the cache when it can, else from the team.
func (c *Composition) fetch(s *slot) {
	start := c.e.opts.Now()
	ctx := c.startSpan(s)
	timeout := c.timeout(s)
	if s.key != "" && !c.e.passing(s.key, start) {
		en := c.e.opts.Cache.get(c.ctx, s.key)
		if en != nil && !en.pass {
			switch en.freshness(c.e.opts.Now()) {
			case fresh:
				s.cacheControl, s.etag, s.title = en.cacheControl(c.e.opts.Now()), en.etag, en.title
				c.succeed(s, en.body, en.tmpl, SourceCache, c.e.opts.Now().Sub(start), en.version)
				return
			case stale:
				s.cacheControl, s.etag, s.title = en.cacheControl(c.e.opts.Now()), en.etag, en.title
				c.succeed(s, en.body, en.tmpl, SourceStale, c.e.opts.Now().Sub(start), en.version)
				c.e.revalidate(s.ref, s.key, en, c.forwarded(false), timeout)
				return
			}
		}
		// A miss (or only a last good copy): concurrent misses for one key make one request. A copy
		// that may be shared is fetched with the bare context: it never carries a visitor's token.
		ch := c.e.sf.DoChan(s.key, func() (any, error) {
			ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), timeout)
			defer cancel()
			return c.e.fetchAndStore(ctx, s.ref, s.key, c.forwarded(false), timeout, en)
		})
		if c.e.joined != nil {
			c.e.joined(s.key)
		}
		r := <-ch
		f, _ := r.Val.(fetched)
		c.finish(s, f.resp, f.entry, r.Err, c.e.opts.Now().Sub(start))
		return
	}
	resp, err := c.e.opts.Client.Fetch(ctx, fragments.FetchRequest{Team: s.ref.team.Name, Path: s.ref.path,
		Query: s.ref.query, Forwarded: c.forwarded(s.ref.frag.CSRF && s.ref.frag.Cache == fragments.Private), Timeout: timeout, Version: s.ref.version,
		Traced: true})
	if err == nil {
		err = c.e.validate(resp)
	}
	s.resp = resp
	c.finish(s, resp, nil, err, c.e.opts.Now().Sub(start))
}

func (c *Composition) timeout(s *slot) time.Duration {
	switch {
	case s.tag.Timeout > 0:
		return s.tag.Timeout
	case s.ref.frag.Timeout > 0:
		return time.Duration(s.ref.frag.Timeout)
	default:
		return c.e.opts.DefaultTimeout
	}
}

// passing reports a key whose last answer was not cacheable: fetch it directly.
func (e *Engine) passing(key string, now time.Time) bool {
	en := e.opts.Cache.local(key)
	return en != nil && en.pass && en.freshness(now) == fresh
}

// fetched is the shared result of one (singleflight) fetch.
type fetched struct {
	resp  *fragments.FetchResponse
	entry *entry // the stored (or revalidated) entry, when the answer was cacheable
}

// fetchAndStore fetches a cacheable fragment and stores a cacheable answer. old, when not nil, is
// revalidated with its ETag.
func (e *Engine) fetchAndStore(ctx context.Context, r ref, key string, fwd fragments.Forwarded, timeout time.Duration, old *entry) (fetched, error) {
	// Under a slot's recording span (a page's fetch, joined by concurrent misses) that span records the
	// request; a revalidation in the background gets a client span of its own.
	req := fragments.FetchRequest{Team: r.team.Name, Path: r.path, Query: r.query, Forwarded: fwd, Timeout: timeout,
		Version: r.version, Traced: trace.SpanFromContext(ctx).IsRecording()}
	if old != nil && old.etag != "" {
		req.IfNoneMatch = old.etag
	}
	// A purge of the key or of one of its tags while the request is under way: the answer may be
	// from before the change the purge is for, so it serves this page and is not stored.
	gen := e.opts.Cache.generation()
	resp, err := e.opts.Client.Fetch(ctx, req)
	if err != nil {
		return fetched{resp: resp}, err
	}
	if resp.Status == 304 && old != nil {
		if e.opts.Cache.purgedSince(gen, key, old.tags) {
			return fetched{resp: &fragments.FetchResponse{Status: 200, Body: old.body, Title: old.title, Duration: resp.Duration}}, nil
		}
		pol := parseCacheControl(resp.CacheControl)
		en := *old
		en.stored = e.opts.Now()
		if pol.ok {
			en.maxAge, en.swr = pol.maxAge, pol.swr
		}
		if resp.Title != "" {
			// A 304's headers update the stored ones (RFC 9111, 4.3.4): a copy stored without a title
			// (by a shell or a team of the release before) gets the one the team sends now. The ETag
			// covers the body only.
			en.title = resp.Title
		}
		e.opts.Cache.put(ctx, key, &en)
		return fetched{resp: &fragments.FetchResponse{Status: 200, Body: en.body, Duration: resp.Duration}, entry: &en}, nil
	}
	if err := e.validate(resp); err != nil {
		return fetched{resp: resp}, err
	}
	if resp.Status != 200 {
		return fetched{resp: resp}, nil
	}
	if r.version != "" && resp.Version != "" && resp.Version != r.version {
		// Another version's answer (no instance of the page's version was left to ask): this page
		// shows it, but it is not stored under this version's key.
		return fetched{resp: resp}, nil
	}
	pol := parseCacheControl(resp.CacheControl)
	if pol.ok && e.opts.Cache.purgedSince(gen, key, resp.Tags) {
		return fetched{resp: resp}, nil
	}
	if !pol.ok || varyPersonal(resp.Vary) {
		e.opts.Cache.putLocal(key, &entry{pass: true, stored: e.opts.Now(), maxAge: passTTL})
		return fetched{resp: resp}, nil
	}
	// The cached copy gets memory of its own size, not the client's pooled buffer.
	body := bytes.Clone(resp.Body)
	resp.Release()
	resp.Body = body
	en := &entry{body: resp.Body, etag: resp.ETag, stored: e.opts.Now(), maxAge: pol.maxAge, swr: pol.swr,
		version: r.team.Version(), tags: resp.Tags, title: resp.Title, tmpl: parseFragment(resp.Body)}
	e.opts.Cache.put(ctx, key, en)
	return fetched{resp: resp, entry: en}, nil
}

// revalidate refreshes a stale entry in the background, once per key at a time.
func (e *Engine) revalidate(r ref, key string, old *entry, fwd fragments.Forwarded, timeout time.Duration) {
	go func() {
		_, _, _ = e.sf.Do("revalidate:"+key, func() (any, error) {
			if cur := e.opts.Cache.local(key); cur != nil && cur.freshness(e.opts.Now()) == fresh {
				return nil, nil // another replica or request got there first
			}
			ctx, cancel := context.WithTimeout(context.Background(), timeout)
			defer cancel()
			_, err := e.fetchAndStore(ctx, r, key, fwd, timeout, old)
			if err != nil {
				e.opts.Log.Warn("fragment revalidation", "fragment", key, "error", err.Error())
			}
			return nil, nil
		})
	}()
}

// varyPersonal reports a Vary that makes a response unfit for a shared cache.
func varyPersonal(v string) bool {
	if v == "" {
		return false
	}
	v = strings.ToLower(v)
	return strings.Contains(v, "*") || strings.Contains(v, "cookie") || strings.Contains(v, "inlay-context") ||
		strings.Contains(v, "authorization")
}

// errGarbage is a 2xx answer that is not an HTML fragment.
var errGarbage = errors.New("compose: fragment is not an HTML fragment")

// validate rejects 2xx answers that are not HTML fragments: another content type, invalid UTF-8, a
// whole document, or too big.
func (e *Engine) validate(resp *fragments.FetchResponse) error {
	if resp.Status < 200 || resp.Status > 299 {
		return nil
	}
	if ct := resp.ContentType; ct != "" && !strings.HasPrefix(ct, "text/html") {
		return fmt.Errorf("%w: content type %q", errGarbage, ct)
	}
	if len(resp.Body) > e.opts.MaxFragmentSize {
		return fmt.Errorf("%w: %d bytes", errGarbage, len(resp.Body))
	}
	if !utf8.Valid(resp.Body) {
		return fmt.Errorf("%w: invalid UTF-8", errGarbage)
	}
	b := bytes.TrimLeft(resp.Body, " \t\r\n")
	if len(b) >= 5 && (equalFold(b[:5], "<html") || (len(b) >= 9 && equalFold(b[:9], "<!doctype"))) {
		return fmt.Errorf("%w: a whole document", errGarbage)
	}
	return nil
}

// finish classifies a team's answer for a slot.
func (c *Composition) finish(s *slot, resp *fragments.FetchResponse, en *entry, err error, d time.Duration) {
	if resp != nil {
		s.httpStatus, s.title = resp.Status, resp.Title
	}
	switch {
	case err != nil:
		c.fail(s, err, d)
	case resp.Status >= 200 && resp.Status <= 299:
		tmpl := (*Template)(nil)
		if en != nil {
			tmpl = en.tmpl
			s.cacheControl, s.etag, s.title = en.cacheControl(c.e.opts.Now()), en.etag, en.title
		} else {
			tmpl = parseFragment(resp.Body)
			s.cacheControl, s.etag = resp.CacheControl, resp.ETag
		}
		c.succeed(s, resp.Body, tmpl, SourceFetch, d, s.ref.team.Version())
	case s == c.prim && resp.Status == 404:
		s.status, s.cacheControl = 404, resp.CacheControl
		c.succeed(s, resp.Body, parseFragment(resp.Body), SourceFetch, d, s.ref.team.Version())
	case s == c.prim && resp.Status >= 400 && resp.Status <= 499:
		// The team refused the page's request (a bad parameter, a rate limit): not a failure of the
		// team, and the page is that client error, not a 503.
		s.status, s.source, s.dur = resp.Status, SourceFetch, d
		c.observe(s)
		c.complete(s)
	case s == c.prim && resp.Status >= 300 && resp.Status <= 399 && safeRedirect(resp.Location):
		s.status, s.location, s.source, s.dur = resp.Status, resp.Location, SourceFetch, d
		c.observe(s)
		c.complete(s)
	default:
		c.fail(s, fmt.Errorf("fetch %s/%s: status %d", s.ref.team.Name, s.ref.name, resp.Status), d)
	}
}

// safeRedirect accepts only same-site paths, never another host.
func safeRedirect(loc string) bool {
	return strings.HasPrefix(loc, "/") && !strings.HasPrefix(loc, "//") && !strings.HasPrefix(loc, "/\\") &&
		!strings.ContainsAny(loc, "\r\n")
}

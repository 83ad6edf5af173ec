// Package compose is the shell's streaming composition engine (DESIGN.md §4). A page is a Template
// (an HTML document with <inlay-fragment> tags); Start begins every fetch it names at once, Outcome
// waits for the primary fragment's status, and WriteTo streams the document with each tag replaced
// by its fragment: the head (with the fragments' stylesheets) at once, the body in document order,
// async slots out of order, nested tags resolved to a depth limit. Every fragment has its own
// deadline, a fallback, a circuit breaker per team (in the fragments client) and, for public
// fragments, a cache.
package compose

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"html"
	"io"
	"log/slog"
	"strconv"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"golang.org/x/sync/singleflight"

	"github.com/inlay-dev/inlay/fragments"
)

// Source says where a fragment's content came from; it is reported in Server-Timing.
type Source uint8

// Sources.
const (
	SourceFetch    Source = iota // fetched from the team for this page
	SourceCache                  // a fresh cached copy
	SourceStale                  // a stale cached copy, being revalidated
	SourceFallback               // the fragment failed: last good copy, manifest fallback or inline content
	SourceFailed                 // the primary fragment failed: the page fails
)

var sourceNames = [...]string{"fetch", "cache", "stale", "fallback", "failed"}

func (s Source) String() string { return sourceNames[s] }

// Options configures New.
type Options struct {
	Teams  *Teams
	Client *fragments.Client
	// Cache, when not nil, caches public fragments.
	Cache *Cache
	Log   *slog.Logger
	// MaxDepth bounds nested fragments [3]: a tag inside a fragment is depth 1.
	MaxDepth int
	// MaxSlots bounds the fragments of one page, nested ones included [64].
	MaxSlots int
	// DefaultTimeout is a fragment's deadline when neither its tag nor its manifest names one [500ms].
	DefaultTimeout time.Duration
	// MaxFragmentSize bounds a fragment body [1 MiB]; a bigger one is garbage.
	MaxFragmentSize int
	// ComposerScript is the inline script that fills async slots (static/composer.js).
	ComposerScript []byte
	// Observe, when set, is told of every fragment's outcome (metrics).
	Observe func(team, fragment string, src Source, d time.Duration)
	// Now is the clock [time.Now].
	Now func() time.Time
}

// Engine composes pages. It is safe for concurrent use.
type Engine struct {
	opts Options
	sf   singleflight.Group
	memo resolveMemo
	work chan func() // idle fetch workers receive here
	// joined, in tests, is told when a cache miss has joined (or started) the one request for its key.
	joined func(key string)
}

// New builds an engine.
func New(opts Options) *Engine {
	if opts.MaxDepth <= 0 {
		opts.MaxDepth = 3
	}
	if opts.MaxSlots <= 0 {
		opts.MaxSlots = 64
	}
	if opts.DefaultTimeout <= 0 {
		opts.DefaultTimeout = 500 * time.Millisecond
	}
	if opts.MaxFragmentSize <= 0 {
		opts.MaxFragmentSize = 1 << 20
	}
	if opts.Log == nil {
		opts.Log = slog.New(slog.DiscardHandler)
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	return &Engine{opts: opts, work: make(chan func())}
}

// resolved is a tag's src checked against the registry, with its cache key.
type resolved struct {
	ref   ref
	key   string
	err   error
	state *teamState // the manifest read it was resolved against
}

type memoKey struct{ src, locale string }

// resolveMemo remembers resolved srcs, so a page does not parse and check the same srcs and build
// the same cache keys on every request. An entry is valid while its team's manifest is the same
// read; the memo is bounded.
type resolveMemo struct {
	mu sync.RWMutex
	m  map[memoKey]*resolved
}

const maxMemo = 10000

func (e *Engine) resolve(src, locale string) *resolved {
	k := memoKey{src, locale}
	e.memo.mu.RLock()
	r := e.memo.m[k]
	e.memo.mu.RUnlock()
	if r != nil && (r.ref.team == nil || r.ref.team.state.Load() == r.state) {
		return r
	}
	r = &resolved{}
	r.ref, r.err = e.opts.Teams.resolve(src)
	if r.ref.team != nil {
		r.state = r.ref.team.state.Load()
	}
	if r.err == nil && e.opts.Cache != nil && !(r.ref.manifest && r.ref.frag.Cache == fragments.Private) {
		r.key = cacheKey(r.ref, locale)
	}
	// Registry errors are stable; the state pointer covers manifest changes.
	if r.ref.team == nil && r.err != nil && !errors.Is(r.err, ErrUnknownContext) && !errors.Is(r.err, ErrBadSrc) {
		return r
	}
	e.memo.mu.Lock()
	if e.memo.m == nil || len(e.memo.m) >= maxMemo {
		e.memo.m = make(map[memoKey]*resolved, 64)
	}
	e.memo.m[memoKey{strings.Clone(src), strings.Clone(locale)}] = r
	e.memo.mu.Unlock()
	return r
}

// Request is what a composition may use of the browser's request: copied out of it before the
// response streams.
type Request struct {
	// Forwarded are the allowlisted headers and the signed context sent to every team.
	Forwarded fragments.Forwarded
	// Sign, when set and Forwarded.Context is empty, returns the signed context. It is called at
	// most once, by the first fetch, so a page served from the cache signs nothing. It runs on the
	// engine's goroutines: it must not touch the request.
	Sign func() string
	// Locale keys cached copies of public fragments.
	Locale string
	// Nonce is the response's CSP nonce, for the composer script.
	Nonce string
	// Debug outlines every fragment with its team, version, source and time.
	Debug bool
}

// Composition is one page being composed. Start it, read Outcome, then call WriteTo once (or
// Cancel, when the page is not written).
type Composition struct {
	e      *Engine
	ctx    context.Context
	cancel context.CancelFunc
	req    Request
	tmpl   *Template
	slots  []*slot
	prim   *slot

	asyncDone chan *slot
	nAsync    int

	mu    sync.Mutex
	all   []*slot // every slot, nested ones included, for Server-Timing
	count int

	fwdOnce     sync.Once
	fwd         fragments.Forwarded
	releaseOnce sync.Once

	// used only by the writer
	assetsSeen map[string]struct{}
	nonceAttr  string
}

type slot struct {
	tag   *Tag
	ref   ref
	err   error
	depth int
	async bool
	id    int
	key   string // cache key; "" when not cacheable
	done  chan struct{}
	sync  bool                     // resolved when created: done is the shared closed channel
	hit   *entry                   // the fresh cached copy found when created
	resp  *fragments.FetchResponse // this page's own answer (not shared, not cached): released after writing

	// Set before done is closed.
	body     []byte
	tmpl     *Template
	children []*slot
	status   int
	location string
	// cacheControl and etag are the team's answer's, or made from the cached copy's policy.
	cacheControl, etag string
	source             Source
	dur                time.Duration
	version            string

	placeholder bool // the writer wrote a placeholder for it (async)
}

// Start begins composing t: every fragment it names is requested at once. ctx bounds the whole
// composition; it is cancelled by WriteTo's end or Cancel.
func (e *Engine) Start(ctx context.Context, t *Template, r Request) *Composition {
	ctx, cancel := context.WithCancel(ctx)
	c := &Composition{e: e, ctx: ctx, cancel: cancel, req: r, tmpl: t,
		slots: make([]*slot, 0, t.nslots), all: make([]*slot, 0, t.nslots)}
	for _, p := range t.parts {
		if p.kind == partSlot && p.tag.Async && !p.tag.Primary {
			c.nAsync++
		}
	}
	if c.nAsync > 0 {
		c.asyncDone = make(chan *slot, c.nAsync)
	}
	id := 0
	slab := make([]slot, t.nslots) // one allocation for the page's own slots
	for _, p := range t.parts {
		if p.kind != partSlot {
			continue
		}
		s := c.initSlot(&slab[len(c.slots)], p.tag, 0)
		if s.tag.Primary && c.prim == nil {
			c.prim = s
		} else if s.tag.Async && !s.tag.Primary {
			s.async, s.id = true, id
			id++
		}
		c.slots = append(c.slots, s)
	}
	for _, s := range c.slots {
		c.startSlot(s)
	}
	return c
}

// closed is the done channel of slots resolved while they are created: no channel to make.
var closed = func() chan struct{} { ch := make(chan struct{}); close(ch); return ch }()

// newSlot resolves a tag's src and, when it can, the slot itself (a bad src, a fresh cached copy):
// such a slot needs no channel and no goroutine.
func (c *Composition) newSlot(t *Tag, depth int) *slot {
	return c.initSlot(new(slot), t, depth)
}

func (c *Composition) initSlot(s *slot, t *Tag, depth int) *slot {
	s.tag, s.depth = t, depth
	c.mu.Lock()
	c.count++
	over := c.count > c.e.opts.MaxSlots
	c.mu.Unlock()
	if over {
		s.err = fmt.Errorf("compose: more than %d fragments on one page", c.e.opts.MaxSlots)
	} else {
		m := c.e.resolve(t.Src, c.req.Locale)
		s.ref, s.key, s.err = m.ref, m.key, m.err
	}
	if s.err != nil {
		s.done, s.sync = closed, true
		return s
	}
	if s.key != "" {
		if en := c.e.opts.Cache.local(s.key); en != nil && !en.pass && en.freshness(c.e.opts.Now()) == fresh {
			s.done, s.sync, s.hit = closed, true, en
			return s
		}
	}
	s.done = make(chan struct{})
	return s
}

// cacheKey is "context/name?query#locale": a purge prefix of "context/" or "context/name?" matches.
func cacheKey(r ref, locale string) string {
	return r.team.Name + "/" + r.name + "?" + r.query + "#" + locale
}

// startSlot completes a slot resolved by newSlot, or fetches it in the background.
func (c *Composition) startSlot(s *slot) {
	switch {
	case s.err != nil:
		c.fail(s, s.err, 0)
	case s.hit != nil:
		en := s.hit
		s.hit = nil
		s.cacheControl, s.etag = en.cacheControl(c.e.opts.Now()), en.etag
		c.succeed(s, en.body, en.tmpl, SourceCache, 0, en.version)
	default:
		c.e.spawn(func() { c.fetch(s) })
	}
}

// spawn runs f on an idle worker, or on a new one. Workers live on after their task for a while:
// a fetch needs a deep stack (TLS-free HTTP client, parsing), and a fresh goroutine would grow and
// copy its stack on every fetch.
func (e *Engine) spawn(f func()) {
	select {
	case e.work <- f:
	default:
		go e.worker(f)
	}
}

const workerIdle = 30 * time.Second

func (e *Engine) worker(f func()) {
	idle := time.NewTimer(workerIdle)
	defer idle.Stop()
	for {
		f()
		idle.Reset(workerIdle)
		select {
		case f = <-e.work:
		case <-idle.C:
			return
		}
	}
}

// complete publishes a finished slot: to Server-Timing and to whoever waits on it.
func (c *Composition) complete(s *slot) {
	c.mu.Lock()
	c.all = append(c.all, s)
	c.mu.Unlock()
	if !s.sync {
		close(s.done)
	}
}

// fetch gets a slot's fragment: from the cache when it can, else from the team.
func (c *Composition) fetch(s *slot) {
	start := c.e.opts.Now()
	timeout := c.timeout(s)
	if s.key != "" && !c.e.passing(s.key) {
		en := c.e.opts.Cache.get(c.ctx, s.key)
		if en != nil && !en.pass {
			switch en.freshness(c.e.opts.Now()) {
			case fresh:
				s.cacheControl, s.etag = en.cacheControl(c.e.opts.Now()), en.etag
				c.succeed(s, en.body, en.tmpl, SourceCache, c.e.opts.Now().Sub(start), en.version)
				return
			case stale:
				s.cacheControl, s.etag = en.cacheControl(c.e.opts.Now()), en.etag
				c.succeed(s, en.body, en.tmpl, SourceStale, c.e.opts.Now().Sub(start), en.version)
				c.e.revalidate(s.ref, s.key, en, c.forwarded(), timeout)
				return
			}
		}
		// A miss (or only a last good copy): concurrent misses for one key make one request.
		ch := c.e.sf.DoChan(s.key, func() (any, error) {
			ctx, cancel := context.WithTimeout(context.WithoutCancel(c.ctx), timeout)
			defer cancel()
			return c.e.fetchAndStore(ctx, s.ref, s.key, c.forwarded(), timeout, en)
		})
		if c.e.joined != nil {
			c.e.joined(s.key)
		}
		r := <-ch
		f, _ := r.Val.(fetched)
		c.finish(s, f.resp, f.entry, r.Err, c.e.opts.Now().Sub(start))
		return
	}
	resp, err := c.e.opts.Client.Fetch(c.ctx, fragments.FetchRequest{Team: s.ref.team.Name, Path: s.ref.path,
		Query: s.ref.query, Forwarded: c.forwarded(), Timeout: timeout})
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
func (e *Engine) passing(key string) bool {
	en := e.opts.Cache.local(key)
	return en != nil && en.pass && en.freshness(e.opts.Now()) == fresh
}

// fetched is the shared result of one (singleflight) fetch.
type fetched struct {
	resp  *fragments.FetchResponse
	entry *entry // the stored (or revalidated) entry, when the answer was cacheable
}

// fetchAndStore fetches a cacheable fragment and stores a cacheable answer. old, when not nil, is
// revalidated with its ETag.
func (e *Engine) fetchAndStore(ctx context.Context, r ref, key string, fwd fragments.Forwarded, timeout time.Duration, old *entry) (fetched, error) {
	req := fragments.FetchRequest{Team: r.team.Name, Path: r.path, Query: r.query, Forwarded: fwd, Timeout: timeout}
	if old != nil && old.etag != "" {
		req.IfNoneMatch = old.etag
	}
	resp, err := e.opts.Client.Fetch(ctx, req)
	if err != nil {
		return fetched{resp: resp}, err
	}
	if resp.Status == 304 && old != nil {
		pol := parseCacheControl(resp.CacheControl)
		en := *old
		en.stored = e.opts.Now()
		if pol.ok {
			en.maxAge, en.swr = pol.maxAge, pol.swr
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
	pol := parseCacheControl(resp.CacheControl)
	if !pol.ok || varyPersonal(resp.Vary) {
		e.opts.Cache.putLocal(key, &entry{pass: true, stored: e.opts.Now(), maxAge: passTTL})
		return fetched{resp: resp}, nil
	}
	// The cached copy gets memory of its own size, not the client's pooled buffer.
	body := bytes.Clone(resp.Body)
	resp.Release()
	resp.Body = body
	en := &entry{body: resp.Body, etag: resp.ETag, stored: e.opts.Now(), maxAge: pol.maxAge, swr: pol.swr,
		version: r.team.Version(), tmpl: parseFragment(resp.Body)}
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
	switch {
	case err != nil:
		c.fail(s, err, d)
	case resp.Status >= 200 && resp.Status <= 299:
		tmpl := (*Template)(nil)
		if en != nil {
			tmpl = en.tmpl
			s.cacheControl, s.etag = en.cacheControl(c.e.opts.Now()), en.etag
		} else {
			tmpl = parseFragment(resp.Body)
			s.cacheControl, s.etag = resp.CacheControl, resp.ETag
		}
		c.succeed(s, resp.Body, tmpl, SourceFetch, d, s.ref.team.Version())
	case s == c.prim && resp.Status == 404:
		s.status, s.cacheControl = 404, resp.CacheControl
		c.succeed(s, resp.Body, parseFragment(resp.Body), SourceFetch, d, s.ref.team.Version())
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

// succeed sets a slot's content and starts its nested fragments.
func (c *Composition) succeed(s *slot, body []byte, tmpl *Template, src Source, d time.Duration, version string) {
	s.body, s.source, s.dur, s.version = body, src, d, version
	if s.status == 0 {
		s.status = 200
	}
	if tmpl != nil {
		s.tmpl = tmpl
		if s.depth < c.e.opts.MaxDepth {
			s.children = make([]*slot, 0, tmpl.nslots)
			for _, p := range tmpl.parts {
				if p.kind == partSlot {
					s.children = append(s.children, c.newSlot(p.tag, s.depth+1))
				}
			}
			for _, ch := range s.children {
				c.startSlot(ch)
			}
		}
	}
	c.observe(s)
	if s.async {
		c.asyncDone <- s
	}
	c.complete(s)
}

// fail sets a slot's fallback: the last good copy, the manifest's fallback or the tag's content. A
// failed primary fails the page instead.
func (c *Composition) fail(s *slot, err error, d time.Duration) {
	if s == c.prim {
		s.status, s.source, s.dur = 503, SourceFailed, d
		c.e.opts.Log.Warn("primary fragment failed", "src", s.tag.Src, "error", err.Error())
		c.observe(s)
		c.complete(s)
		return
	}
	switch {
	case c.ctx.Err() != nil:
	case errors.Is(err, fragments.ErrBreakerOpen):
		// The breaker's state changes are logged once by the client's owner; not every skipped slot.
		c.e.opts.Log.Debug("fragment skipped", "src", s.tag.Src, "error", err.Error())
	default:
		c.e.opts.Log.Warn("fragment failed", "src", s.tag.Src, "error", err.Error())
	}
	var body []byte
	var tmpl *Template
	switch {
	case s.key != "" && c.e.lastGood(s.key) != nil:
		en := c.e.lastGood(s.key)
		body, tmpl = en.body, en.tmpl
	case s.ref.frag.Fallback != "":
		body = []byte(s.ref.frag.Fallback)
	default:
		body = s.tag.Inline
	}
	s.status = 200
	c.succeed(s, body, tmpl, SourceFallback, d, s.ref.versionOrEmpty())
}

// lastGood returns the cached copy of key, whatever its age, for a fallback.
func (e *Engine) lastGood(key string) *entry {
	if en := e.opts.Cache.local(key); en != nil && !en.pass {
		return en
	}
	return nil
}

func (r ref) versionOrEmpty() string {
	if r.team == nil {
		return ""
	}
	return r.team.Version()
}

func (c *Composition) observe(s *slot) {
	if c.e.opts.Observe != nil && s.ref.team != nil {
		c.e.opts.Observe(s.ref.team.Name, s.ref.name, s.source, s.dur)
	}
}

// forwarded returns the headers for the teams, signing the context on first use.
func (c *Composition) forwarded() fragments.Forwarded {
	c.fwdOnce.Do(func() {
		c.fwd = c.req.Forwarded
		if c.fwd.Context == "" && c.req.Sign != nil {
			c.fwd.Context = c.req.Sign()
		}
	})
	return c.fwd
}

// Outcome is what the primary fragment decided for the page.
type Outcome struct {
	// Status is 200, 404 (the primary's body is composed as the page), a redirect (3xx with
	// Location), or 503 when the primary failed.
	Status   int
	Location string
	// Empty is set when the primary answered without content (a bare 404): the shell then shows its
	// own error page instead of composing.
	Empty bool
	// CacheControl and ETag are the primary's: its team's answer's or, served from the cache, its
	// policy with the time left (empty when it failed or answered without them).
	CacheControl, ETag string
}

// Outcome waits for the primary fragment's answer (bounded by its deadline) and reports the page's
// status. A page without a primary is 200 at once.
func (c *Composition) Outcome() Outcome {
	if c.prim == nil {
		return Outcome{Status: 200}
	}
	<-c.prim.done
	return Outcome{Status: c.prim.status, Location: c.prim.location,
		Empty:        c.prim.status == 404 && len(bytes.TrimSpace(c.prim.body)) == 0,
		CacheControl: c.prim.cacheControl, ETag: c.prim.etag}
}

// FellBack reports whether a fragment of the composition took its fallback (or failed); call it
// after WriteTo, when every fragment has finished.
func (c *Composition) FellBack() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, s := range c.all {
		if s.source == SourceFallback || s.source == SourceFailed {
			return true
		}
	}
	return false
}

// ServerTiming is the Server-Timing header value for the fragments finished so far.
func (c *Composition) ServerTiming() string {
	c.mu.Lock()
	all := c.all
	c.mu.Unlock()
	var b strings.Builder
	for i, s := range all {
		if b.Len() > 0 {
			b.WriteString(", ")
		}
		b.WriteString("f")
		b.WriteString(strconv.Itoa(i))
		b.WriteString(`;desc="`)
		if s.ref.team != nil {
			b.WriteString(s.ref.team.Name)
			b.WriteByte('/')
			b.WriteString(s.ref.name)
			b.WriteByte(' ')
		}
		b.WriteString(s.source.String())
		b.WriteString(`";dur=`)
		b.WriteString(strconv.FormatFloat(float64(s.dur.Microseconds())/1000, 'f', 2, 64))
	}
	return b.String()
}

// Cancel ends a composition that will not be written.
func (c *Composition) Cancel() {
	c.cancel()
	c.release()
}

// release returns the memory of the page's own fragment answers once the page is written (or
// abandoned). Slots still running then keep theirs, for the garbage collector.
func (c *Composition) release() {
	c.releaseOnce.Do(func() {
		c.mu.Lock()
		all := c.all
		c.mu.Unlock()
		for _, s := range all {
			s.resp.Release()
		}
	})
}

// Ready reports whether every top-level fragment has finished: the page can then be written in one
// piece, without streaming.
func (c *Composition) Ready() bool {
	for _, s := range c.slots {
		select {
		case <-s.done:
		default:
			return false
		}
		for _, ch := range s.children {
			select {
			case <-ch.done:
			default:
				return false
			}
		}
	}
	return true
}

// WaitReady waits up to d for every fragment (nested ones included) to finish and reports whether
// they all did. A page whose fragments arrive together is then written in one piece: no chunked
// stream, one write, while a page with a slow fragment still streams after at most d.
func (c *Composition) WaitReady(d time.Duration) bool {
	if c.Ready() {
		return true
	}
	if d <= 0 {
		return false
	}
	t := time.NewTimer(d)
	defer t.Stop()
	return waitAll(c.slots, t.C)
}

func waitAll(slots []*slot, timeout <-chan time.Time) bool {
	for _, s := range slots {
		select {
		case <-s.done:
		case <-timeout:
			return false
		}
		if !waitAll(s.children, timeout) {
			return false
		}
	}
	return true
}

// FlushWriter is where a composition streams to: Flush must push what was written to the client
// and fail when the client is gone.
type FlushWriter interface {
	io.Writer
	Flush() error
}

// WriteTo streams the composed page to w: the head with the fragments' assets, flushed at once; the
// body in document order, flushing before each wait; async slots' content at the end. It stops at
// the first write or flush error (the client went away) and cancels the composition.
func (c *Composition) WriteTo(w FlushWriter) error {
	defer c.release()
	defer c.cancel()
	if c.req.Nonce != "" {
		c.nonceAttr = ` nonce="` + html.EscapeString(c.req.Nonce) + `"`
	}
	if err := c.writeParts(w, c.tmpl, c.slots, 0); err != nil {
		return err
	}
	return w.Flush()
}

func (c *Composition) writeParts(w FlushWriter, t *Template, slots []*slot, depth int) error {
	si := 0
	for i := range t.parts {
		p := &t.parts[i]
		switch p.kind {
		case partText:
			if _, err := w.Write(p.text); err != nil {
				return err
			}
		case partHeadEnd:
			c.writeHeadAssets(w)
			// The head goes out at once when a fragment is still on its way; when every one has
			// arrived, the whole page follows without waiting and one write carries both.
			if c.waiting(slots) {
				if err := w.Flush(); err != nil {
					return err
				}
			}
		case partBodyEnd:
			if err := c.writeAsync(w); err != nil {
				return err
			}
		case partSlot:
			if si >= len(slots) {
				// Beyond the depth limit: the tag's own content.
				if _, err := w.Write(p.tag.Inline); err != nil {
					return err
				}
				continue
			}
			s := slots[si]
			si++
			if err := c.writeSlot(w, s); err != nil {
				return err
			}
		}
	}
	return nil
}

// waiting reports whether one of slots has not arrived yet.
func (c *Composition) waiting(slots []*slot) bool {
	for _, s := range slots {
		select {
		case <-s.done:
		default:
			return true
		}
	}
	return false
}

func (c *Composition) writeSlot(w FlushWriter, s *slot) error {
	select {
	case <-s.done:
	default:
		if s.async {
			s.placeholder = true
			io.WriteString(w, `<inlay-slot id="inlay-s-`)
			io.WriteString(w, strconv.Itoa(s.id))
			io.WriteString(w, `">`)
			if s.ref.frag.Fallback != "" {
				io.WriteString(w, s.ref.frag.Fallback)
			} else {
				w.Write(s.tag.Inline)
			}
			_, err := io.WriteString(w, `</inlay-slot>`)
			return err
		}
		if err := w.Flush(); err != nil {
			return err
		}
		select {
		case <-s.done:
		case <-c.ctx.Done():
			return c.ctx.Err()
		}
	}
	return c.writeContent(w, s)
}

func (c *Composition) writeContent(w FlushWriter, s *slot) error {
	if s.depth > 0 {
		c.writeAssets(w, s.ref.css, s.ref.js)
	}
	if c.req.Debug {
		c.writeDebugOpen(w, s)
	}
	if s.tmpl != nil {
		if err := c.writeParts(w, s.tmpl, s.children, s.depth+1); err != nil {
			return err
		}
	} else if _, err := w.Write(s.body); err != nil {
		return err
	}
	if c.req.Debug {
		io.WriteString(w, "</inlay-debug>")
	}
	return nil
}

func (c *Composition) writeDebugOpen(w io.Writer, s *slot) {
	team, name := "?", s.tag.Src
	if s.ref.team != nil {
		team, name = s.ref.team.Name, s.ref.name
	}
	fmt.Fprintf(w, `<inlay-debug data-team="%s" data-fragment="%s" data-version="%s" data-source="%s" data-ms="%.2f">`,
		html.EscapeString(team), html.EscapeString(name), html.EscapeString(s.version), s.source,
		float64(s.dur.Microseconds())/1000)
}

// writeHeadAssets writes the page's stylesheets and scripts (deduplicated) and the composer script.
func (c *Composition) writeHeadAssets(w io.Writer) {
	for _, s := range c.slots {
		c.writeAssets(w, s.ref.css, s.ref.js)
	}
	if c.nAsync > 0 && len(c.e.opts.ComposerScript) > 0 {
		io.WriteString(w, "<script")
		io.WriteString(w, c.nonceAttr)
		io.WriteString(w, ">")
		w.Write(c.e.opts.ComposerScript)
		io.WriteString(w, "</script>")
	}
}

func (c *Composition) writeAssets(w io.Writer, css, js []string) {
	if len(css) == 0 && len(js) == 0 {
		return
	}
	if c.assetsSeen == nil {
		c.assetsSeen = map[string]struct{}{}
	}
	for _, h := range css {
		if _, ok := c.assetsSeen[h]; ok {
			continue
		}
		c.assetsSeen[h] = struct{}{}
		io.WriteString(w, `<link rel="stylesheet" href="`)
		io.WriteString(w, html.EscapeString(h))
		io.WriteString(w, `">`)
	}
	for _, h := range js {
		if _, ok := c.assetsSeen[h]; ok {
			continue
		}
		c.assetsSeen[h] = struct{}{}
		io.WriteString(w, `<script type="module" src="`)
		io.WriteString(w, html.EscapeString(h))
		io.WriteString(w, `"></script>`)
	}
}

// writeAsync writes, as each finishes, the content of the async slots that got a placeholder, each
// in a <template> followed by the call that moves it in.
func (c *Composition) writeAsync(w FlushWriter) error {
	for range c.nAsync {
		var s *slot
		select {
		case s = <-c.asyncDone:
		default:
			if err := w.Flush(); err != nil {
				return err
			}
			select {
			case s = <-c.asyncDone:
			case <-c.ctx.Done():
				return c.ctx.Err()
			}
		}
		if !s.placeholder {
			continue
		}
		id := strconv.Itoa(s.id)
		io.WriteString(w, `<template id="inlay-t-`)
		io.WriteString(w, id)
		io.WriteString(w, `">`)
		if err := c.writeContent(w, s); err != nil {
			return err
		}
		io.WriteString(w, `</template><script`)
		io.WriteString(w, c.nonceAttr)
		io.WriteString(w, `>inlayFill(`)
		io.WriteString(w, id)
		io.WriteString(w, `)</script>`)
	}
	return nil
}

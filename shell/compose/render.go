// The slot lifecycle of a page: Start resolves every tag to a slot and starts it, a slot succeeds
// (with nested slots of its own) or falls back, and the primary's answer decides the page's Outcome.

package compose

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"time"

	"go.opentelemetry.io/otel/trace"

	"github.com/inlay-dev/inlay/fragments"
)

// Request is what a composition may use of the browser's request: copied out of it before the
// response streams.
type Request struct {
	// Forwarded are the allowlisted headers and the signed context sent to every team.
	Forwarded fragments.Forwarded
	// Sign, when set and Forwarded.Context is empty, returns the signed context. It is called at
	// most once, by the first fetch, so a page served from the cache signs nothing. It runs on the
	// engine's goroutines: it must not touch the request.
	Sign func() string
	// SignBare, when set, returns the signed context for fragments whose manifest does not ask for
	// the CSRF token (fragments.Fragment.CSRF), and for every fragment copy that may be cached: for
	// a guest, the context without the token, which every guest of one address and language shares,
	// so it is signed once and verified once by each team, however many new visitors arrive. When
	// nil, Sign is used for every fragment. Called at most once, like Sign.
	SignBare func() string
	// CSRF is the visitor's CSRF token: it takes the place of fragments.CSRFPlaceholder in every
	// fragment that asks for the token (fragments.Fragment.CSRF), so a public one's shared copy
	// holds no token and the page still carries the visitor's. Empty, the placeholder is removed.
	CSRF string
	// Locale keys cached copies of public fragments.
	Locale string
	// Nonce is the response's CSP nonce, for the composer script.
	Nonce string
	// Debug outlines every fragment with its team, version, source and time.
	Debug bool
	// Settled, when set, is called once every fragment of the page (nested ones included) has its
	// content or its fallback: nothing more is fetched for it, though the writer may still be
	// sending it to a slow client. It runs on an engine goroutine, or in Start.
	Settled func()
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
	// traced: the page's span records, so its fragments' spans do (a child's sampling decision is
	// its parent's under every standard sampler: parent-based, or by trace id, which they share).
	traced bool

	asyncDone chan *slot
	nAsync    int

	mu      sync.Mutex
	all     []*slot // every slot, nested ones included, for Server-Timing
	count   int
	pending int           // slots made and not yet complete, plus one while Start makes the page's own
	settled chan struct{} // closed when pending reaches zero: every fragment has its content or fallback

	fwdOnce     sync.Once
	fwd         fragments.Forwarded
	bareOnce    sync.Once
	bare        fragments.Forwarded
	releaseOnce sync.Once

	// used only by the writer
	title      string // SetTitle's, replacing the template's <title> text when set
	assetsSeen map[string]struct{}
	nonceAttr  string
	grace      time.Duration // WaitReady's: how long the writer waits for a fragment before it flushes
	graceTimer *time.Timer
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
	title              string // what the team's answer says the page shows (fragments.TitleHeader)
	source             Source
	cause              error  // what made it fall back
	reason             string // why it fell back, when it says more than "fallback": timeout, breaker-open
	dur                time.Duration
	version            string
	span               trace.Span // the fragment's span, from its fetch's start; nil for a slot resolved at once
	httpStatus         int        // the status of the team's answer it fetched (0: none), for its span

	placeholder bool // the writer wrote a placeholder for it (async)
}

// Start begins composing t: every fragment it names is requested at once. ctx bounds the whole
// composition; it is cancelled by WriteTo's end or Cancel.
func (e *Engine) Start(ctx context.Context, t *Template, r Request) *Composition {
	ctx, cancel := context.WithCancel(ctx)
	c := &Composition{e: e, ctx: ctx, cancel: cancel, req: r, tmpl: t, traced: trace.SpanFromContext(ctx).IsRecording(),
		slots: make([]*slot, 0, t.nslots), all: make([]*slot, 0, t.nslots), settled: make(chan struct{})}
	for _, p := range t.parts {
		if p.kind == partSlot && p.tag.Async && !p.tag.Primary {
			c.nAsync++
		}
	}
	if c.nAsync > 0 {
		c.asyncDone = make(chan *slot, c.nAsync)
	}
	id := 0
	c.pending = 1                  // Start's own: no slot completing meanwhile settles the page
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
	c.settle()
	return c
}

// settle counts one slot (or Start) done and, when it was the last, closes settled and calls
// Request.Settled.
func (c *Composition) settle() {
	c.mu.Lock()
	c.pending--
	last := c.pending == 0
	c.mu.Unlock()
	if !last {
		return
	}
	close(c.settled)
	if c.req.Settled != nil {
		c.req.Settled()
	}
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
	c.pending++
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
func cacheKey(r ref, locale, version string) string {
	k := r.team.Name + "/" + r.name + "?" + r.query + "#" + locale
	if version != "" {
		// Keyed by the team's manifest version: once the shell has read a new version's manifest
		// (within INLAY_MANIFEST_REFRESH), no page gets the old version's copies, whose HTML may not
		// fit the new version's stylesheets. Purge prefixes end before it.
		k += "@" + version
	}
	return k
}

// startSlot completes a slot resolved by newSlot, or fetches it in the background.
func (c *Composition) startSlot(s *slot) {
	switch {
	case s.err != nil:
		c.fail(s, s.err, 0)
	case s.hit != nil:
		en := s.hit
		s.hit = nil
		s.cacheControl, s.etag, s.title = en.cacheControl(c.e.opts.Now()), en.etag, en.title
		c.succeed(s, en.body, en.tmpl, SourceCache, 0, en.version)
	default:
		c.e.spawn(func() { c.fetch(s) })
	}
}

// complete publishes a finished slot: to Server-Timing, to its span and to whoever waits on it. Its
// done channel is closed before it is counted settled, so that when the last slot settles the page,
// every slot's channel is closed.
func (c *Composition) complete(s *slot) {
	c.endSpan(s)
	c.mu.Lock()
	c.all = append(c.all, s)
	c.mu.Unlock()
	if !s.sync {
		close(s.done)
	}
	c.settle()
}

// csrfPlaceholderField is the csrf field of a fragment that renders fragments.CSRFPlaceholder, as
// templ writes it (<input type="hidden" name="csrf" value="__inlay_csrf__">).
var csrfPlaceholderField = []byte(`name="` + fragments.CSRFField + `" value="` + fragments.CSRFPlaceholder + `"`)

// succeed sets a slot's content and starts its nested fragments.
func (c *Composition) succeed(s *slot, body []byte, tmpl *Template, src Source, d time.Duration, version string) {
	if s.ref.frag.CSRF && bytes.Contains(body, csrfPlaceholderField) {
		// The body may be a cached copy that other pages share: the filled one is this page's own.
		// Only the csrf field's value is filled: a placeholder anywhere else is text a visitor may have
		// chosen (a link's ?next=/__inlay_csrf__ echoed into a field), and filling it would carry the
		// token into an address, history and logs.
		body = bytes.ReplaceAll(body, csrfPlaceholderField, []byte(`name="`+fragments.CSRFField+`" value="`+c.req.CSRF+`"`))
		if tmpl != nil {
			tmpl = parseFragment(body)
		}
	}
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
	// Published (Server-Timing) before the writer may take it: the page's last Server-Timing (its
	// trailer) is read when the writer has written the last async slot, and must name that slot.
	c.complete(s)
	if s.async {
		c.asyncDone <- s
	}
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
	s.cause = err
	switch {
	case errors.Is(err, fragments.ErrBreakerOpen):
		s.reason = "breaker-open"
	case errors.Is(err, fragments.ErrTimeout), errors.Is(err, context.DeadlineExceeded):
		s.reason = "timeout"
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

// forwarded returns the headers for a fragment, signing the context on first use: the context with
// the visitor's CSRF token when csrf is set (the fragment renders forms), else the bare one.
func (c *Composition) forwarded(csrf bool) fragments.Forwarded {
	if !csrf && c.req.SignBare != nil {
		c.bareOnce.Do(func() {
			c.bare = c.req.Forwarded
			if c.bare.Context == "" {
				c.bare.Context = c.req.SignBare()
			}
		})
		return c.bare
	}
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
	// Location), another 4xx when the primary's team refused the request (its body is not composed:
	// the caller answers with an error of that status), or 503 when the primary failed.
	Status   int
	Location string
	// Empty is set when the primary answered without content (a bare 404): the shell then shows its
	// own error page instead of composing.
	Empty bool
	// CacheControl and ETag are the primary's: its team's answer's or, served from the cache, its
	// policy with the time left (empty when it failed or answered without them).
	CacheControl, ETag string
	// Title is what the primary's team says the page shows (fragments.TitleHeader), cleaned; empty
	// when it named nothing, or failed.
	Title string
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
		CacheControl: c.prim.cacheControl, ETag: c.prim.etag, Title: c.prim.title}
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
	b.Grow(64 * len(all))
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
		if s.reason != "" {
			b.WriteByte(' ')
			b.WriteString(s.reason)
		}
		b.WriteString(`";dur=`)
		writeMillis(&b, s.dur)
	}
	return b.String()
}

// writeMillis writes d in milliseconds with two decimals (1.25), rounded to the nearest hundredth,
// without formatting a float.
func writeMillis(b *strings.Builder, d time.Duration) {
	h := (max(d, 0).Microseconds() + 5) / 10 // hundredths of a millisecond
	var buf [24]byte
	out := strconv.AppendInt(buf[:0], h/100, 10)
	out = append(out, '.', byte('0'+h%100/10), byte('0'+h%10))
	b.Write(out)
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

// WaitReady waits up to d for every fragment (nested ones included) to finish and reports whether
// they all did. A page whose fragments arrive together is then written in one piece: no chunked
// stream, one write, while a page with a slow fragment still streams after at most d. WriteTo then
// also waits up to d for each later fragment before it flushes what it has, so fragments arriving
// close together share a chunk. It waits on the page's one settled channel, closed by the last
// fragment to finish: the waiting handler is woken once, not once per fragment.
func (c *Composition) WaitReady(d time.Duration) bool {
	c.grace = d
	select {
	case <-c.settled:
		return true
	default:
	}
	if d <= 0 {
		return false
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-c.settled:
		return true
	case <-t.C:
		return false
	}
}

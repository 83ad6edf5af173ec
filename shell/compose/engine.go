// Package compose is the shell's streaming composition engine (docs/fragments.md). A page is a Template
// (an HTML document with <inlay-fragment> tags); Start begins every fetch it names at once, Outcome
// waits for the primary fragment's status, and WriteTo streams the document with each tag replaced
// by its fragment: the head (with the fragments' stylesheets) at once, the body in document order,
// async slots out of order, nested tags resolved to a depth limit. Every fragment has its own
// deadline, a fallback, a circuit breaker per team (in the fragments client) and, for public
// fragments, a cache.
package compose

import (
	"errors"
	"log/slog"
	"strings"
	"sync"
	"time"

	"go.opentelemetry.io/otel/trace"
	"go.opentelemetry.io/otel/trace/noop"
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
	// Stylesheets are linked in every composed page's head before the fragments' own, once each:
	// the pattern library's (fragments/ui), whose components every team uses.
	Stylesheets []string
	// Observe, when set, is told of every fragment's outcome (metrics).
	Observe func(team, fragment string, src Source, d time.Duration)
	// Tracer makes a span of every fragment, a child of the composition's context's span (the
	// page's), with its outcome and team version; nil makes none.
	Tracer trace.Tracer
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
	if opts.Tracer == nil {
		opts.Tracer = noop.NewTracerProvider().Tracer("")
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
	if r.err == nil && e.opts.Cache != nil && r.ref.frag.Cache != fragments.Private {
		version := ""
		if r.state != nil {
			version = r.state.manifest.Version
		}
		r.key = cacheKey(r.ref, locale, version)
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

// workerIdle is how long a worker without a task lives on: it ends at the first tick of its idle
// timer (every workerIdle) that finds it ran nothing since the last, so between one and two of these
// after its last task. The timer is not re-armed per task: that was a timer-heap update on every
// fetch.
const workerIdle = 30 * time.Second

func (e *Engine) worker(f func()) {
	idle := time.NewTimer(workerIdle)
	defer idle.Stop()
	ran := false
	for {
		if f != nil {
			f()
			ran = true
		}
		select {
		case f = <-e.work:
		case <-idle.C:
			if !ran {
				return
			}
			ran, f = false, nil
			idle.Reset(workerIdle)
		}
	}
}

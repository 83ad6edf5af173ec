package compose

import (
	"bytes"
	"context"
	"encoding/json"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/inlay-dev/inlay/fragments"
)

// fakeTeam is a team's fragment server for tests: handlers per fragment name, an optional manifest,
// and a record of what it was asked.
type fakeTeam struct {
	t        *testing.T
	srv      *httptest.Server
	mu       sync.Mutex
	handlers map[string]http.HandlerFunc
	manifest *fragments.Manifest
	requests []*http.Request
	inFlight atomic.Int32
	maxIn    atomic.Int32
	arrived  chan string // fragment names, as requests arrive (buffered)
}

func newFakeTeam(t *testing.T) *fakeTeam {
	t.Helper()
	f := &fakeTeam{t: t, handlers: map[string]http.HandlerFunc{}, arrived: make(chan string, 1000)}
	f.srv = httptest.NewServer(http.HandlerFunc(f.serve))
	t.Cleanup(f.srv.Close)
	return f
}

func (f *fakeTeam) serve(w http.ResponseWriter, r *http.Request) {
	if r.URL.Path == fragments.ManifestPath {
		f.mu.Lock()
		m := f.manifest
		f.mu.Unlock()
		if m == nil {
			http.NotFound(w, r)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(m)
		return
	}
	name := strings.TrimPrefix(r.URL.Path, "/fragments/")
	n := f.inFlight.Add(1)
	defer f.inFlight.Add(-1)
	for {
		m := f.maxIn.Load()
		if n <= m || f.maxIn.CompareAndSwap(m, n) {
			break
		}
	}
	f.mu.Lock()
	f.requests = append(f.requests, r.Clone(context.Background()))
	h := f.handlers[name]
	f.mu.Unlock()
	f.arrived <- name
	if h == nil {
		http.NotFound(w, r)
		return
	}
	h(w, r)
}

func (f *fakeTeam) handle(name string, h http.HandlerFunc) {
	f.mu.Lock()
	f.handlers[name] = h
	f.mu.Unlock()
}

// html registers a fragment answering body with the given Cache-Control.
func (f *fakeTeam) html(name, body, cacheControl string) {
	f.handle(name, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		if cacheControl != "" {
			w.Header().Set("Cache-Control", cacheControl)
		}
		_, _ = w.Write([]byte(body))
	})
}

func (f *fakeTeam) count(name string) int {
	f.mu.Lock()
	defer f.mu.Unlock()
	n := 0
	for _, r := range f.requests {
		if strings.TrimPrefix(r.URL.Path, "/fragments/") == name {
			n++
		}
	}
	return n
}

func (f *fakeTeam) lastRequest(name string) *http.Request {
	f.mu.Lock()
	defer f.mu.Unlock()
	for i := len(f.requests) - 1; i >= 0; i-- {
		if strings.TrimPrefix(f.requests[i].URL.Path, "/fragments/") == name {
			return f.requests[i]
		}
	}
	return nil
}

type harness struct {
	t      *testing.T
	client *fragments.Client
	teams  *Teams
	engine *Engine
	cache  *Cache
	now    *fakeClock
}

type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *fakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

type harnessOptions struct {
	cache     bool
	cacheOpts CacheOptions
	client    fragments.ClientOptions
	engine    Options
	// unread leaves the manifests unread, as in a shell that started before its teams.
	unread bool
}

func newHarness(t *testing.T, teams map[string]*fakeTeam, o harnessOptions) *harness {
	t.Helper()
	urls := fragments.Teams{}
	for name, f := range teams {
		urls[name] = []string{f.srv.URL}
	}
	o.client.Teams = urls
	client, err := fragments.NewClient(o.client)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(client.Close)
	log := slog.New(slog.DiscardHandler)
	reg := NewTeams(client, urls, log)
	if !o.unread {
		if err := reg.Refresh(context.Background(), 5*time.Second); err != nil {
			t.Fatal(err)
		}
	}
	h := &harness{t: t, client: client, teams: reg, now: &fakeClock{t: time.Unix(1_800_000_000, 0)}}
	eo := o.engine
	eo.Teams, eo.Client, eo.Log, eo.Now = reg, client, log, h.now.Now
	if eo.ComposerScript == nil {
		eo.ComposerScript = []byte("window.inlayFill=function(){}")
	}
	if o.cache {
		co := o.cacheOpts
		co.Now, co.Log = h.now.Now, log
		h.cache = NewCache(co)
		eo.Cache = h.cache
	}
	h.engine = New(eo)
	return h
}

// flushRecorder is a FlushWriter that records the output and what had been written at each flush.
type flushRecorder struct {
	mu      sync.Mutex
	buf     bytes.Buffer
	flushes []string
	flushed chan string // what was written so far, at each flush (buffered)
	failAt  int         // fail the n-th flush (1-based); 0: never
	onFlush func()      // when not nil, called at every flush
}

var _ FlushWriter = (*flushRecorder)(nil)

func newFlushRecorder() *flushRecorder { return &flushRecorder{flushed: make(chan string, 1000)} }

func (r *flushRecorder) Write(p []byte) (int, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.buf.Write(p)
}

func (r *flushRecorder) Flush() error {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.flushes = append(r.flushes, r.buf.String())
	if r.onFlush != nil {
		r.onFlush()
	}
	if r.failAt > 0 && len(r.flushes) >= r.failAt {
		return errClientGone
	}
	select {
	case r.flushed <- r.buf.String():
	default:
	}
	return nil
}

func (r *flushRecorder) String() string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.buf.String()
}

var errClientGone = errorString("client gone")

type errorString string

func (e errorString) Error() string { return string(e) }

// compose runs a whole page and returns its outcome and output.
func (h *harness) compose(doc string, req Request) (Outcome, string, *Composition) {
	h.t.Helper()
	c := h.engine.Start(context.Background(), Parse([]byte(doc)), req)
	out := c.Outcome()
	w := newFlushRecorder()
	if err := c.WriteTo(w); err != nil {
		h.t.Fatalf("WriteTo: %v", err)
	}
	return out, w.String(), c
}

const page = `<!doctype html><html><head><title>t</title></head><body>%s</body></html>`

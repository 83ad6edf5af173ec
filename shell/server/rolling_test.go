package server

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/inlay-dev/inlay/fragments"
	"github.com/inlay-dev/inlay/shell"
)

// build is one version of a test fragment server: its manifest version, its content-hashed
// stylesheet, and HTML that says which version rendered it.
type build struct{ version, css string }

var (
	buildA = build{version: "A", css: "t.1a2b3c.css"}
	buildB = build{version: "B", css: "t.9f8e7d.css"}
)

// instance is one instance of team t: it serves one build, only its own build's assets, answers
// /readyz 503 while draining, and can be stopped and started again (with another build) on the same
// address.
type instance struct {
	t        *testing.T
	addr     string
	build    atomic.Pointer[build]
	draining atomic.Bool
	mu       sync.Mutex
	srv      *httptest.Server
}

func newInstance(t *testing.T, b build) *instance {
	in := &instance{t: t}
	in.build.Store(&b)
	in.srv = httptest.NewServer(http.HandlerFunc(in.serve))
	in.addr = in.srv.Listener.Addr().String()
	t.Cleanup(in.stop)
	return in
}

func (in *instance) url() string { return "http://" + in.addr }

func (in *instance) serve(w http.ResponseWriter, r *http.Request) {
	b := in.build.Load()
	w.Header().Set(fragments.VersionHeader, b.version) // as fragments.ServeManifest sets it
	switch r.URL.Path {
	case "/readyz":
		if in.draining.Load() {
			w.WriteHeader(http.StatusServiceUnavailable)
		}
	case fragments.ManifestPath:
		_ = json.NewEncoder(w).Encode(fragments.Manifest{Name: "t", Version: b.version,
			Fragments: map[string]fragments.Fragment{"a": {Cache: fragments.Public, CSS: []string{b.css}}}})
	case "/fragments/a":
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		w.Header().Set("Cache-Control", "public, max-age=1") // refetched every second: many picks
		fmt.Fprintf(w, `<p class="a" data-version="%s">version %s</p>`, b.version, b.version)
	case "/static/" + b.css:
		w.Header().Set("Content-Type", "text/css")
		w.Header().Set("Cache-Control", "public, max-age=31536000, immutable") // content-hashed
		fmt.Fprintf(w, ".a{color:%s}", map[string]string{"A": "red", "B": "blue"}[b.version])
	default:
		http.NotFound(w, r)
	}
}

func (in *instance) stop() {
	in.mu.Lock()
	defer in.mu.Unlock()
	if in.srv != nil {
		in.srv.Close()
		in.srv = nil
	}
}

// restart stops the instance (after its drain) and starts build b on the same address.
func (in *instance) restart(b build) {
	in.stop()
	in.build.Store(&b)
	in.draining.Store(false)
	srv := httptest.NewUnstartedServer(http.HandlerFunc(in.serve))
	srv.Listener.Close()
	var err error
	for deadline := time.Now().Add(10 * time.Second); ; {
		if srv.Listener, err = net.Listen("tcp", in.addr); err == nil || time.Now().After(deadline) {
			break
		}
		time.Sleep(10 * time.Millisecond) // the port is being released
	}
	if err != nil {
		in.t.Fatalf("listen again on %s: %v", in.addr, err)
	}
	srv.Start()
	in.mu.Lock()
	in.srv = srv
	in.mu.Unlock()
}

var (
	pageVersion = regexp.MustCompile(`data-version="([AB])"`)
	pageCSS     = regexp.MustCompile(`href="(/static/t/[^"]+\.css)"`)
)

// TestRollingDeployNeverMixesVersions: team t runs two instances of build A; they are replaced one
// at a time by build B (drain: /readyz 503 while serving; stop; start B on the same address), as a
// rolling deploy does, while pages are requested. No page mixes one version's HTML with the other's
// stylesheet (fragments come from instances of the page's version), no stylesheet a page links
// fails (another instance has it, or the shell kept it), and every page is B's within 30 s of B's first
// instance being ready — without restarting the shell (its manifests re-read every 15 s).
func TestRollingDeployNeverMixesVersions(t *testing.T) {
	i1, i2 := newInstance(t, buildA), newInstance(t, buildA)
	page := rawPage("/p", `<!doctype html><html><head><title>p</title></head><body><inlay-fragment src="t/a" primary></inlay-fragment></body></html>`)
	st := startShellURLs(t, map[string]string{"t": i1.url() + "|" + i2.url()}, []shell.Page{page}, shell.Page{},
		func(c *Config) { c.ManifestRefresh = 15 * time.Second })
	ctx, cancel := context.WithCancel(context.Background())
	ran := make(chan struct{})
	go func() { defer close(ran); _ = st.shell.Run(ctx) }()
	t.Cleanup(func() { cancel(); <-ran })

	var (
		pages, mixed, missing atomic.Int64
		sawB                  atomic.Int64 // unix ns of the first page of version B
		lastA                 atomic.Int64 // unix ns of the last page of version A
		mu                    sync.Mutex
		problems              []string
	)
	problem := func(s string) {
		mu.Lock()
		defer mu.Unlock()
		if len(problems) < 10 {
			problems = append(problems, s)
		}
	}
	// The load's own connections, closed before the shell shuts down (cleanups run last-registered
	// first): fasthttp's shutdown waits for a connection the client opened but never used, which Go's
	// transport can leave after a dial race, until it times out (CI saw the 10 s bound exceeded).
	tr := &http.Transport{MaxIdleConnsPerHost: 16}
	t.Cleanup(tr.CloseIdleConnections)
	client := &http.Client{Timeout: 10 * time.Second, Transport: tr}
	load, stopLoad := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			for load.Err() == nil {
				resp, err := client.Get(st.url + "/p")
				if err != nil {
					problem(err.Error())
					continue
				}
				body, _ := io.ReadAll(resp.Body)
				resp.Body.Close()
				pages.Add(1)
				v, css := pageVersion.FindStringSubmatch(string(body)), pageCSS.FindAllStringSubmatch(string(body), -1)
				if resp.StatusCode != 200 || v == nil || len(css) != 1 {
					problem(fmt.Sprintf("page %d: %.300s", resp.StatusCode, body))
					continue
				}
				now := time.Now().UnixNano()
				if v[1] == "B" {
					sawB.CompareAndSwap(0, now)
				} else {
					lastA.Store(now)
				}
				want := map[string]string{"A": buildA.css, "B": buildB.css}[v[1]]
				if !strings.HasSuffix(css[0][1], "/"+want) {
					mixed.Add(1)
					problem(fmt.Sprintf("version %s's HTML with stylesheet %s", v[1], css[0][1]))
				}
				r, err := client.Get(st.url + css[0][1])
				if err != nil {
					problem(err.Error())
					continue
				}
				_, _ = io.Copy(io.Discard, r.Body)
				r.Body.Close()
				if r.StatusCode != 200 {
					missing.Add(1)
					problem(fmt.Sprintf("%s: %d", css[0][1], r.StatusCode))
				}
			}
		})
	}
	waitPages := func(n int64) {
		t.Helper()
		target := pages.Load() + n
		deadline := time.Now().Add(30 * time.Second)
		for pages.Load() < target {
			if time.Now().After(deadline) {
				t.Fatalf("fewer than %d pages in 30 s", n)
			}
			time.Sleep(5 * time.Millisecond)
		}
	}
	waitOut := func(in *instance) {
		t.Helper()
		deadline := time.Now().Add(30 * time.Second)
		for {
			out := false
			for _, inst := range st.shell.instances.All("t") {
				out = out || (inst.Base == in.url() && !inst.Ready())
			}
			if out {
				return
			}
			if time.Now().After(deadline) {
				t.Fatalf("%s still in the shell's rotation 30 s after it began draining", in.url())
			}
			time.Sleep(10 * time.Millisecond)
		}
	}

	waitPages(50)
	// The rolling deploy: i2 first, then i1; each drains, stops and starts as B. The next drain
	// starts as soon as the new instance is ready (its /readyz answers 200), as Kubernetes does.
	var firstB time.Time
	const drain = 3 * time.Second // the instance's INLAY_DRAIN (5 s in deploy/)
	for _, in := range []*instance{i2, i1} {
		in.draining.Store(true)
		drained := time.Now().Add(drain)
		waitOut(in) // the shell's health check notices within the drain
		waitPages(20)
		time.Sleep(time.Until(drained)) // the instance keeps serving for its drain, then stops
		in.restart(buildB)
		if firstB.IsZero() {
			firstB = time.Now()
		}
		waitPages(20)
	}
	// Every page is B's within 30 s of B's first instance.
	deadline := firstB.Add(30 * time.Second)
	for sawB.Load() == 0 || time.Since(time.Unix(0, lastA.Load())) < time.Second { // no page of A for a second
		if time.Now().After(deadline) {
			t.Fatalf("pages of version A still served %s after B's first instance was ready", time.Since(firstB))
		}
		time.Sleep(10 * time.Millisecond)
	}
	stopLoad()
	wg.Wait()
	tr.CloseIdleConnections()
	t.Logf("%d pages; last page of A %s after B's first instance was ready", pages.Load(),
		time.Unix(0, lastA.Load()).Sub(firstB).Round(time.Millisecond))
	if mixed.Load() > 0 || missing.Load() > 0 || len(problems) > 0 {
		t.Errorf("%d pages mixed versions, %d stylesheets missing: %v", mixed.Load(), missing.Load(), problems)
	}
	if sawB.Load() == 0 {
		t.Error("no page of version B")
	}
	if last := time.Unix(0, lastA.Load()); last.Sub(firstB) > 30*time.Second {
		t.Errorf("last page of A %s after B's first instance was ready, want ≤ 30 s", last.Sub(firstB))
	}
}

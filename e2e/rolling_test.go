//go:build e2e

package e2e

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	decideseed "github.com/inlay-dev/inlay/services/decide/seed"
	exploreseed "github.com/inlay-dev/inlay/services/explore/seed"
)

// Bounds of the rolling-restart test.
const (
	rollingMinPages    = 2000 // at least this many product pages, and until both restarts are done
	rollingConcurrency = 50
	// rollingMaxLoad bounds the load in time whatever the machine's speed: the restarts must be done
	// by then (a count bound failed on a fast machine, whose pages ran out before the restarts did).
	rollingMaxLoad = 3 * time.Minute
)

// rollingTarget is a page of the rolling-restart load and its primary fragment (team/name).
type rollingTarget struct{ url, primary string }

// TestRollingRestart: two instances each of decide and explore behind the shell; while product pages
// (decide's primary fragment) and, for explore, category pages (explore's primary) are requested 50 at
// a time, one instance of each team is restarted in turn (SIGTERM: it drains, with /readyz answering
// 503, then stops; started again, it is ready). Not one page fails, no page's primary fragment falls
// back (its Server-Timing names its source), and each restarted instance serves fragments again.
func TestRollingRestart(t *testing.T) {
	p := Start(t, Replicas("decide", 2), Replicas("explore", 2),
		// No fragment cache: every page asks the teams, so every page crosses the restarts. A
		// generous default fragment deadline: the test is about restarts, on a machine that may be
		// busy with others' tests (the header's and footer's own 300 ms still apply).
		WithEnv("INLAY_MANIFEST_REFRESH=1s", "INLAY_DRAIN=3s", "INLAY_FRAGMENT_CACHE=false", "INLAY_FRAGMENT_TIMEOUT=3s"))
	products, err := decideseed.Products()
	if err != nil {
		t.Fatal(err)
	}
	seed, err := exploreseed.Load()
	if err != nil {
		t.Fatal(err)
	}
	sfWaitCatalog(t, p, products)
	var pages []rollingTarget
	for _, pr := range products {
		for _, v := range pr.Variants {
			pages = append(pages, rollingTarget{p.Shell + "/product/" + pr.ID + "?sku=" + url.QueryEscape(v.SKU), "decide/product"})
		}
	}
	for i := range len(pages) / 2 { // a third of the pages: explore's
		c := seed.Categories[i%len(seed.Categories)]
		pages = append(pages, rollingTarget{p.Shell + "/products/" + c.Key, "explore/category"})
	}
	client := &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{MaxIdleConnsPerHost: rollingConcurrency}}
	rollingWarm(t, p, client, pages)
	before := shellFallbacks(t, p)

	loadCtx, stopLoad := context.WithTimeout(context.Background(), rollingMaxLoad)
	defer stopLoad()
	var (
		next, failed atomic.Int64
		restarted    atomic.Bool
		mu           sync.Mutex
		failures     []string
		wg           sync.WaitGroup
	)
	for range rollingConcurrency {
		wg.Go(func() {
			for {
				if loadCtx.Err() != nil {
					return
				}
				n := next.Add(1)
				if n > rollingMinPages && restarted.Load() {
					next.Add(-1)
					return
				}
				pg := pages[int(n)%len(pages)]
				if msg := rollingPage(client, pg.url, pg.primary); msg != "" {
					failed.Add(1)
					mu.Lock()
					if len(failures) < 10 {
						failures = append(failures, msg)
					}
					mu.Unlock()
				}
			}
		})
	}
	for _, name := range []string{"decide", "explore"} {
		p.Restart(t, name) // SIGTERM, drain, exit; start; ready
		// Serving again: the shell's rotation has the instance back, and it answers fragments (beyond
		// its own warm-up's, counted before it was ready).
		warm := fragmentRequests(t, p.URL(t, name))
		sfEventually(t, sfSettle, name+" serves fragments again after its restart", func() (bool, string) {
			n := fragmentRequests(t, p.URL(t, name)) - warm
			return n > 0, fmt.Sprintf("%d fragment requests since it was ready", n)
		})
		if loadCtx.Err() != nil {
			t.Fatalf("the load ended (%s, %d pages) before %s's restart was done", rollingMaxLoad, next.Load(), name)
		}
	}
	restarted.Store(true)
	wg.Wait()
	total := next.Load()
	t.Logf("%d product pages, %d concurrent, during a restart of decide and of explore: %d failed", total, rollingConcurrency, failed.Load())
	if failed.Load() > 0 {
		t.Errorf("%d of %d pages failed: %v", failed.Load(), total, failures)
	}
	after := shellFallbacks(t, p)
	for _, team := range []string{"decide", "explore"} {
		// Beyond the primaries (checked page by page): explore's header and footer, whose 300 ms
		// deadlines a busy machine may miss. Logged, not asserted.
		t.Logf("fragments of %s that fell back during the load: %d", team, after[team]-before[team])
	}
}

// rollingWarm brings the platform to its steady state before the count starts: a pass over every page
// at the test's concurrency with no page failed and no fragment of any team fallen back, during which
// every instance served fragments (both of each team are in the shell's rotation). A platform that
// has just started (its second instances a second ago), hit by 50 pages at once, can miss the
// primaries' 1 s deadlines (the manifests') in its first second on a two-core machine: in the runs
// whose logs we read, every failure was a deadline in the load's first second, none at a restart.
// That is a cold start of everything at once, not a restart; a restarted instance joins a warm
// platform, and its first requests are counted. The fallbacks count too: on a VM of half the speed
// (session 7) a platform still busy with its start passed a pass of pages while missing the other
// teams' deadlines (recommendations, the mini cart), then missed the primaries' in the load's first
// second.
func rollingWarm(t *testing.T, p *Platform, client *http.Client, pages []rollingTarget) {
	t.Helper()
	instances := []string{"decide", "decide-2", "explore", "explore-2"}
	passes := 0
	sfEventually(t, sfSettle, "a pass over every page with none failed, every instance serving", func() (bool, string) {
		passes++
		served := make([]int64, len(instances))
		for i, name := range instances {
			served[i] = fragmentRequests(t, p.URL(t, name))
		}
		fellBack := shellFallbacks(t, p)
		var (
			next, failed atomic.Int64
			wg           sync.WaitGroup
			first        atomic.Pointer[string]
		)
		for range rollingConcurrency {
			wg.Go(func() {
				for n := next.Add(1); n <= int64(len(pages)); n = next.Add(1) {
					pg := pages[n-1]
					if msg := rollingPage(client, pg.url, pg.primary); msg != "" {
						failed.Add(1)
						first.CompareAndSwap(nil, &msg)
					}
				}
			})
		}
		wg.Wait()
		if f := first.Load(); f != nil {
			return false, fmt.Sprintf("pass %d: %d of %d pages failed, first: %s", passes, failed.Load(), len(pages), *f)
		}
		for i, name := range instances {
			if fragmentRequests(t, p.URL(t, name)) == served[i] {
				return false, fmt.Sprintf("pass %d: %s served no fragment (not in the shell's rotation yet)", passes, name)
			}
		}
		for team, n := range shellFallbacks(t, p) {
			if n > fellBack[team] {
				return false, fmt.Sprintf("pass %d: %d fragments of %s fell back", passes, n-fellBack[team], team)
			}
		}
		return true, ""
	})
	t.Logf("warm after %d passes over the %d pages", passes, len(pages))
}

// rollingPage GETs a page and says what is wrong with it, or "": a status but 200, or a primary
// fragment not fetched from its team.
func rollingPage(client *http.Client, u, primary string) string {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return err.Error()
	}
	resp, err := client.Do(req)
	if err != nil {
		return err.Error()
	}
	body, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	switch {
	case err != nil:
		return fmt.Sprintf("%s: read: %v", u, err)
	case resp.StatusCode != http.StatusOK:
		return fmt.Sprintf("%s: status %d", u, resp.StatusCode)
	case !strings.Contains(resp.Header.Get("Server-Timing"), primary+` fetch"`):
		return fmt.Sprintf("%s: primary %s not fetched (Server-Timing %q)", u, primary, resp.Header.Get("Server-Timing"))
	case !strings.Contains(string(body), `data-testid="explore-header"`):
		return u + ": no header"
	}
	return ""
}

// shellFallbacks sums, per team, the shell's fragments that fell back or failed
// (inlay_fragment_duration_seconds_count by source).
func shellFallbacks(t *testing.T, p *Platform) map[string]int64 {
	t.Helper()
	out := map[string]int64{}
	scanMetrics(t, p.Admin["shell"]+"/metrics", func(name string, labels map[string]string, v float64) {
		if name == "inlay_fragment_duration_seconds_count" && (labels["source"] == "fallback" || labels["source"] == "failed") {
			out[labels["team"]] += int64(v)
		}
	})
	return out
}

// fragmentRequests counts the fragment requests a team's process has answered since it started.
func fragmentRequests(t *testing.T, base string) int64 {
	t.Helper()
	var n int64
	scanMetrics(t, base+"/metrics", func(name string, labels map[string]string, v float64) {
		if name == "inlay_http_request_duration_seconds_count" && strings.HasPrefix(labels["route"], "/fragments/") {
			n += int64(v)
		}
	})
	return n
}

// scanMetrics reads a Prometheus text exposition and calls f for each sample.
func scanMetrics(t *testing.T, u string, f func(name string, labels map[string]string, v float64)) {
	t.Helper()
	resp, err := http.Get(u)
	if err != nil {
		t.Fatalf("GET %s: %v", u, err)
	}
	defer resp.Body.Close()
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		if line == "" || line[0] == '#' {
			continue
		}
		sp := strings.LastIndexByte(line, ' ')
		if sp < 0 {
			continue
		}
		v, err := strconv.ParseFloat(line[sp+1:], 64)
		if err != nil {
			continue
		}
		series := line[:sp]
		name, rest, _ := strings.Cut(series, "{")
		labels := map[string]string{}
		for _, kv := range strings.Split(strings.TrimSuffix(rest, "}"), ",") {
			k, v, ok := strings.Cut(kv, "=")
			if ok {
				labels[k] = strings.Trim(v, `"`)
			}
		}
		f(name, labels, v)
	}
	if err := sc.Err(); err != nil {
		t.Fatalf("read %s: %v", u, err)
	}
}

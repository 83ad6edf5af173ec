//go:build e2e

package e2e

import (
	"context"
	"fmt"
	"math/rand/v2"
	"net/http"
	"net/url"
	"os"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/PuerkitoBio/goquery"

	"github.com/inlay-dev/inlay/services/decide"
	decideseed "github.com/inlay-dev/inlay/services/decide/seed"
)

// BenchmarkPriceStaleness is `make bench-staleness` (and part of `make bench`; run it once:
// -benchtime 1x). On the whole platform, product pages of the seeded catalogue are requested uniformly
// at STALENESS_RATE pages a second (default 40) while STALENESS_CHANGES price changes a minute
// (default 100) go to decide's admin API for STALENESS_DURATION (default 60s). A change lowers the
// cheapest variant of a product no change is pending for, so three pages must show it: the variant's
// product page (Add To Cart's price) and the two listings with the product's tile ("from …": all
// products, its category). Staleness of a change: from the admin request's start (before decide's
// commit) to the answer of the first request of the last of the three pages to show the new price,
// each page polled every 25 ms. Exactness of the purges: every page's Server-Timing names where each
// fragment came from; after a warm-up that waits until a whole pass over the pages comes from the
// cache, each fetch of a cache key from its team (concurrent ones joined) is a miss; per key, the
// misses are compared with the changes of the products the fragment showed (exact: never more, and
// none on a key whose products did not change). The table goes to
// STALENESS_BENCH_OUT when set, and to the log. Target: p99 ≤ 1 s.
func BenchmarkPriceStaleness(b *testing.B) {
	rate := benchEnvInt("STALENESS_RATE", 40)
	perMinute := benchEnvInt("STALENESS_CHANGES", 100)
	duration, err := time.ParseDuration(benchEnv("STALENESS_DURATION", "60s"))
	if err != nil {
		b.Fatal(err)
	}
	p := Start(b, WithEnv("INLAY_MANIFEST_REFRESH=1s"))
	products, err := decideseed.Products()
	if err != nil {
		b.Fatal(err)
	}
	sfWaitCatalog(b, p, products)
	client := &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{MaxIdleConnsPerHost: 64}}
	st := newStaleness(products)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var wg sync.WaitGroup

	// The load: product pages, uniformly over every variant, at a fixed rate.
	var pages []string
	for _, pr := range products {
		for _, v := range pr.Variants {
			pages = append(pages, productPage(p.Shell, pr.ID, v.SKU))
		}
	}
	// Warm the caches, and wait until they are quiet: a whole pass over the pages from the cache (the
	// platform's start-up catch-up republishes the catalogue, and explore purges what it changed).
	// What the warm-up fetched is not counted.
	listings := []string{p.Shell + "/products"}
	for _, c := range []string{"classic", "autonomous"} {
		listings = append(listings, p.Shell+"/products/"+c)
	}
	sfEventually(b, 2*sfSettle, "a pass over every product page and listing from the shell's cache", func() (bool, string) {
		var missed []string
		for _, u := range append(slices.Clone(pages), listings...) {
			pg, err := st.get(ctx, client, u)
			if err != nil {
				return false, err.Error()
			}
			for _, f := range []string{"decide/product", "inspire/recommendations", "explore/category"} {
				if src := pg.source(f); src != "" && src != "cache" && src != "stale" { // stale: a copy, revalidated
					missed = append(missed, u+" "+f+" "+src)
				}
			}
		}
		return len(missed) == 0, fmt.Sprintf("%d not from the cache, e.g. %v", len(missed), missed[:min(3, len(missed))])
	})
	st.mu.Lock()
	st.fills = map[string][]cacheFill{}
	st.mu.Unlock()

	var loadErrs atomic.Int64
	wg.Go(func() {
		tick := time.NewTicker(time.Second / time.Duration(rate))
		defer tick.Stop()
		var inflight sync.WaitGroup
		defer inflight.Wait()
		for {
			select {
			case <-ctx.Done():
				return
			case <-tick.C:
			}
			u := pages[rand.IntN(len(pages))]
			inflight.Go(func() {
				if _, err := st.get(ctx, client, u); err != nil && ctx.Err() == nil {
					loadErrs.Add(1)
				}
			})
		}
	})
	// The changes, each measured by its own prober.
	decideURL := p.URL(b, "decide")
	interval := time.Minute / time.Duration(perMinute)
	tick := time.NewTicker(interval)
	end := time.Now().Add(duration)
	var probes sync.WaitGroup
	var changeErrs []string
	for time.Now().Before(end) {
		<-tick.C
		ch, ok := st.next()
		if !ok {
			continue // every product has a change pending: skip one beat
		}
		ch.at = time.Now()
		err := changePrice(ctx, client, decideURL, ch.sku, ch.price)
		st.committed(ch) // a change that failed may still have been committed: its purges are expected
		if err != nil {
			changeErrs = append(changeErrs, err.Error())
			st.done(ch, false)
			continue
		}
		probes.Go(func() { st.probe(ctx, client, p.Shell, ch) })
	}
	tick.Stop()
	probes.Wait()
	cancel()
	wg.Wait()
	load, _ := os.ReadFile("/proc/loadavg")
	if len(changeErrs) > 0 { // what decide said of them
		for _, line := range strings.Split(p.Logs(b, "decide"), "\n") {
			if strings.Contains(line, "level=ERROR") || strings.Contains(line, `"level":"ERROR"`) {
				changeErrs = append(changeErrs, "decide: "+line)
			}
		}
	}

	report := st.report(rate, perMinute, duration, loadErrs.Load(), changeErrs, strings.Join(strings.Fields(string(load))[:3], " "))
	if out := os.Getenv("STALENESS_BENCH_OUT"); out != "" {
		if err := os.WriteFile(out, []byte(report), 0o644); err != nil {
			b.Fatal(err)
		}
	}
	b.Log("\n" + report)
}

// stalenessGiveUp bounds the wait for one change's pages: a change not seen by then counts as this
// long (and as unseen).
const stalenessGiveUp = 30 * time.Second

type priceChange struct {
	product, category, sku string
	price                  int64
	at                     time.Time     // the admin request's start
	took                   time.Duration // until every page showed it
	seen                   bool
}

// cacheFill is one fetch of a cache key from its team (concurrent pages that joined it are one fill).
type cacheFill struct{ start, end time.Time }

type staleness struct {
	mu       sync.Mutex
	products []decide.Product
	category map[string]string      // product → category
	owner    map[string]string      // sku → product
	pending  map[string]bool        // products with a change not yet seen everywhere
	count    map[string]int         // changes per product
	changes  map[string][]time.Time // each product's changes, by their admin request's start
	finished []*priceChange
	fills    map[string][]cacheFill // cache key → its fetches
	shows    map[string][]string    // cache key → the products it showed, as last seen
}

func newStaleness(products []decide.Product) *staleness {
	st := &staleness{products: products, category: map[string]string{}, owner: map[string]string{},
		pending: map[string]bool{}, count: map[string]int{}, changes: map[string][]time.Time{},
		fills: map[string][]cacheFill{}, shows: map[string][]string{}}
	for _, pr := range products {
		st.category[pr.ID] = pr.Category
		for _, v := range pr.Variants {
			st.owner[v.SKU] = pr.ID
		}
	}
	return st
}

// next picks a product with no change pending, uniformly, and lowers its cheapest variant below the
// seed's lowest price (to a value its previous change did not set), so its tile's "from" changes too.
func (st *staleness) next() (*priceChange, bool) {
	st.mu.Lock()
	defer st.mu.Unlock()
	var free []decide.Product
	for _, pr := range st.products {
		if !st.pending[pr.ID] {
			free = append(free, pr)
		}
	}
	if len(free) == 0 {
		return nil, false
	}
	pr := free[rand.IntN(len(free))]
	cheapest := pr.Variants[0]
	for _, v := range pr.Variants {
		if v.Price < cheapest.Price {
			cheapest = v
		}
	}
	st.count[pr.ID]++
	st.pending[pr.ID] = true
	return &priceChange{product: pr.ID, category: pr.Category, sku: cheapest.SKU,
		price: cheapest.Price - 1 - int64(st.count[pr.ID]%7)}, true
}

func (st *staleness) committed(ch *priceChange) {
	st.mu.Lock()
	defer st.mu.Unlock()
	st.changes[ch.product] = append(st.changes[ch.product], ch.at)
}

func (st *staleness) done(ch *priceChange, record bool) {
	st.mu.Lock()
	defer st.mu.Unlock()
	delete(st.pending, ch.product)
	if record {
		st.finished = append(st.finished, ch)
	}
}

// probe polls the change's three pages until each shows the new price.
func (st *staleness) probe(ctx context.Context, client *http.Client, shell string, ch *priceChange) {
	wantPrice, wantTile := fmt.Sprintf("%d Ø", ch.price), fmt.Sprintf("from %d Ø", ch.price)
	pages := map[string]func(timedPage) bool{
		productPage(shell, ch.product, ch.sku): func(pg timedPage) bool { return pg.addToCartPrice() == wantPrice },
		shell + "/products":                    func(pg timedPage) bool { return pg.tilePrice(ch.product) == wantTile },
		shell + "/products/" + url.PathEscape(ch.category): func(pg timedPage) bool {
			return pg.tilePrice(ch.product) == wantTile
		},
	}
	var last time.Time
	for u, shows := range pages {
		for {
			pg, err := st.get(ctx, client, u)
			if err == nil && pg.status == http.StatusOK && shows(pg) {
				if now := time.Now(); now.After(last) {
					last = now
				}
				break
			}
			if time.Since(ch.at) > stalenessGiveUp || ctx.Err() != nil {
				ch.took = stalenessGiveUp
				st.done(ch, true)
				return
			}
			time.Sleep(25 * time.Millisecond)
		}
	}
	ch.took, ch.seen = last.Sub(ch.at), true
	st.done(ch, true)
}

// get requests a page and records where its cached fragments came from.
func (st *staleness) get(ctx context.Context, client *http.Client, u string) (timedPage, error) {
	start := time.Now()
	pg, err := getTimed(ctx, client, u)
	if err != nil {
		return pg, err
	}
	end := time.Now()
	pu, err := url.Parse(u)
	if err != nil {
		return pg, err
	}
	st.mu.Lock()
	defer st.mu.Unlock()
	record := func(key, fragment string, shows []string) {
		if src := pg.source(fragment); src != "" {
			st.shows[key] = shows
			if src == "fetch" {
				fs := st.fills[key]
				if n := len(fs); n > 0 && !start.After(fs[n-1].end) { // joined the fetch in flight
					if end.After(fs[n-1].end) {
						fs[n-1].end = end
					}
				} else {
					st.fills[key] = append(fs, cacheFill{start: start, end: end})
				}
			}
		}
	}
	switch {
	case strings.HasPrefix(pu.Path, "/product/"):
		id, sku := strings.TrimPrefix(pu.Path, "/product/"), pu.Query().Get("sku")
		record("decide/product "+sku, "decide/product", []string{id})
		var recs []string
		for _, s := range pg.recommended() {
			if !slices.Contains(recs, st.owner[s]) {
				recs = append(recs, st.owner[s])
			}
		}
		record("inspire/recommendations "+sku, "inspire/recommendations", recs)
	case strings.HasPrefix(pu.Path, "/products"):
		var ids []string
		pg.doc.Find(`[data-testid="product-tile"]`).Each(func(_ int, s *goquery.Selection) {
			ids = append(ids, s.AttrOr("data-product-id", ""))
		})
		record("explore/category "+pu.Path, "explore/category", ids)
	}
	return pg, nil
}

func (st *staleness) report(rate, perMinute int, duration time.Duration, loadErrs int64, changeErrs []string, load string) string {
	st.mu.Lock()
	defer st.mu.Unlock()
	var took []time.Duration
	unseen := 0
	for _, ch := range st.finished {
		took = append(took, ch.took)
		if !ch.seen {
			unseen++
		}
	}
	slices.Sort(took)
	q := func(f float64) string {
		if len(took) == 0 {
			return "–"
		}
		return took[min(len(took)-1, int(f*float64(len(took))))].Round(time.Millisecond).String()
	}
	var b strings.Builder
	fmt.Fprintf(&b, "Price staleness: product pages of the seeded catalogue (%d products) requested uniformly at %d pages/s, %d price changes a minute through decide's admin API for %s; -race off, every process of the platform on this machine.\n\n",
		len(st.products), rate, perMinute, duration)
	b.WriteString("| changes | seen on every page | p50 | p99 | max | page errors | change errors |\n|---|---|---|---|---|---|---|\n")
	fmt.Fprintf(&b, "| %d | %d | %s | %s | %s | %d | %d |\n\n", len(took), len(took)-unseen, q(0.5), q(0.99),
		q(1), loadErrs, len(changeErrs))
	b.WriteString("Cache misses: fetches of a cached fragment's key from its team after the warm-up (which left every key cached), concurrent pages joining one fetch counted once; per key, against the changes of the products the fragment showed. Exact purges: no key missed more often than the products it showed changed (at most one miss per change per key), and no miss on a key none of whose products changed. Add To Cart is private, never cached: not counted.\n\n")
	b.WriteString("| fragment | keys | changes × keys showing the product | misses | misses per change × key | misses beyond one per change | misses on keys with no change shown |\n|---|---|---|---|---|---|---|\n")
	type tally struct{ keys, exposures, misses, beyond, unchanged int }
	byFragment := map[string]tally{}
	for key, ids := range st.shows {
		frag, _, _ := strings.Cut(key, " ")
		c := byFragment[frag]
		changes := 0
		for _, id := range ids {
			changes += len(st.changes[id])
		}
		m := len(st.fills[key])
		c.keys++
		c.exposures += changes
		c.misses += m
		c.beyond += max(0, m-changes)
		if changes == 0 {
			c.unchanged += m
		}
		byFragment[frag] = c
	}
	for _, frag := range []string{"decide/product", "inspire/recommendations", "explore/category"} {
		c := byFragment[frag]
		per := "–"
		if c.exposures > 0 {
			per = fmt.Sprintf("%.2f", float64(c.misses)/float64(c.exposures))
		}
		fmt.Fprintf(&b, "| %s | %d | %d | %d | %s | %d | %d |\n", frag, c.keys, c.exposures, c.misses, per, c.beyond, c.unchanged)
	}
	fmt.Fprintf(&b, "\nLoad average at the end: %s (target: p99 ≤ 1 s; the pages were polled every 25 ms, so a figure is late by up to that).\n", load)
	if len(changeErrs) > 0 {
		fmt.Fprintf(&b, "\nChange errors (counted as changes: they may have been committed): %s\n", strings.Join(changeErrs[:min(6, len(changeErrs))], "; "))
	}
	return b.String()
}

//go:build e2e

package e2e

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/PuerkitoBio/goquery"
	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/chromedp"

	"github.com/inlay-dev/inlay/services/decide"
	decideseed "github.com/inlay-dev/inlay/services/decide/seed"
	exploreseed "github.com/inlay-dev/inlay/services/explore/seed"
)

// Bounds of the storefront tests' waiting. They bound waiting for a condition, never pace it.
const (
	// sfSettle bounds the platform's catch-up after start: decide's seed reaching explore's,
	// inspire's and checkout's copies through RabbitMQ, and inventory's stock reaching checkout.
	sfSettle = 60 * time.Second
	// sfPoll is the interval between two checks of a condition.
	sfPoll = 200 * time.Millisecond
	// sfOrderFinal bounds an order's saga, from place-order to confirmed or cancelled.
	sfOrderFinal = 60 * time.Second
	// sfNavTimeout bounds a click's navigation, until the next page has loaded.
	sfNavTimeout = 20 * time.Second
)

// TestBrowse walks the storefront as a shopper does (docs/storefront.md, issue 5) on one platform: home →
// category → product → another variant; search with a typo and with nothing; 404 pages; and the
// product page with inspire stopped.
func TestBrowse(t *testing.T) {
	t.Parallel()
	p := sfStart(t)
	products, err := decideseed.Products()
	if err != nil {
		t.Fatal(err)
	}
	seed, err := exploreseed.Load()
	if err != nil {
		t.Fatal(err)
	}
	sfWaitCatalog(t, p, products)

	t.Run("HomeCategoryProductVariant", func(t *testing.T) {
		tab := Browser(t)
		sfOpen(t, tab, p.Shell+"/")
		cat := seed.Categories[0]
		teaser := fmt.Sprintf(`a[data-testid="teaser"][href="/products/%s"]`, cat.Key)
		resp, err := sfClickNav(tab, teaser)
		if err != nil {
			t.Fatalf("click the %s teaser: %v", cat.Key, err)
		}
		if resp.Status != http.StatusOK || !strings.HasSuffix(resp.URL, "/products/"+cat.Key) {
			t.Fatalf("teaser led to %s (%d), want /products/%s", resp.URL, resp.Status, cat.Key)
		}

		// The category: its name, "N products", the active filter, tiles by start price, highest first.
		start := map[string]int64{}
		for _, pr := range products {
			if pr.Category != cat.Key {
				continue
			}
			low := pr.Variants[0].Price
			for _, v := range pr.Variants {
				low = min(low, v.Price)
			}
			start[pr.ID] = low
		}
		if got := sfText(t, tab, `[data-testid="category-title"]`); got != cat.Name {
			t.Errorf("category title %q, want %q", got, cat.Name)
		}
		if got, want := sfText(t, tab, `[data-testid="category-count"]`), fmt.Sprintf("%d products", len(start)); got != want {
			t.Errorf("category count %q, want %q", got, want)
		}
		if got := sfText(t, tab, `[data-testid="filter-active"]`); got != cat.Name {
			t.Errorf("active filter %q, want %q", got, cat.Name)
		}
		tiles := sfTiles(t, tab)
		if len(tiles) != len(start) {
			t.Fatalf("%d tiles, want %d: %+v", len(tiles), len(start), tiles)
		}
		for i, tl := range tiles {
			want, ok := start[tl.ID]
			if !ok {
				t.Errorf("tile %s is not a %s product", tl.ID, cat.Key)
			}
			if tl.Price != fmt.Sprintf("from %d Ø", want) {
				t.Errorf("tile %s price %q, want \"from %d Ø\"", tl.ID, tl.Price, want)
			}
			if i > 0 && start[tiles[i-1].ID] < want {
				t.Errorf("tile %d (%s, %d) after %s (%d): not sorted by start price, highest first",
					i, tl.ID, want, tiles[i-1].ID, start[tiles[i-1].ID])
			}
		}

		// The first tile leads to its product page, which shows the first variant.
		first := tiles[0].ID
		idx := slices.IndexFunc(products, func(pr decide.Product) bool { return pr.ID == first })
		if idx < 0 {
			t.Fatalf("product %s not in decide's seed", first)
		}
		product := products[idx]
		if len(product.Variants) < 2 {
			t.Fatalf("product %s has %d variants; the test needs two", first, len(product.Variants))
		}
		resp, err = sfClickNav(tab, `[data-testid="product-tile"] a`)
		if err != nil {
			t.Fatalf("click the first tile: %v", err)
		}
		if resp.Status != http.StatusOK {
			t.Fatalf("tile led to %s (%d)", resp.URL, resp.Status)
		}
		from, to := product.Variants[0], product.Variants[1]
		if got := sfAttr(t, tab, `[data-testid="decide-product"]`, "data-sku"); got != from.SKU {
			t.Fatalf("product page shows %s, want the first variant %s", got, from.SKU)
		}
		if got := sfText(t, tab, `[data-testid="decide-product-name"]`); got != product.Name {
			t.Errorf("product name %q, want %q", got, product.Name)
		}
		// Recommendations and Add To Cart are slots with a deadline; on a loaded machine one may
		// show its fallback, so the page is reloaded until both are there.
		before := sfProductSlots(t, tab, "", from.SKU)
		if before.Price != fmt.Sprintf("%d Ø", from.Price) {
			t.Errorf("add to cart for %s shows %q, want \"%d Ø\"", from.SKU, before.Price, from.Price)
		}

		// Switch the variant by its link.
		link := fmt.Sprintf(`[data-testid="decide-variant"][data-sku="%s"] a[data-testid="decide-variant-link"]`, to.SKU)
		resp, err = sfClickNav(tab, link)
		if err != nil {
			t.Fatalf("click variant %s: %v", to.SKU, err)
		}
		if resp.Status != http.StatusOK {
			t.Fatalf("variant link led to %s (%d)", resp.URL, resp.Status)
		}
		after := sfProductSlots(t, tab, "", to.SKU)
		if got := sfAttr(t, tab, `[data-testid="decide-variant-selected"]`, "aria-current"); got != "true" {
			t.Errorf("selected variant not emphasised (aria-current %q)", got)
		}
		if got := sfAttr(t, tab, `[data-testid="decide-variant"]:has([data-testid="decide-variant-selected"])`, "data-sku"); got != to.SKU {
			t.Errorf("selected variant %q, want %s", got, to.SKU)
		}
		if after.Price != fmt.Sprintf("%d Ø", to.Price) {
			t.Errorf("add to cart for %s shows %q, want \"%d Ø\"", to.SKU, after.Price, to.Price)
		}
		if slices.Equal(before.Recommended, after.Recommended) {
			t.Errorf("recommendations did not change with the variant: %v for %s and for %s", before.Recommended, from.SKU, to.SKU)
		}
		for _, r := range [][]string{before.Recommended, after.Recommended} {
			if len(r) == 0 || len(r) > 4 {
				t.Errorf("recommendations %v: want 1 to 4", r)
			}
		}
		if slices.Contains(after.Recommended, to.SKU) {
			t.Errorf("recommendations for %s include it: %v", to.SKU, after.Recommended)
		}
	})

	t.Run("SearchTypo", func(t *testing.T) {
		tab := Browser(t)
		sfOpen(t, tab, p.Shell+"/search?q=tracter")
		if n := len(sfTiles(t, tab)); n != len(products) {
			t.Errorf(`search "tracter": %d tiles, want every tractor (%d)`, n, len(products))
		}
		if got := sfText(t, tab, `[data-testid="search-summary"]`); got == "" {
			t.Error(`search "tracter": no summary`)
		}
		sfOpen(t, tab, p.Shell+"/search?q=xqzjwv")
		if got := sfText(t, tab, `[data-testid="search-no-results"]`); got == "" {
			t.Error("search without results: no no-results state")
		}
	})

	t.Run("SearchEmpty", func(t *testing.T) {
		tab := Browser(t)
		sfOpen(t, tab, p.Shell+"/search")
		if got := sfText(t, tab, `[data-testid="search-empty"]`); got == "" {
			t.Error("empty search: no empty state")
		}
		if n := len(sfTiles(t, tab)); n != 0 {
			t.Errorf("empty search shows %d tiles", n)
		}
		// Searching from the form: type and submit.
		ctx, cancel := context.WithTimeout(tab, sfNavTimeout)
		defer cancel()
		resp, err := chromedp.RunResponse(ctx,
			chromedp.SendKeys(chromedp.CSS(`[data-testid="search-input"]`), "tracter"),
			chromedp.Submit(chromedp.CSS(`[data-testid="search-input"]`)),
		)
		if err != nil {
			t.Fatalf("submit the search form: %v", err)
		}
		if resp.Status != http.StatusOK || !strings.Contains(resp.URL, "q=tracter") {
			t.Fatalf("search form led to %s (%d)", resp.URL, resp.Status)
		}
		if n := len(sfTiles(t, tab)); n != len(products) {
			t.Errorf(`search form "tracter": %d tiles, want %d`, n, len(products))
		}
	})

	t.Run("NotFound", func(t *testing.T) {
		tab := Browser(t)
		known := products[0]
		for _, path := range []string{
			"/product/XX-99",
			"/product/XX-99?sku=XX-99-RD",
			"/product/" + known.ID + "?sku=" + known.ID + "-ZZ",
			"/products/hovercraft",
			"/no-such-page",
		} {
			res, doc := sfGet(t, http.DefaultClient, p.Shell+path)
			if res.StatusCode != http.StatusNotFound {
				t.Errorf("GET %s = %d, want 404", path, res.StatusCode)
			}
			if doc.Find("body[data-boundary-page]").Length() != 1 || doc.Find("h1").Length() == 0 {
				t.Errorf("GET %s: not a composed page with a heading", path)
			}
			resp, err := chromedp.Run(tab, chromedp.NavigateResponse(p.Shell+path))
			if err != nil {
				t.Fatalf("open %s: %v", path, err)
			}
			if resp.Status != http.StatusNotFound {
				t.Errorf("browser: %s = %d, want 404", path, resp.Status)
			}
			h1 := strings.ToLower(sfText(t, tab, "h1"))
			if !strings.Contains(h1, "not found") {
				t.Errorf("%s: heading %q, want a not-found page", path, h1)
			}
			for _, sel := range []string{`[data-testid="explore-header"]`, `[data-testid="explore-footer"]`} {
				if n := sfCount(t, tab, sel); n != 1 {
					t.Errorf("%s: %d of %s, want the page's frame", path, n, sel)
				}
			}
		}
	})

	// The product whose recommendations InspireStopped needs uncached.
	last := products[len(products)-1]
	lastSKU := last.Variants[len(last.Variants)-1].SKU
	t.Run("PriceChange", func(t *testing.T) { sfPriceChange(t, p, products, lastSKU) })
	t.Run("StockChange", func(t *testing.T) { sfStockChange(t, p, products[1]) })

	// Last: it stops a team.
	t.Run("InspireStopped", func(t *testing.T) {
		// A product never shown above, so no copy of its recommendations is cached anywhere.
		pr := products[len(products)-1]
		sku := pr.Variants[len(pr.Variants)-1].SKU
		page := p.Shell + "/product/" + pr.ID + "?sku=" + url.QueryEscape(sku)
		p.Stop(t, "inspire")

		res, doc := sfGet(t, http.DefaultClient, page) // warms the shell's other slots
		if res.StatusCode != http.StatusOK {
			t.Fatalf("GET %s with inspire stopped = %d, want 200", page, res.StatusCode)
		}
		if doc.Find(`[data-testid="inspire-recommendations"]`).Length() != 0 {
			t.Error("recommendations shown while inspire is stopped")
		}

		tab := Browser(t)
		began := time.Now()
		resp, err := chromedp.Run(tab, chromedp.NavigateResponse(page))
		took := time.Since(began)
		if err != nil {
			t.Fatalf("open %s: %v", page, err)
		}
		t.Logf("product page with inspire stopped loaded in %s", took)
		if resp.Status != http.StatusOK {
			t.Fatalf("product page with inspire stopped = %d, want 200", resp.Status)
		}
		// The page did not wait on inspire: its slot fell back at once (connection refused, or the
		// breaker open), never at the slot's deadline. Checked by the outcome the shell reports, not
		// by a time, which a busy machine stretches.
		if pg, err := getTimed(context.Background(), http.DefaultClient, page); err != nil {
			t.Error(err)
		} else if m := regexp.MustCompile(`desc="inspire/recommendations ([a-z -]+)"`).FindStringSubmatch(pg.timing); m == nil ||
			!strings.HasPrefix(m[1], "fallback") || strings.Contains(m[1], "timeout") {
			t.Errorf("recommendations with inspire stopped: Server-Timing %q, want a fallback without waiting for the deadline", pg.timing)
		}
		if got := sfAttr(t, tab, `[data-testid="decide-product"]`, "data-sku"); got != sku {
			t.Errorf("product shows %q, want %s", got, sku)
		}
		for _, sel := range []string{`[data-testid="explore-header"]`, `[data-testid="explore-footer"]`, `[data-testid="checkout-add-to-cart"], [data-testid="add-to-cart-unavailable"]`} {
			if n := sfCount(t, tab, sel); n != 1 {
				t.Errorf("%d of %s, want 1", n, sel)
			}
		}
		// The slot holds its fallback: nothing from inspire.
		if n := sfCount(t, tab, `[data-boundary="inspire"]`); n != 0 {
			t.Errorf("%d inspire elements with inspire stopped, want the empty fallback", n)
		}
	})
}

// sfWaitCatalog waits until the platform has caught up after its start: explore lists every product
// of decide's seed (decide's events went round), and the shell has read every team's manifest, so a
// page links its fragments' stylesheets (the shell reads manifests again every
// INLAY_MANIFEST_REFRESH when a team was not up yet at its start).
func sfWaitCatalog(t testing.TB, p *Platform, products []decide.Product) {
	t.Helper()
	want := fmt.Sprintf("%d products", len(products))
	sfEventually(t, sfSettle, "explore lists "+want, func() (bool, string) {
		res, doc, err := sfFetch(http.DefaultClient, p.Shell+"/products")
		if err != nil {
			return false, err.Error()
		}
		got := strings.TrimSpace(doc.Find(`[data-testid="category-count"]`).Text())
		return res.StatusCode == http.StatusOK && got == want, fmt.Sprintf("%d %q", res.StatusCode, got)
	})
	pr := products[0]
	page := p.Shell + "/product/" + pr.ID + "?sku=" + url.QueryEscape(pr.Variants[0].SKU)
	sfEventually(t, sfSettle, "the shell links every team's stylesheet", func() (bool, string) {
		_, doc, err := sfFetch(http.DefaultClient, page)
		if err != nil {
			return false, err.Error()
		}
		var missing []string
		for _, team := range []string{"explore", "decide", "checkout", "inspire"} {
			if doc.Find(fmt.Sprintf(`head link[rel="stylesheet"][href^="/static/%s/"]`, team)).Length() == 0 {
				missing = append(missing, team)
			}
		}
		return len(missing) == 0, fmt.Sprintf("no stylesheet of %v", missing)
	})
}

// sfStart starts the platform for the storefront tests, the shell re-reading the teams' manifests
// every second (a team still starting when the shell read them first is picked up soon).
func sfStart(t testing.TB) *Platform {
	t.Helper()
	return Start(t, WithEnv("INLAY_MANIFEST_REFRESH=1s"))
}

// sfEventually checks cond every sfPoll until it holds, failing t after timeout with cond's last
// word.
func sfEventually(t testing.TB, timeout time.Duration, what string, cond func() (bool, string)) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	tick := time.NewTicker(sfPoll)
	defer tick.Stop()
	for {
		ok, last := cond()
		if ok {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: not within %s (last: %s)", what, timeout, last)
		}
		<-tick.C
	}
}

// sfFetch GETs u with client and parses the answer.
func sfFetch(client *http.Client, u string) (*http.Response, *goquery.Document, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return nil, nil, err
	}
	res, err := client.Do(req)
	if err != nil {
		return nil, nil, fmt.Errorf("GET %s: %w", u, err)
	}
	defer res.Body.Close()
	body, err := io.ReadAll(res.Body)
	if err != nil {
		return nil, nil, fmt.Errorf("GET %s: read: %w", u, err)
	}
	doc, err := goquery.NewDocumentFromReader(strings.NewReader(string(body)))
	if err != nil {
		return nil, nil, fmt.Errorf("GET %s: parse: %w", u, err)
	}
	return res, doc, nil
}

// sfGet is sfFetch failing t on an error.
func sfGet(t testing.TB, client *http.Client, u string) (*http.Response, *goquery.Document) {
	t.Helper()
	res, doc, err := sfFetch(client, u)
	if err != nil {
		t.Fatal(err)
	}
	return res, doc
}

// sfOpen navigates the tab to u and fails t unless the page answers 200.
func sfOpen(t testing.TB, tab context.Context, u string) {
	t.Helper()
	resp, err := chromedp.Run(tab, chromedp.NavigateResponse(u))
	if err != nil {
		t.Fatalf("open %s: %v", u, err)
	}
	if resp.Status != http.StatusOK {
		t.Fatalf("open %s: status %d, want 200", u, resp.Status)
	}
}

// sfClickNav clicks the first element matching sel and waits until the page it leads to has loaded,
// returning that page's response. On failure the error says what the click's point hit.
func sfClickNav(tab context.Context, sel string) (*network.Response, error) {
	ctx, cancel := context.WithTimeout(tab, sfNavTimeout)
	defer cancel()
	resp, err := chromedp.RunResponse(ctx, chromedp.Click(chromedp.CSS(sel)))
	if err == nil {
		return resp, nil
	}
	diag, derr := chromedp.Run(tab, chromedp.Evaluate[string](fmt.Sprintf(`(() => {
		const e = document.querySelector(%s);
		if (!e) return location.href + ": no element";
		const r = e.getBoundingClientRect();
		const hit = document.elementFromPoint(r.x + r.width / 2, r.y + r.height / 2);
		return location.href + ": element at " + JSON.stringify(r) + ", its centre hits " + (hit ? hit.outerHTML.slice(0, 200) : "nothing");
	})()`, strconv.Quote(sel))))
	if derr != nil {
		diag = derr.Error()
	}
	return nil, fmt.Errorf("click %s: %w (%s)", sel, err, diag)
}

// sfText is the trimmed text of the first element matching sel ("" when none).
func sfText(t testing.TB, tab context.Context, sel string) string {
	t.Helper()
	v, err := chromedp.Run(tab, chromedp.Evaluate[string](fmt.Sprintf(
		`(document.querySelector(%s)?.textContent ?? "").replace(/\s+/g, " ").trim()`, strconv.Quote(sel))))
	if err != nil {
		t.Fatalf("text of %s: %v", sel, err)
	}
	return v
}

// sfAttr is the attribute name of the first element matching sel ("" when none).
func sfAttr(t testing.TB, tab context.Context, sel, name string) string {
	t.Helper()
	v, err := chromedp.Run(tab, chromedp.Evaluate[string](fmt.Sprintf(
		`document.querySelector(%s)?.getAttribute(%s) ?? ""`, strconv.Quote(sel), strconv.Quote(name))))
	if err != nil {
		t.Fatalf("attribute %s of %s: %v", name, sel, err)
	}
	return v
}

// sfCount is the number of elements matching sel.
func sfCount(t testing.TB, tab context.Context, sel string) int {
	t.Helper()
	v, err := chromedp.Run(tab, chromedp.Evaluate[int](fmt.Sprintf(`document.querySelectorAll(%s).length`, strconv.Quote(sel))))
	if err != nil {
		t.Fatalf("count %s: %v", sel, err)
	}
	return v
}

// sfTile is one product tile as shown.
type sfTile struct {
	ID    string `json:"id"`
	Price string `json:"price"`
}

// sfTiles lists the page's product tiles in order.
func sfTiles(t testing.TB, tab context.Context) []sfTile {
	t.Helper()
	v, err := chromedp.Run(tab, chromedp.Evaluate[[]sfTile](`Array.from(document.querySelectorAll('[data-testid="product-tile"]'), e => ({
		id: e.dataset.productId ?? "",
		price: (e.querySelector('[data-testid="product-price"]')?.textContent ?? "").replace(/\s+/g, " ").trim(),
	}))`))
	if err != nil {
		t.Fatalf("tiles: %v", err)
	}
	return v
}

// sfSlots is what a product page's slots show for its variant.
type sfSlots struct {
	Price       string   `json:"price"`       // Add To Cart's price
	Recommended []string `json:"recommended"` // the recommended skus, in order
}

// sfProductSlots reads Add To Cart and Recommendations of the product page in tab, which shows sku.
// A slot answered after its deadline shows its fallback; the page (u, or the tab's current page when
// u is "") is loaded again until both slots are there.
func sfProductSlots(t testing.TB, tab context.Context, u, sku string) sfSlots {
	t.Helper()
	if u == "" {
		loc, err := chromedp.Run(tab, chromedp.Location())
		if err != nil {
			t.Fatal(err)
		}
		u = loc
	}
	var s sfSlots
	read := fmt.Sprintf(`(() => {
		const add = document.querySelector('[data-testid="checkout-add-to-cart"][data-sku=%[1]s]');
		const recs = Array.from(document.querySelectorAll('[data-testid="inspire-recommendation"]'), e => e.dataset.sku);
		return {
			price: (add?.querySelector('[data-testid="add-to-cart-price"]')?.textContent ?? "").trim(),
			recommended: recs,
		};
	})()`, strconv.Quote(sku))
	first := true
	sfEventually(t, sfSettle, "add to cart and recommendations for "+sku, func() (bool, string) {
		if !first {
			if _, err := chromedp.Run(tab, chromedp.NavigateResponse(u)); err != nil {
				return false, err.Error()
			}
		}
		first = false
		v, err := chromedp.Run(tab, chromedp.Evaluate[sfSlots](read))
		if err != nil {
			return false, err.Error()
		}
		s = v
		return s.Price != "" && len(s.Recommended) > 0, fmt.Sprintf("%+v", s)
	})
	return s
}

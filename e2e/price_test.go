//go:build e2e

package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/PuerkitoBio/goquery"

	"github.com/inlay-dev/inlay/services/decide"
)

// decideAdminToken is DECIDE_ADMIN_TOKEN's dev default, which the e2e platform keeps.
const decideAdminToken = "dev-admin-token"

// changePrice sets a variant's price through decide's admin API (POST /v1/admin/variants/{sku}/price),
// the way an operator does: decide commits it with its outbox event.
func changePrice(ctx context.Context, client *http.Client, decideURL, sku string, price int64) error {
	body, err := json.Marshal(map[string]int64{"price": price})
	if err != nil {
		return err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, decideURL+"/v1/admin/variants/"+url.PathEscape(sku)+"/price",
		bytes.NewReader(body))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", "Bearer "+decideAdminToken)
	resp, err := client.Do(req)
	if err != nil {
		return fmt.Errorf("change price of %s: %w", sku, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(io.LimitReader(resp.Body, 4<<10))
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("change price of %s: status %d: %s", sku, resp.StatusCode, bytes.TrimSpace(b))
	}
	return nil
}

// timedPage is a composed page with the whole Server-Timing of its fragments.
type timedPage struct {
	status int
	body   string
	doc    *goquery.Document
	timing string // Server-Timing: the header's, or the trailer's when the page streamed
}

// getTimed GETs a page of the shell asking for the Server-Timing trailer, so a streamed page still
// names every fragment's source.
func getTimed(ctx context.Context, client *http.Client, u string) (timedPage, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return timedPage{}, err
	}
	req.Header.Set("TE", "trailers")
	resp, err := client.Do(req)
	if err != nil {
		return timedPage{}, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return timedPage{}, fmt.Errorf("%s: read: %w", u, err)
	}
	pg := timedPage{status: resp.StatusCode, body: string(b), timing: resp.Header.Get("Server-Timing")}
	if tr := resp.Trailer.Get("Server-Timing"); tr != "" {
		pg.timing = tr
	}
	if pg.doc, err = goquery.NewDocumentFromReader(bytes.NewReader(b)); err != nil {
		return timedPage{}, fmt.Errorf("%s: parse: %w", u, err)
	}
	return pg, nil
}

var timingSource = regexp.MustCompile(`desc="([a-z0-9-]+/[a-z0-9-]+) ([a-z]+)`)

// source is where the page's fragment (team/name) came from ("fetch", "cache", "stale", "fallback",
// "failed"), or "" when the page has none.
func (pg timedPage) source(fragment string) string {
	for _, m := range timingSource.FindAllStringSubmatch(pg.timing, -1) {
		if m[1] == fragment {
			return m[2]
		}
	}
	return ""
}

// addToCartPrice is the price Add To Cart shows on a product page ("5700 Ø").
func (pg timedPage) addToCartPrice() string {
	return strings.TrimSpace(pg.doc.Find(`[data-testid="checkout-add-to-cart"] [data-testid="add-to-cart-price"]`).Text())
}

// recommended lists the skus the page's recommendations show.
func (pg timedPage) recommended() []string {
	var skus []string
	pg.doc.Find(`[data-testid="inspire-recommendation"]`).Each(func(_ int, s *goquery.Selection) {
		skus = append(skus, s.AttrOr("data-sku", ""))
	})
	return skus
}

// tilePrice is what the listing's tile of product id shows ("from 4000 Ø"), or "".
func (pg timedPage) tilePrice(id string) string {
	return strings.Join(strings.Fields(pg.doc.Find(fmt.Sprintf(`[data-testid="product-tile"][data-product-id=%q] [data-testid="product-price"]`, id)).Text()), " ")
}

func productPage(shell string, id, sku string) string {
	return shell + "/product/" + url.PathEscape(id) + "?sku=" + url.QueryEscape(sku)
}

// sfPriceChange: decide's price change of a variant reaches every fragment that shows its product,
// through the shell's cache. Page Q's recommendations (inspire, cached 300 s) show a variant R of
// product P; P's own product fragment (decide, 60 s) is cached too. After R's price changes at
// decide, both are fetched again from their teams — purged by P's tag, long before they would
// expire — and R's page shows the new price in Add To Cart, the listing in its tile. avoid is a sku
// whose recommendations must stay uncached (a later subtest's).
func sfPriceChange(t *testing.T, p *Platform, products []decide.Product, avoid string) {
	ctx := context.Background()
	client := &http.Client{Timeout: 10 * time.Second}
	byID, bySKU := map[string]decide.Product{}, map[string]decide.Variant{}
	owner := map[string]string{}
	for _, pr := range products {
		byID[pr.ID] = pr
		for _, v := range pr.Variants {
			bySKU[v.SKU], owner[v.SKU] = v, pr.ID
		}
	}
	q := products[0]
	qPage := productPage(p.Shell, q.ID, q.Variants[0].SKU)
	// Q's page with its recommendations cached.
	var r string
	sfEventually(t, sfSettle, "product page "+q.ID+" with its recommendations from the shell's cache", func() (bool, string) {
		pg, err := getTimed(ctx, client, qPage)
		if err != nil {
			return false, err.Error()
		}
		r = ""
		for _, sku := range pg.recommended() {
			if owner[sku] != q.ID && sku != avoid {
				r = sku
				break
			}
		}
		return pg.source("inspire/recommendations") == "cache" && r != "", fmt.Sprintf("Server-Timing %q, recommended %v", pg.timing, pg.recommended())
	})
	pid := owner[r]
	rPage := productPage(p.Shell, pid, r)
	sfEventually(t, sfSettle, "product page of "+r+" with its product fragment from the shell's cache", func() (bool, string) {
		pg, err := getTimed(ctx, client, rPage)
		if err != nil {
			return false, err.Error()
		}
		return pg.source("decide/product") == "cache", pg.timing
	})

	old := bySKU[r].Price
	price := old + 1
	// The listing's tile shows the product's lowest price.
	lowest := price
	for _, v := range byID[pid].Variants {
		if v.SKU != r {
			lowest = min(lowest, v.Price)
		}
	}
	changed := time.Now()
	if err := changePrice(ctx, client, p.URL(t, "decide"), r, price); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := changePrice(ctx, client, p.URL(t, "decide"), r, old); err != nil {
			t.Error(err)
		}
	})
	// Each fragment is fetched again once its copy is purged: fresh copies that were cached before
	// the change would be served from the cache for minutes (inspire's for 300 s).
	sfEventually(t, sfSettle, "Q's recommendations, showing "+pid+", fetched again after its price change", func() (bool, string) {
		pg, err := getTimed(ctx, client, qPage)
		if err != nil {
			return false, err.Error()
		}
		src := pg.source("inspire/recommendations")
		return src == "fetch", "source " + src
	})
	refetched := false // once: the next page has it from the cache again
	sfEventually(t, sfSettle, pid+"'s product fragment fetched again and its page showing the new price", func() (bool, string) {
		pg, err := getTimed(ctx, client, rPage)
		if err != nil {
			return false, err.Error()
		}
		src, got := pg.source("decide/product"), pg.addToCartPrice()
		refetched = refetched || src == "fetch"
		return refetched && got == fmt.Sprintf("%d Ø", price), fmt.Sprintf("source %s, Add To Cart %q", src, got)
	})
	sfEventually(t, sfSettle, "the listing showing "+pid+"'s lowest price", func() (bool, string) {
		pg, err := getTimed(ctx, client, p.Shell+"/products")
		if err != nil {
			return false, err.Error()
		}
		got := pg.tilePrice(pid)
		return got == fmt.Sprintf("from %d Ø", lowest), fmt.Sprintf("tile %q", got)
	})
	t.Logf("the price change of %s reached its product page, the listing and Q's recommendations in %s", r,
		time.Since(changed).Round(time.Millisecond))
}

// sfStockChange: Add To Cart is one shared copy per variant in the shell's cache, filled with each
// visitor's own CSRF token; a stock change at inventory reaches checkout's copies, and checkout's purge
// by the variant's tag has the shell fetch it again long before the copy would expire (60 s).
func sfStockChange(t *testing.T, p *Platform, pr decide.Product) {
	ctx := context.Background()
	sku := pr.Variants[0].SKU
	page := productPage(p.Shell, pr.ID, sku)
	// Two visitors (no cookies): the second page's Add To Cart comes from the cache, and each form
	// carries its own visitor's token, the one its CSRF cookie holds.
	var tokens []string
	sfEventually(t, sfSettle, "Add To Cart of "+sku+" from the shell's cache", func() (bool, string) {
		tokens = tokens[:0]
		var src string
		for range 2 {
			jar, err := cookiejar.New(nil)
			if err != nil {
				t.Fatal(err)
			}
			pg, err := getTimed(ctx, &http.Client{Timeout: 10 * time.Second, Jar: jar}, page)
			if err != nil {
				return false, err.Error()
			}
			u, _ := url.Parse(p.Shell)
			cookie := ""
			for _, c := range jar.Cookies(u) {
				if c.Name == "inlay_csrf" {
					cookie = c.Value
				}
			}
			tok := pg.doc.Find(`[data-testid="checkout-add-to-cart"] input[name="csrf"]`).AttrOr("value", "")
			if tok == "" { // not offered yet (checkout's copy of it is on its way), or a fallback
				return false, "no Add To Cart form, source " + pg.source("checkout/add-to-cart")
			}
			if tok != cookie {
				t.Fatalf("Add To Cart's token %q, the visitor's CSRF cookie %q", tok, cookie)
			}
			tokens, src = append(tokens, tok), pg.source("checkout/add-to-cart")
		}
		return src == "cache", "source " + src
	})
	if tokens[0] == tokens[1] {
		t.Errorf("two visitors' forms carry the same token %q", tokens[0])
	}

	client := &http.Client{Timeout: 10 * time.Second}
	old := sfStock(t, client, p, sku)
	n := old + 7
	sfSetStock(t, client, p, sku, n)
	t.Cleanup(func() { sfSetStock(t, client, p, sku, old) })
	want := fmt.Sprintf("%d in stock, free shipping", n)
	refetched := false
	sfEventually(t, sfSettle, "Add To Cart of "+sku+" fetched again after its stock change, showing "+want, func() (bool, string) {
		pg, err := getTimed(ctx, client, page)
		if err != nil {
			return false, err.Error()
		}
		src := pg.source("checkout/add-to-cart")
		got := strings.TrimSpace(pg.doc.Find(`[data-testid="add-to-cart-stock"]`).Text())
		refetched = refetched || src == "fetch"
		return refetched && got == want, fmt.Sprintf("source %s, stock %q", src, got)
	})
}

// sfStock is inventory's stock of sku (its admin API).
func sfStock(t *testing.T, client *http.Client, p *Platform, sku string) int {
	t.Helper()
	res, err := client.Get(p.URL(t, "inventory") + "/v1/stock/" + url.PathEscape(sku))
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	var v struct {
		Quantity int `json:"quantity"`
	}
	if res.StatusCode != http.StatusOK || json.NewDecoder(res.Body).Decode(&v) != nil {
		t.Fatalf("stock of %s: %d", sku, res.StatusCode)
	}
	return v.Quantity
}

// sfSetStock gives sku n units (inventory's admin API).
func sfSetStock(t *testing.T, client *http.Client, p *Platform, sku string, n int) {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, p.URL(t, "inventory")+"/v1/admin/stock/"+url.PathEscape(sku),
		strings.NewReader(fmt.Sprintf(`{"quantity": %d}`, n)))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", "Bearer dev-admin-token") // INVENTORY_ADMIN_TOKEN's dev default
	res, err := client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != http.StatusOK {
		t.Fatalf("set the stock of %s: %d", sku, res.StatusCode)
	}
}

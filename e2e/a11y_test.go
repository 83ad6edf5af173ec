//go:build e2e

package e2e

import (
	"net/http"
	"net/url"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	decideseed "github.com/inlay-dev/inlay/services/decide/seed"
)

// TestAccessibility runs axe-core over every page of the storefront that needs no cart, in Chromium
// with JavaScript on and off: no serious or critical violation, exactly one <h1>, no id used twice
// in the composed page. The pages of a full cart, the checkout form and an order are checked along
// TestBuy's journeys, which fill them.
func TestAccessibility(t *testing.T) {
	t.Parallel()
	p := sfStart(t)
	products, err := decideseed.Products()
	if err != nil {
		t.Fatal(err)
	}
	sfWaitCatalog(t, p, products)
	pr := products[0]

	pages := []struct {
		name, path string
		status     int64
	}{
		{"home", "/", http.StatusOK},
		{"all machines", "/products", http.StatusOK},
		{"category", "/products/classic", http.StatusOK},
		{"other category", "/products/autonomous", http.StatusOK},
		{"stores", "/stores", http.StatusOK},
		{"product", "/product/" + pr.ID + "?sku=" + url.QueryEscape(pr.Variants[0].SKU), http.StatusOK},
		{"search", "/search", http.StatusOK},
		{"search results", "/search?q=tracter", http.StatusOK},
		{"search without results", "/search?q=zzzzqqqq", http.StatusOK},
		{"empty cart", "/checkout/cart", http.StatusOK},
		{"checkout with an empty cart", "/checkout/checkout", http.StatusOK},
		{"sign in", "/account/login", http.StatusOK},
		{"register", "/account/register", http.StatusOK},
		{"unknown order", "/checkout/thanks?order=nope", http.StatusNotFound},
		{"not found", "/no/such/page", http.StatusNotFound},
		{"unknown product", "/product/NOPE?sku=NOPE-1", http.StatusNotFound},
	}
	for _, js := range []bool{true, false} {
		name := "WithJavaScript"
		if !js {
			name = "WithoutJavaScript"
		}
		t.Run(name, func(t *testing.T) {
			tab := Browser(t)
			if !js {
				tab = DisableJavaScript(t, tab)
			}
			for _, pg := range pages {
				resp, err := chromedp.Run(tab, chromedp.NavigateResponse(p.Shell+pg.path))
				if err != nil {
					t.Fatalf("%s: open %s: %v", pg.name, pg.path, err)
				}
				if resp.Status != pg.status {
					t.Errorf("%s: GET %s = %d, want %d", pg.name, pg.path, resp.Status, pg.status)
				}
				if js && pg.name == "home" {
					// The skip link moves the focus into <main> (tabindex="-1"): the next Tab starts there.
					if err := chromedp.Do(tab, chromedp.Focus(chromedp.CSS(`[data-testid="skip-link"]`)), chromedp.KeyEvent("\r")); err != nil {
						t.Fatalf("skip link: %v", err)
					}
					if _, err := chromedp.Run(tab, chromedp.Poll[bool](`document.activeElement && document.activeElement.id === "main"`,
						chromedp.WithPollingTimeout(10*time.Second))); err != nil {
						focused, _ := chromedp.Run(tab, chromedp.Evaluate[string](`document.activeElement ? document.activeElement.tagName + "#" + document.activeElement.id : ""`))
						t.Errorf("after the skip link the focus is on %q, want main: %v", focused, err)
					}
				}
				r := CheckAccessibility(t, tab, pg.name)
				if pg.name == "checkout with an empty cart" && r.Scripts != js {
					t.Errorf("the page's scripts ran: %v, want %v", r.Scripts, js)
				}
			}
		})
	}
}

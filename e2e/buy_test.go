//go:build e2e

package e2e

import (
	"cmp"
	"context"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/inlay-dev/inlay/services/checkout"
	"github.com/inlay-dev/inlay/services/checkout/ui/thanks"
	"github.com/inlay-dev/inlay/services/decide"
	decideseed "github.com/inlay-dev/inlay/services/decide/seed"
	exploreseed "github.com/inlay-dev/inlay/services/explore/seed"
	"github.com/inlay-dev/inlay/services/inventory"
	inventoryseed "github.com/inlay-dev/inlay/services/inventory/seed"
	"github.com/inlay-dev/inlay/services/payments"
)

// Test cards (docs/storefront.md).
const (
	sfCardOK       = "4242424242424242"
	sfCardDeclined = "4000000000000002"
)

// sfBuyItem is a variant the buy tests order, with its product and seeded stock.
type sfBuyItem struct {
	Product decide.Product
	Variant decide.Variant
	Stock   int
}

// URL is the item's product page path.
func (it sfBuyItem) URL() string {
	return "/product/" + it.Product.ID + "?sku=" + url.QueryEscape(it.Variant.SKU)
}

// TestBuy orders tractors through the storefront (docs/storefront.md, issue 6) on one platform: with
// JavaScript in Chromium (Add To Cart twice, Mini Cart, cart, checkout with the Store Picker, place
// order, live status until confirmed; a declined card until cancelled) and in Chromium with JavaScript
// off (browse by links, add, remove, choose a store by a form post, a refused card, place order, the
// thank-you page reloaded until confirmed). axe-core checks each page of a full cart, the checkout
// form and an order on the way (CheckAccessibility).
func TestBuy(t *testing.T) {
	t.Parallel()
	p := sfStart(t)
	items := sfBuyItems(t)
	seed, err := exploreseed.Load()
	if err != nil {
		t.Fatal(err)
	}
	store := seed.Stores[len(seed.Stores)-1]
	products, err := decideseed.Products()
	if err != nil {
		t.Fatal(err)
	}
	sfWaitCatalog(t, p, products)

	t.Run("WithJavaScript", func(t *testing.T) {
		it := items[0]
		tab := Browser(t)
		sfWaitAddToCart(t, tab, p.Shell+it.URL(), it)

		// Add twice: the confirmation shows and the Mini Cart follows the count.
		for n := 1; n <= 2; n++ {
			if err := chromedp.Do(tab, chromedp.Click(chromedp.CSS(`[data-testid="add-to-cart-button"]`))); err != nil {
				t.Fatalf("add %s (%d): %v", it.Variant.SKU, n, err)
			}
			sfWaitJS(t, tab, fmt.Sprintf("mini cart shows %d", n), fmt.Sprintf(
				`document.querySelector('[data-testid="mini-cart-count"]')?.textContent.trim() === %q`, strconv.Itoa(n)))
		}
		sfWaitJS(t, tab, "Tractor was added.",
			`(() => { const e = document.querySelector('[data-testid="add-to-cart-added"]'); return !!e && !e.hidden && e.textContent.includes("Tractor was added."); })()`)

		// The cart lists the line with quantity 2.
		resp, err := sfClickNav(tab, `[data-testid="add-to-cart-view-basket"]`)
		if err != nil || resp.Status != http.StatusOK {
			t.Fatalf("view in basket: %v (%+v)", err, resp)
		}
		line := fmt.Sprintf(`[data-testid="cart-line"][data-sku=%q]`, it.Variant.SKU)
		if got := sfAttr(t, tab, line+` [data-testid="cart-line-quantity"]`, "value"); got != "2" {
			t.Fatalf("cart line %s quantity %q, want 2", it.Variant.SKU, got)
		}
		if got, want := sfText(t, tab, `[data-testid="cart-total-price"]`), fmt.Sprintf("%d Ø", 2*it.Variant.Price); got != want {
			t.Errorf("cart total %q, want %q", got, want)
		}
		CheckAccessibility(t, tab, "cart")

		// Checkout.
		resp, err = sfClickNav(tab, `[data-testid="cart-checkout"]`)
		if err != nil || resp.Status != http.StatusOK {
			t.Fatalf("checkout: %v (%+v)", err, resp)
		}
		if n := sfCount(t, tab, `[data-testid="checkout-compact-header"]`); n != 1 {
			t.Errorf("checkout page: %d compact headers, want 1", n)
		}
		if n := sfCount(t, tab, `[data-testid="explore-header"]`); n != 0 {
			t.Errorf("checkout page shows explore's header")
		}
		CheckAccessibility(t, tab, "checkout")
		orderID := sfPlaceOrderJS(t, tab, sfCardOK, store.ID, store.Name)

		sfWaitStatus(t, tab, "confirmed")
		if got := sfText(t, tab, `[data-testid="thanks-status-text"]`); got != "confirmed" {
			t.Errorf("status text %q, want confirmed", got)
		}
		CheckAccessibility(t, tab, "thanks")
		sfOpen(t, tab, p.Shell+"/checkout/orders/"+url.PathEscape(orderID))
		CheckAccessibility(t, tab, "order")
		// The Mini Cart is empty after the order: on the thank-you page and on the next page.
		if got := sfMiniCartQuantity(t, tab, p.Shell+"/checkout/thanks?order="+url.QueryEscape(orderID)); got != "0" {
			t.Errorf("mini cart on the thank-you page: quantity %q, want 0", got)
		}
		if got := sfMiniCartQuantity(t, tab, p.Shell+"/"); got != "0" {
			t.Errorf("mini cart after the order: quantity %q, want 0", got)
		}
		sfOpen(t, tab, p.Shell+"/checkout/cart")
		if n := sfCount(t, tab, `[data-testid="cart-empty"]`); n != 1 {
			t.Errorf("cart after order %s is not empty", orderID)
		}
	})

	// Two tabs of one browser: what one adds, the other's Mini Cart shows without a reload.
	t.Run("MiniCartFollowsOtherTabs", func(t *testing.T) {
		it := items[0]
		tabA := Browser(t)
		sfOpen(t, tabA, p.Shell+"/")
		tabB, cancel := chromedp.NewContext(tabA)
		defer cancel()
		sfWaitAddToCart(t, tabB, p.Shell+it.URL(), it)
		if err := chromedp.Do(tabB, chromedp.Click(chromedp.CSS(`[data-testid="add-to-cart-button"]`))); err != nil {
			t.Fatalf("add %s: %v", it.Variant.SKU, err)
		}
		sfWaitJS(t, tabB, "this tab's mini cart shows 1", `document.querySelector('[data-testid="mini-cart-count"]')?.textContent.trim() === "1"`)
		sfWaitJS(t, tabA, "the other tab's mini cart shows 1", `document.querySelector('[data-testid="mini-cart-count"]')?.textContent.trim() === "1"`)
		// A line removed on the cart page (a form post, no script involved): the other tab follows too.
		sfOpen(t, tabB, p.Shell+"/checkout/cart")
		line := fmt.Sprintf(`[data-testid="cart-line"][data-sku=%q]`, it.Variant.SKU)
		if resp, err := sfClickNav(tabB, line+` [data-testid="cart-line-remove"]`); err != nil || resp.Status != http.StatusOK {
			t.Fatalf("remove %s: %+v (%v)", it.Variant.SKU, resp, err)
		}
		sfWaitJS(t, tabA, "the other tab's mini cart empty", `document.querySelector('[data-testid="mini-cart"]')?.dataset.quantity === "0"`)
	})

	t.Run("DeclinedCard", func(t *testing.T) {
		it := items[1]
		tab := Browser(t)
		sfWaitAddToCart(t, tab, p.Shell+it.URL(), it)
		if err := chromedp.Do(tab, chromedp.Click(chromedp.CSS(`[data-testid="add-to-cart-button"]`))); err != nil {
			t.Fatalf("add %s: %v", it.Variant.SKU, err)
		}
		sfWaitJS(t, tab, "mini cart shows 1", `document.querySelector('[data-testid="mini-cart-count"]')?.textContent.trim() === "1"`)
		sfOpen(t, tab, p.Shell+"/checkout/checkout")
		sfPlaceOrderJS(t, tab, sfCardDeclined, store.ID, store.Name)

		sfWaitStatus(t, tab, "cancelled")
		if got := sfText(t, tab, `[data-testid="checkout-thanks"] h1`); got != thanks.CancelledHeading {
			t.Errorf("a cancelled order's heading %q, want %q", got, thanks.CancelledHeading)
		}
		if sfCount(t, tab, `[data-testid="thanks-confetti"]`) != 0 || !strings.Contains(sfText(t, tab, `[data-testid="thanks-cancelled-note"]`), "nothing was charged") {
			t.Errorf("a cancelled order: confetti %d, note %q", sfCount(t, tab, `[data-testid="thanks-confetti"]`),
				sfText(t, tab, `[data-testid="thanks-cancelled-note"]`))
		}
		if got := sfText(t, tab, `[data-testid="thanks-status-reason"]`); !strings.Contains(got, payments.ReasonCardDeclined) {
			t.Errorf("cancelled order's reason %q, want %q", got, payments.ReasonCardDeclined)
		}
		if hidden := sfAttr(t, tab, `[data-testid="thanks-status-reason"]`, "hidden"); hidden != "" {
			t.Errorf("reason hidden (%q)", hidden)
		}
	})

	t.Run("WithoutJavaScript", func(t *testing.T) {
		it, other := items[2], items[0]
		tab := Browser(t)
		tab = DisableJavaScript(t, tab)
		sfWaitAddToCart(t, tab, p.Shell+other.URL(), other)
		sfWaitAddToCart(t, tab, p.Shell+it.URL(), it)

		// Browse: home, the item's category, its product, its variant; every step a plain link.
		sfOpen(t, tab, p.Shell+"/")
		if got := sfAttr(t, tab, `[data-testid="mini-cart"]`, "href"); got != "/checkout/cart" {
			t.Errorf("the empty Mini Cart links to %q, want /checkout/cart", got)
		}
		for _, step := range []struct{ what, sel, want string }{
			{"teaser", fmt.Sprintf(`a[data-testid="teaser"][href="/products/%s"]`, it.Product.Category), "/products/" + it.Product.Category},
			{"tile", fmt.Sprintf(`[data-testid="product-tile"][data-product-id=%q] a`, it.Product.ID), "/product/" + it.Product.ID},
			{"variant", fmt.Sprintf(`[data-testid="decide-variant"][data-sku=%q] a[data-testid="decide-variant-link"], [data-testid="decide-variant"][data-sku=%q] [data-testid="decide-variant-selected"]`, it.Variant.SKU, it.Variant.SKU), "sku=" + url.QueryEscape(it.Variant.SKU)},
		} {
			if step.what == "variant" && sfCount(t, tab, fmt.Sprintf(`[data-testid="decide-variant"][data-sku=%q] a[data-testid="decide-variant-link"]`, it.Variant.SKU)) == 0 {
				continue // the product page shows this variant already
			}
			resp, err := sfClickNav(tab, step.sel)
			if err != nil || resp.Status != http.StatusOK || !strings.Contains(resp.URL, step.want) {
				t.Fatalf("browse: the %s led to %+v (%v), want %s", step.what, resp, err, step.want)
			}
		}
		if got := sfAttr(t, tab, `[data-testid="checkout-add-to-cart"]`, "data-sku"); got != it.Variant.SKU {
			t.Fatalf("browsing ended on Add To Cart for %q, want %s", got, it.Variant.SKU)
		}
		// The tab says which tractor it shows (decide's Inlay-Title, the shell's store form).
		title, err := chromedp.Run(tab, chromedp.Title())
		if err != nil {
			t.Fatal(err)
		}
		if want := it.Product.Name + " (" + it.Variant.Name + ") · The Tractor Store"; title != want {
			t.Errorf("product page title %q, want %q", title, want)
		}

		// Add twice and another tractor once: each a form post answered by the cart page.
		add := func(item sfBuyItem, n int) {
			t.Helper()
			if n > 1 || item.Variant.SKU != it.Variant.SKU {
				sfOpen(t, tab, p.Shell+item.URL())
			}
			resp, err := sfClickNav(tab, `[data-testid="add-to-cart-button"]`)
			if err != nil || resp.Status != http.StatusOK || !strings.HasSuffix(resp.URL, "/checkout/cart") {
				t.Fatalf("add %s (%d): %+v (%v), want the cart page", item.Variant.SKU, n, resp, err)
			}
		}
		add(it, 1)
		add(it, 2)
		add(other, 1)
		line := func(sku string) string { return fmt.Sprintf(`[data-testid="cart-line"][data-sku=%q]`, sku) }
		if got := sfAttr(t, tab, line(it.Variant.SKU)+` [data-testid="cart-line-quantity"]`, "value"); got != "2" {
			t.Fatalf("cart line %s quantity %q, want 2", it.Variant.SKU, got)
		}
		if got := sfText(t, tab, `[data-testid="mini-cart-count"]`); got != "3" {
			t.Errorf("mini cart %q, want 3", got)
		}
		CheckAccessibility(t, tab, "cart")

		// Remove the other tractor.
		resp, err := sfClickNav(tab, line(other.Variant.SKU)+` [data-testid="cart-line-remove"]`)
		if err != nil || resp.Status != http.StatusOK || !strings.HasSuffix(resp.URL, "/checkout/cart") {
			t.Fatalf("remove %s: %+v (%v)", other.Variant.SKU, resp, err)
		}
		if n := sfCount(t, tab, line(other.Variant.SKU)); n != 0 {
			t.Errorf("%s is still in the cart after remove", other.Variant.SKU)
		}
		if n := sfCount(t, tab, line(it.Variant.SKU)); n != 1 {
			t.Fatalf("%s left the cart with the other", it.Variant.SKU)
		}

		// Checkout: the names and e-mail, then a store chosen in the picker, a post that comes back
		// to the checkout page with the store and the typed fields.
		resp, err = sfClickNav(tab, `[data-testid="cart-checkout"]`)
		if err != nil || resp.Status != http.StatusOK {
			t.Fatalf("checkout: %+v (%v)", resp, err)
		}
		CheckAccessibility(t, tab, "checkout")
		if err := chromedp.Do(tab,
			chromedp.SendKeys(chromedp.CSS(`[data-testid="checkout-first_name"]`), "Ada"),
			chromedp.SendKeys(chromedp.CSS(`[data-testid="checkout-last_name"]`), "Lovelace"),
			chromedp.SendKeys(chromedp.CSS(`[data-testid="checkout-email"]`), "ada@example.com"),
			chromedp.Click(chromedp.CSS(`[data-testid="store-picker-open"]`)),
			chromedp.WaitVisible(chromedp.CSS(`[data-testid="store-picker-dialog"]`)),
		); err != nil {
			t.Fatalf("fill the form and open the store picker: %v", err)
		}
		resp, err = sfClickNav(tab, fmt.Sprintf(`[data-testid="store-picker-store"][data-store-id=%q] [data-testid="store-picker-select"]`, store.ID))
		if err != nil || resp.Status != http.StatusOK || !strings.HasSuffix(resp.URL, "/checkout/checkout") {
			t.Fatalf("select store %s: %+v (%v), want the checkout page", store.ID, resp, err)
		}
		if strings.Contains(resp.URL, "card") || strings.Contains(resp.URL, "Ada") {
			t.Errorf("the form landed in the URL: %s", resp.URL)
		}
		for field, want := range map[string]string{"store": store.ID, "first_name": "Ada", "last_name": "Lovelace", "email": "ada@example.com"} {
			if got := sfAttr(t, tab, `[data-testid="checkout-`+field+`"]`, "value"); got != want {
				t.Errorf("after choosing a store, %s = %q, want %q", field, got, want)
			}
		}
		if got := sfText(t, tab, `[data-testid="store-picker-chosen"]`); !strings.Contains(got, store.Name) {
			t.Errorf("store picker shows %q, want %q", got, store.Name)
		}

		// A card number that fails the Luhn check: the form comes back with the error.
		if err := chromedp.Do(tab, chromedp.SendKeys(chromedp.CSS(`[data-testid="checkout-card"]`), "4242 4242 4242 4241")); err != nil {
			t.Fatal(err)
		}
		resp, err = sfClickNav(tab, `[data-testid="checkout-place-order"]`)
		if err != nil || !strings.HasSuffix(resp.URL, "/checkout/checkout") {
			t.Fatalf("place order with a bad card: %+v (%v)", resp, err)
		}
		if got := sfText(t, tab, `[data-testid="checkout-card-error"]`); got != "Card number is not valid." {
			t.Errorf("card error %q", got)
		}
		CheckAccessibility(t, tab, "checkout with errors")

		// The price changes at decide while the page is open: the order is not placed at a total the
		// page did not show. The page comes back with why and the new total, and the next post orders.
		price := it.Variant.Price + 100
		ctx := context.Background()
		if err := changePrice(ctx, http.DefaultClient, p.URL(t, "decide"), it.Variant.SKU, price); err != nil {
			t.Fatal(err)
		}
		sfEventually(t, sfSettle, "checkout's copy of "+it.Variant.SKU+" at the new price", func() (bool, string) {
			conn := p.teamDB(t, "checkout")
			defer conn.Close(ctx)
			var got int64
			if err := conn.QueryRow(ctx, "SELECT price FROM variants WHERE sku = $1", it.Variant.SKU).Scan(&got); err != nil {
				return false, err.Error()
			}
			return got == price, fmt.Sprintf("price %d", got)
		})
		if err := chromedp.Do(tab, chromedp.SendKeys(chromedp.CSS(`[data-testid="checkout-card"]`), "4242 4242 4242 4242")); err != nil {
			t.Fatal(err)
		}
		resp, err = sfClickNav(tab, `[data-testid="checkout-place-order"]`)
		if err != nil || !strings.HasSuffix(resp.URL, "/checkout/checkout") {
			t.Fatalf("place order after a price change: %+v (%v), want the checkout page again", resp, err)
		}
		if got := sfText(t, tab, `[data-testid="checkout-error"]`); got != checkout.PriceChangedMessage {
			t.Errorf("after a price change, error %q, want %q", got, checkout.PriceChangedMessage)
		}
		if got, want := sfText(t, tab, `[data-testid="checkout-total"]`), fmt.Sprintf("%d Ø", 2*price); got != want {
			t.Errorf("after a price change, total %q, want %q", got, want)
		}

		// The right card: the order, the thank-you page, its status by reloading.
		if err := chromedp.Do(tab, chromedp.SendKeys(chromedp.CSS(`[data-testid="checkout-card"]`), "4242 4242 4242 4242")); err != nil {
			t.Fatal(err)
		}
		resp, err = sfClickNav(tab, `[data-testid="checkout-place-order"]`)
		if err != nil || resp.Status != http.StatusOK || !strings.Contains(resp.URL, "/checkout/thanks?order=") {
			t.Fatalf("place order: %+v (%v), want the thank-you page", resp, err)
		}
		thanks := resp.URL
		if got := sfText(t, tab, `[data-testid="checkout-thanks"] h1`); got != "Thanks for your order!" {
			t.Errorf("thank-you heading %q", got)
		}
		CheckAccessibility(t, tab, "thanks")
		var status string
		sfEventually(t, sfOrderFinal, "order confirmed", func() (bool, string) {
			if _, err := chromedp.Run(tab, chromedp.NavigateResponse(thanks)); err != nil {
				return false, err.Error()
			}
			status = sfAttr(t, tab, `[data-testid="thanks-status"]`, "data-status")
			return status == "confirmed" || status == "cancelled", status
		})
		if status != "confirmed" {
			t.Fatalf("order %s is %s, want confirmed", thanks, status)
		}
		id := sfText(t, tab, `[data-testid="thanks-order-id"]`)
		sfOpen(t, tab, p.Shell+"/checkout/orders/"+url.PathEscape(id))
		if got := sfAttr(t, tab, `[data-testid="thanks-status"]`, "data-status"); got != "confirmed" {
			t.Errorf("order page status %q", got)
		}
		CheckAccessibility(t, tab, "order")
		sfOpen(t, tab, p.Shell+"/")
		if got := sfAttr(t, tab, `[data-testid="mini-cart"]`, "data-quantity"); got != "0" {
			t.Errorf("mini cart after the order: quantity %q, want 0", got)
		}
		if ran, err := chromedp.Run(tab, chromedp.Evaluate[bool](`!!document.documentElement.dataset.checkoutScript`)); err != nil || ran {
			t.Errorf("checkout's script ran (%v): JavaScript was not off", err)
		}
	})
}

// sfBuyItems picks the variants to order: those with the most stock in inventory's seed (so the
// orders never run out), one per test.
func sfBuyItems(t testing.TB) []sfBuyItem {
	t.Helper()
	products, err := decideseed.Products()
	if err != nil {
		t.Fatal(err)
	}
	stock, err := inventoryseed.Stock()
	if err != nil {
		t.Fatal(err)
	}
	var items []sfBuyItem
	for _, pr := range products {
		for _, v := range pr.Variants {
			i := slices.IndexFunc(stock, func(s inventory.Stock) bool { return s.SKU == v.SKU })
			if i >= 0 {
				items = append(items, sfBuyItem{Product: pr, Variant: v, Stock: stock[i].Quantity})
			}
		}
	}
	slices.SortStableFunc(items, func(a, b sfBuyItem) int {
		return cmp.Or(cmp.Compare(b.Stock, a.Stock), cmp.Compare(a.Variant.SKU, b.Variant.SKU))
	})
	if len(items) < 3 || items[2].Stock < 2 {
		t.Fatalf("inventory's seed has too little stock for the buy tests: %+v", items)
	}
	return items[:3]
}

// sfWaitAddToCart opens the product page u until Add To Cart offers the item in stock: checkout has
// its copy of the variant and its stock from the events.
func sfWaitAddToCart(t testing.TB, tab context.Context, u string, it sfBuyItem) {
	t.Helper()
	ready := fmt.Sprintf(`(() => {
		const add = document.querySelector('[data-testid="checkout-add-to-cart"][data-sku=%q]');
		const button = add?.querySelector('[data-testid="add-to-cart-button"]');
		return !!button && !button.disabled && /^\d+ in stock, free shipping$/.test(add.querySelector('[data-testid="add-to-cart-stock"]')?.textContent.trim() ?? "");
	})()`, it.Variant.SKU)
	sfEventually(t, sfSettle, "add to cart for "+it.Variant.SKU, func() (bool, string) {
		if _, err := chromedp.Run(tab, chromedp.NavigateResponse(u)); err != nil {
			return false, err.Error()
		}
		ok, err := chromedp.Run(tab, chromedp.Evaluate[bool](ready))
		if err != nil {
			return false, err.Error()
		}
		return ok, sfText(t, tab, `[data-testid="checkout-add-to-cart"], [data-testid="add-to-cart-unavailable"]`)
	})
	if got, want := sfText(t, tab, `[data-testid="add-to-cart-price"]`), fmt.Sprintf("%d Ø", it.Variant.Price); got != want {
		t.Errorf("add to cart price %q, want %q", got, want)
	}
}

// sfWaitJS waits until the JavaScript expression is true in tab's page.
func sfWaitJS(t testing.TB, tab context.Context, what, expr string) {
	t.Helper()
	if _, err := chromedp.Run(tab, chromedp.Poll[bool](expr,
		chromedp.WithPollingInterval(50*time.Millisecond), chromedp.WithPollingTimeout(sfSettle))); err != nil {
		t.Fatalf("wait for %s: %v", what, err)
	}
}

// sfPlaceOrderJS fills the checkout form in tab (on the checkout page) with card, chooses the store in
// the Store Picker, places the order and returns its id from the thank-you page.
func sfPlaceOrderJS(t testing.TB, tab context.Context, card, storeID, storeName string) string {
	t.Helper()
	place := `[data-testid="checkout-place-order"]`
	if err := chromedp.Do(tab, chromedp.WaitReady(chromedp.CSS(`form[data-checkout-form]`))); err != nil {
		t.Fatal(err)
	}
	sfWaitJS(t, tab, "place order disabled on an empty form", `document.querySelector('`+place+`')?.disabled === true`)
	if err := chromedp.Do(tab,
		chromedp.SendKeys(chromedp.CSS(`[data-testid="checkout-first_name"]`), "Ada"),
		chromedp.SendKeys(chromedp.CSS(`[data-testid="checkout-last_name"]`), "Lovelace"),
		chromedp.SendKeys(chromedp.CSS(`[data-testid="checkout-email"]`), "ada@example.com"),
		chromedp.SendKeys(chromedp.CSS(`[data-testid="checkout-card"]`), card),
	); err != nil {
		t.Fatalf("fill the checkout form: %v", err)
	}
	// Everything but the store: still disabled, and the line beside the button says why.
	if disabled, err := chromedp.Run(tab, chromedp.Evaluate[bool](`document.querySelector('`+place+`').disabled`)); err != nil || !disabled {
		t.Errorf("place order enabled without a store (err %v)", err)
	}
	sfWaitJS(t, tab, "the missing store named beside place order",
		`document.querySelector('[data-testid="checkout-missing"]')?.textContent === 'To place the order, complete: a store.'`)
	sel := fmt.Sprintf(`[data-testid="store-picker-store"][data-store-id=%q] [data-testid="store-picker-select"]`, storeID)
	if err := chromedp.Do(tab,
		chromedp.Click(chromedp.CSS(`[data-testid="store-picker-open"]`)),
		chromedp.WaitVisible(chromedp.CSS(`[data-testid="store-picker-dialog"]`)),
		chromedp.Click(chromedp.CSS(sel)),
		chromedp.WaitNotVisible(chromedp.CSS(`[data-testid="store-picker-dialog"]`)),
	); err != nil {
		t.Fatalf("choose store %s: %v", storeID, err)
	}
	sfWaitJS(t, tab, "store id filled", fmt.Sprintf(`document.querySelector('[data-testid="checkout-store"]')?.value === %q`, storeID))
	if got := sfText(t, tab, `[data-testid="store-picker-chosen"]`); !strings.Contains(got, storeName) {
		t.Errorf("store picker shows %q, want %q", got, storeName)
	}
	sfWaitJS(t, tab, "place order enabled", `document.querySelector('`+place+`')?.disabled === false`)
	sfWaitJS(t, tab, "nothing named missing", `document.querySelector('[data-testid="checkout-missing"]')?.textContent === ''`)

	resp, err := sfClickNav(tab, place)
	if err != nil {
		t.Fatalf("place order: %v", err)
	}
	if resp.Status != http.StatusOK || !strings.Contains(resp.URL, "/checkout/thanks?order=") {
		t.Fatalf("place order led to %s (%d)", resp.URL, resp.Status)
	}
	// The heading says thanks unless the order is already cancelled (a declined card, its saga fast).
	if got := sfText(t, tab, `[data-testid="checkout-thanks"] h1`); got != "Thanks for your order!" &&
		(got != thanks.CancelledHeading || sfAttr(t, tab, `[data-testid="thanks-status"]`, "data-status") != "cancelled") {
		t.Errorf("thank-you heading %q", got)
	}
	// Confetti unless the order is already cancelled (a declined card: the page, or its script, drops
	// it). Counted before the status is read: the script sets the status before it removes confetti.
	if n := sfCount(t, tab, `[data-testid="thanks-confetti"]`); n != 1 {
		if status := sfAttr(t, tab, `[data-testid="thanks-status"]`, "data-status"); status != "cancelled" {
			t.Errorf("no confetti for a %s order", status)
		}
	}
	id := sfText(t, tab, `[data-testid="thanks-order-id"]`)
	if id == "" {
		t.Fatal("thank-you page names no order")
	}
	return id
}

// sfWaitStatus waits until the thank-you page in tab shows a final status (its script polls), and
// fails t unless it is want.
func sfWaitStatus(t testing.TB, tab context.Context, want string) {
	t.Helper()
	got, err := chromedp.Run(tab, chromedp.Poll[string](
		`(() => { const s = document.querySelector('[data-testid="thanks-status"]')?.dataset.status; return s === "confirmed" || s === "cancelled" ? s : ""; })()`,
		chromedp.WithPollingInterval(100*time.Millisecond), chromedp.WithPollingTimeout(sfOrderFinal)))
	if err != nil {
		t.Fatalf("wait for the order's final status: %v (shows %q)", err, sfAttr(t, tab, `[data-testid="thanks-status"]`, "data-status"))
	}
	if got != want {
		t.Fatalf("order became %s (%s), want %s", got, sfText(t, tab, `[data-testid="thanks-status"]`), want)
	}
}

// sfMiniCartQuantity opens u and returns the Mini Cart's quantity, opening it again (up to five
// times) while the page carries the Mini Cart's fallback, which knows no quantity: checkout did not
// answer within its 200 ms on a busy machine.
func sfMiniCartQuantity(t testing.TB, tab context.Context, u string) string {
	t.Helper()
	var q string
	for range 5 {
		sfOpen(t, tab, u)
		if q = sfAttr(t, tab, `[data-testid="mini-cart"]`, "data-quantity"); q != "" {
			break
		}
	}
	return q
}

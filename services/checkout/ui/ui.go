// Package ui is checkout's storefront surface: the manifest, the fragments (add-to-cart, mini-cart,
// cart, checkout, thanks, order, order-history, compact-header) under /fragments/{name}, and the
// interaction endpoints
// under /ui/... that the shell proxies from /checkout/... (POST /checkout/cart/add reaches
// POST /ui/cart/add). Fragments and /ui routes sit behind the Inlay-Context check; state-changing
// /ui routes also need the context's CSRF token.
package ui

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"time"

	"github.com/a-h/templ"
	"github.com/gofiber/fiber/v2"

	"github.com/inlay-dev/inlay/fragments"
	"github.com/inlay-dev/inlay/services/checkout/postgres"
	"github.com/inlay-dev/inlay/services/checkout/redis"
	"github.com/inlay-dev/inlay/services/checkout/static"
)

// Context is checkout's context name: its manifest name, data-boundary and asset prefix.
const Context = "checkout"

// Fragment names in checkout's manifest.
const (
	AddToCart     = "add-to-cart"
	MiniCart      = "mini-cart"
	CartPage      = "cart"
	CheckoutPage  = "checkout"
	Thanks        = "thanks"
	OrderPage     = "order"
	OrderHistory  = "order-history"
	CompactHeader = "compact-header"
)

// Options configures Mount.
type Options struct {
	Carts  *redis.Carts
	Store  *postgres.Store
	Assets *static.Assets
	// Verifier checks the shell's Inlay-Context on every fragment and /ui request.
	Verifier *fragments.Verifier
	// SecureCookie marks the cart cookie Secure (outside dev mode).
	SecureCookie bool
	Log          *slog.Logger
}

// handlers holds what the fragment and /ui handlers share.
type handlers struct {
	carts    *redis.Carts
	store    *postgres.Store
	manifest fragments.Manifest
	logo     string
	secure   bool
	log      *slog.Logger
}

// Mount adds the manifest, the assets, the fragments and the /ui endpoints to r and returns the
// manifest.
func Mount(r fiber.Router, opts Options) (fragments.Manifest, error) {
	if opts.Carts == nil || opts.Store == nil || opts.Assets == nil || opts.Verifier == nil {
		return fragments.Manifest{}, fmt.Errorf("checkout ui: Carts, Store, Assets and Verifier are required")
	}
	if opts.Log == nil {
		opts.Log = slog.Default()
	}
	css, err := opts.Assets.Path("checkout.css")
	if err != nil {
		return fragments.Manifest{}, err
	}
	js, err := opts.Assets.Path("checkout.js")
	if err != nil {
		return fragments.Manifest{}, err
	}
	logo, err := opts.Assets.URL("img/logo.svg")
	if err != nil {
		return fragments.Manifest{}, err
	}
	m, err := manifest(opts.Assets.Version(), css, js)
	if err != nil {
		return fragments.Manifest{}, err
	}
	h := &handlers{carts: opts.Carts, store: opts.Store, manifest: m, logo: logo, secure: opts.SecureCookie, log: opts.Log}

	fragments.ServeManifest(r, m)
	opts.Assets.Mount(r)

	g := r.Group("/fragments", fragments.Middleware(opts.Verifier))
	g.Get("/"+AddToCart, h.addToCart)
	g.Get("/"+MiniCart, h.miniCart)
	g.Get("/"+CartPage, h.cart)
	g.Get("/"+CheckoutPage, h.checkout)
	g.Get("/"+Thanks, h.thanks)
	g.Get("/"+OrderPage, h.order)
	g.Get("/"+OrderHistory, h.orderHistory)
	g.Get("/"+CompactHeader, h.compactHeader)

	u := r.Group("/ui", fragments.Middleware(opts.Verifier), fragments.RequireCSRF())
	u.Post("/cart/add", h.add)
	u.Post("/cart/remove", h.remove)
	u.Get("/mini-cart", h.miniCart)
	u.Post("/place-order", h.placeOrder)
	u.Get("/orders/:id/status", h.orderStatus)
	return m, nil
}

func manifest(version, css, js string) (fragments.Manifest, error) {
	m := fragments.Manifest{Name: Context, Version: version, Fragments: map[string]fragments.Fragment{}}
	for _, f := range []struct {
		name     string
		timeout  time.Duration
		cache    fragments.CachePolicy
		fallback templ.Component
		params   []string
		js       bool
	}{
		{AddToCart, 300 * time.Millisecond, fragments.Private,
			Unavailable("checkout-add-to-cart", "The basket is not available right now. Please try again in a moment."), []string{"sku"}, true},
		{MiniCart, 200 * time.Millisecond, fragments.Private, MiniCartView(0), nil, true},
		{CartPage, time.Second, fragments.Private,
			PageUnavailable("checkout-cart", "Basket", "Your basket cannot be shown right now. Please try again in a moment."), []string{"error"}, true},
		{CheckoutPage, time.Second, fragments.Private,
			PageUnavailable("checkout-checkout", "Checkout", "Checkout is not available right now. Please try again in a moment."), []string{"store"}, true},
		{Thanks, time.Second, fragments.Private,
			PageUnavailable("checkout-thanks", "Thanks for your order!", "Its status cannot be shown right now."), []string{"order"}, true},
		{OrderPage, time.Second, fragments.Private,
			PageUnavailable("checkout-order", "Your order", "This order cannot be shown right now. Please try again in a moment."), []string{"order"}, true},
		{OrderHistory, 500 * time.Millisecond, fragments.Private,
			Unavailable("checkout-order-history", "Your orders cannot be shown right now."), nil, false},
		{CompactHeader, 300 * time.Millisecond, fragments.Public, compactFallback(), nil, false},
	} {
		var b bytes.Buffer
		if err := f.fallback.Render(context.Background(), &b); err != nil {
			return m, fmt.Errorf("checkout manifest: %s fallback: %w", f.name, err)
		}
		fr := fragments.Fragment{Params: f.params, Timeout: fragments.Duration(f.timeout), Fallback: b.String(),
			Cache: f.cache, CSS: []string{css}}
		if f.js {
			fr.JS = []string{js}
		}
		m.Fragments[f.name] = fr
	}
	if err := m.Validate(); err != nil {
		return m, err
	}
	return m, nil
}

// compactFallback is the compact header without its logo image.
func compactFallback() templ.Component {
	return templ.Raw(`<header class="co-compact-header" data-boundary="checkout" data-testid="checkout-compact-header"><a href="/">The Tractor Store</a></header>`)
}

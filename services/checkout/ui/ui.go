// Package ui is checkout's storefront surface: it builds the manifest and mounts the fragments under
// /fragments/{name} and the interaction endpoints under /ui/... that the shell proxies from
// /checkout/... (POST /checkout/cart/add reaches POST /ui/cart/add). Fragments and /ui routes sit
// behind the Inlay-Context check; state-changing /ui routes also need the context's CSRF token.
//
// One sub-package per fragment holds its handler, its view model and its templ view, with its
// endpoints: addtocart (POST /ui/cart/add), minicart (GET /ui/mini-cart), cart (POST
// /ui/cart/remove), checkoutpage (POST /ui/place-order), thanks, order (GET /ui/orders/{id}/status),
// orderhistory and compactheader; fallback is the fragments' fallback. Each declares the small
// interfaces it reads and writes through; cmd/checkoutd passes the redis and postgres stores.
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
	"github.com/inlay-dev/inlay/services/checkout/static"
	"github.com/inlay-dev/inlay/services/checkout/ui/addtocart"
	"github.com/inlay-dev/inlay/services/checkout/ui/cart"
	"github.com/inlay-dev/inlay/services/checkout/ui/checkoutpage"
	"github.com/inlay-dev/inlay/services/checkout/ui/compactheader"
	"github.com/inlay-dev/inlay/services/checkout/ui/fallback"
	"github.com/inlay-dev/inlay/services/checkout/ui/minicart"
	"github.com/inlay-dev/inlay/services/checkout/ui/order"
	"github.com/inlay-dev/inlay/services/checkout/ui/orderhistory"
	"github.com/inlay-dev/inlay/services/checkout/ui/thanks"
)

// Context is checkout's context name: its manifest name, data-boundary and asset prefix.
const Context = "checkout"

// Fragment names in checkout's manifest.
const (
	AddToCart     = addtocart.Name
	MiniCart      = minicart.Name
	CartPage      = cart.Name
	CheckoutPage  = checkoutpage.Name
	Thanks        = thanks.Name
	OrderPage     = order.Name
	OrderHistory  = orderhistory.Name
	CompactHeader = compactheader.Name
)

// Carts is everything the fragments and endpoints do with carts (redis.Carts).
type Carts interface {
	addtocart.CartAdder
	cart.LineRemover
	cart.LineChanger
	order.CartSetter
	checkoutpage.Basket
	checkoutpage.FormTaker
	CartMerger
}

// Store is everything the fragments and endpoints read and place (postgres.Store).
type Store interface {
	addtocart.ItemReader
	cart.ItemReader
	checkoutpage.OrderPlacer
	order.Reader
	orderhistory.Lister
	checkoutpage.CustomerCopies
	GuestOrderAdopter
}

// Options configures Mount.
type Options struct {
	Carts  Carts
	Store  Store
	Assets *static.Assets
	// Verifier checks the shell's Inlay-Context on every fragment and /ui request.
	Verifier *fragments.Verifier
	// SecureCookie marks the cart cookie Secure (outside dev mode).
	SecureCookie bool
	Log          *slog.Logger
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
	assets := func(name string) fragments.RenderOption { return fragments.Assets(m, name) }

	fragments.ServeManifest(r, m)
	opts.Assets.Mount(r)

	carts, store := opts.Carts, opts.Store
	miniCart := minicart.Handler(carts, assets(MiniCart))
	g := r.Group("/fragments", fragments.Middleware(opts.Verifier), customerCart(carts, store, opts.Log, opts.SecureCookie, false))
	g.Get("/"+AddToCart, addtocart.Handler(store, assets(AddToCart)))
	g.Get("/"+MiniCart, miniCart)
	g.Get("/"+CartPage, cart.Handler(carts, store, assets(CartPage)))
	g.Get("/"+CheckoutPage, checkoutpage.Handler(carts, store, carts, store, assets(CheckoutPage)))
	g.Get("/"+Thanks, thanks.Handler(store, assets(Thanks)))
	g.Get("/"+OrderPage, order.Handler(store, assets(OrderPage)))
	g.Get("/"+OrderHistory, orderhistory.Handler(store, assets(OrderHistory)))
	g.Get("/"+CompactHeader, compactheader.Handler(logo, assets(CompactHeader)))

	u := r.Group("/ui", fragments.Middleware(opts.Verifier), fragments.RequireCSRF(), customerCart(carts, store, opts.Log, opts.SecureCookie, true))
	u.Post("/cart/add", addtocart.Add(store, carts, opts.SecureCookie))
	u.Post("/cart/remove", cart.Remove(carts))
	u.Post("/cart/update", cart.Update(carts, store))
	u.Get("/mini-cart", miniCart)
	u.Post("/place-order", checkoutpage.PlaceOrder(carts, store, opts.Log))
	u.Get("/orders/:id/status", order.StatusHandler(store))
	u.Post("/orders/:id/reorder", order.Reorder(store, store, carts))
	return m, nil
}

// csrfForms are the fragments that render forms, so ask for the visitor's CSRF token (Add To Cart,
// public, renders fragments.CSRFPlaceholder, which the shell fills).
var csrfForms = map[string]bool{AddToCart: true, CartPage: true, CheckoutPage: true, Thanks: true, OrderPage: true}

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
		{AddToCart, 300 * time.Millisecond, fragments.Public,
			fallback.Unavailable("checkout-add-to-cart", "The basket is not available right now. Please try again in a moment."), []string{"sku"}, true},
		{MiniCart, 200 * time.Millisecond, fragments.Private, minicart.MiniCartView(minicart.Unknown), nil, true},
		{CartPage, time.Second, fragments.Private,
			fallback.PageUnavailable("checkout-cart", "Basket", "Your basket cannot be shown right now. Please try again in a moment."), []string{"error"}, true},
		{CheckoutPage, time.Second, fragments.Private,
			fallback.PageUnavailable("checkout-checkout", "Checkout", "Checkout is not available right now. Please try again in a moment."), []string{"store"}, true},
		{Thanks, time.Second, fragments.Private,
			fallback.PageUnavailable("checkout-thanks", "Thanks for your order!", "Its status cannot be shown right now."), []string{"order"}, true},
		{OrderPage, time.Second, fragments.Private,
			fallback.PageUnavailable("checkout-order", "Your order", "This order cannot be shown right now. Please try again in a moment."), []string{"order"}, true},
		{OrderHistory, 500 * time.Millisecond, fragments.Private,
			fallback.Unavailable("checkout-order-history", "Your orders cannot be shown right now."), nil, false},
		{CompactHeader, 300 * time.Millisecond, fragments.Public, compactheader.Fallback(), nil, false},
	} {
		var b bytes.Buffer
		if err := f.fallback.Render(context.Background(), &b); err != nil {
			return m, fmt.Errorf("checkout manifest: %s fallback: %w", f.name, err)
		}
		fr := fragments.Fragment{Params: f.params, Timeout: fragments.Duration(f.timeout), Fallback: b.String(),
			Cache: f.cache, CSS: []string{css}, CSRF: csrfForms[f.name]}
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

// Package uitest helps checkout's fragment and endpoint tests: it serves one handler behind Inlay's
// error handler with a given Inlay-Context and parses the answer with goquery, and it fakes the cart
// and order stores with function fields.
package uitest

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"github.com/PuerkitoBio/goquery"
	"github.com/gofiber/fiber/v2"
	"github.com/google/uuid"

	"github.com/inlay-dev/inlay/fragments"
	"github.com/inlay-dev/inlay/services/checkout"
	"github.com/inlay-dev/inlay/services/kit/server"
)

// Response is an answer with its body, parsed.
type Response struct {
	*http.Response
	Body string
	Doc  *goquery.Document
}

// Request is one request to a handler.
type Request struct {
	Method  string // GET when empty
	Route   string // the handler's route; "/" when empty
	Target  string // the request's URL; Route when empty
	Context fragments.Context
	Form    url.Values // posted, when not nil
	Header  http.Header
}

// Do serves h at r.Route on a Fiber app with Inlay's error handler, with r.Context as the request's
// Inlay-Context, and sends r.
func Do(t *testing.T, h fiber.Handler, r Request) Response {
	t.Helper()
	if r.Method == "" {
		r.Method = http.MethodGet
	}
	if r.Route == "" {
		r.Route = "/"
	}
	if r.Target == "" {
		r.Target = r.Route
	}
	srv := server.New(server.Options{Name: "checkout", Log: slog.New(slog.NewTextHandler(io.Discard, nil))})
	srv.App.Add(r.Method, r.Route, func(c *fiber.Ctx) error {
		c.SetUserContext(fragments.WithContext(c.UserContext(), r.Context))
		return c.Next()
	}, h)
	var body io.Reader
	if r.Form != nil {
		body = strings.NewReader(r.Form.Encode())
	}
	req := httptest.NewRequest(r.Method, r.Target, body)
	if r.Form != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	for k, v := range r.Header {
		req.Header[k] = v
	}
	res, err := srv.App.Test(req, -1)
	if err != nil {
		t.Fatalf("%s %s: %v", r.Method, r.Target, err)
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	if err != nil {
		t.Fatal(err)
	}
	doc, err := goquery.NewDocumentFromReader(strings.NewReader(string(b)))
	if err != nil {
		t.Fatal(err)
	}
	return Response{Response: res, Body: string(b), Doc: doc}
}

// Text is the text of the elements matching sel, spaces collapsed.
func Text(doc *goquery.Document, sel string) string {
	return strings.Join(strings.Fields(doc.Find(sel).Text()), " ")
}

// JSON is the Accept header of checkout's script.
var JSON = http.Header{"Accept": {"application/json"}}

// Carts is a fake of the cart store; nil functions answer empty.
type Carts struct {
	LinesFunc    func(ctx context.Context, cartID string) ([]checkout.CartLine, error)
	AddFunc      func(ctx context.Context, cartID, sku string, n, limit int) (int, error)
	NewIDFunc    func(ctx context.Context, visitor string) (string, error)
	ClaimFunc    func(ctx context.Context, cartID, key string) error
	RemoveFunc   func(ctx context.Context, cartID, sku string) error
	SaveFormFunc func(ctx context.Context, cartID string, f checkout.CheckoutForm, errs checkout.FieldErrors) error
	TakeFormFunc func(ctx context.Context, cartID string) (checkout.CheckoutForm, checkout.FieldErrors, bool, error)
	ClearFunc    func(ctx context.Context, cartID string) error
}

// Lines calls LinesFunc.
func (c Carts) Lines(ctx context.Context, cartID string) ([]checkout.CartLine, error) {
	if c.LinesFunc == nil {
		return nil, nil
	}
	return c.LinesFunc(ctx, cartID)
}

// Add calls AddFunc.
func (c Carts) Add(ctx context.Context, cartID, sku string, n, limit int) (int, error) {
	if c.AddFunc == nil {
		return n, nil
	}
	return c.AddFunc(ctx, cartID, sku, n, limit)
}

// NewCartID calls NewIDFunc; without one, a fresh id each time.
func (c Carts) NewCartID(ctx context.Context, visitor string) (string, error) {
	if c.NewIDFunc == nil {
		return uuid.NewString(), nil
	}
	return c.NewIDFunc(ctx, visitor)
}

// ClaimPlacing calls ClaimFunc; without one, every claim succeeds.
func (c Carts) ClaimPlacing(ctx context.Context, cartID, key string) error {
	if c.ClaimFunc == nil {
		return nil
	}
	return c.ClaimFunc(ctx, cartID, key)
}

// ReleasePlacing does nothing.
func (Carts) ReleasePlacing(context.Context, string, string) error { return nil }

// Remove calls RemoveFunc.
func (c Carts) Remove(ctx context.Context, cartID, sku string) error {
	if c.RemoveFunc == nil {
		return nil
	}
	return c.RemoveFunc(ctx, cartID, sku)
}

// SaveForm calls SaveFormFunc.
func (c Carts) SaveForm(ctx context.Context, cartID string, f checkout.CheckoutForm, errs checkout.FieldErrors) error {
	if c.SaveFormFunc == nil {
		return nil
	}
	return c.SaveFormFunc(ctx, cartID, f, errs)
}

// TakeForm calls TakeFormFunc.
func (c Carts) TakeForm(ctx context.Context, cartID string) (checkout.CheckoutForm, checkout.FieldErrors, bool, error) {
	if c.TakeFormFunc == nil {
		return checkout.CheckoutForm{}, nil, false, nil
	}
	return c.TakeFormFunc(ctx, cartID)
}

// ClearOrdered calls ClearFunc (the fake empties the whole cart).
func (c Carts) ClearOrdered(ctx context.Context, cartID, _, _ string, _ []checkout.CartLine) error {
	if c.ClearFunc == nil {
		return nil
	}
	return c.ClearFunc(ctx, cartID)
}

// Store is a fake of checkout's PostgreSQL store; nil functions answer empty (Item and Order: not
// found).
type Store struct {
	ItemFunc       func(ctx context.Context, sku string) (checkout.Item, error)
	ItemsFunc      func(ctx context.Context, skus []string) (map[string]checkout.Item, error)
	PlaceOrderFunc func(ctx context.Context, p checkout.Placement) (string, bool, error)
	OrderFunc      func(ctx context.Context, id string) (checkout.Order, error)
	OrdersOfFunc   func(ctx context.Context, customerID string, limit int) ([]checkout.Order, error)
	// KnownStoreFunc, when nil, knows every store.
	KnownStoreFunc func(ctx context.Context, id string) (bool, error)
}

// KnownStore calls KnownStoreFunc.
func (s Store) KnownStore(ctx context.Context, id string) (bool, error) {
	if s.KnownStoreFunc == nil {
		return true, nil
	}
	return s.KnownStoreFunc(ctx, id)
}

// Item calls ItemFunc.
func (s Store) Item(ctx context.Context, sku string) (checkout.Item, error) {
	if s.ItemFunc == nil {
		return checkout.Item{}, checkout.ErrUnknownSKU
	}
	return s.ItemFunc(ctx, sku)
}

// Items calls ItemsFunc.
func (s Store) Items(ctx context.Context, skus []string) (map[string]checkout.Item, error) {
	if s.ItemsFunc == nil {
		return nil, nil
	}
	return s.ItemsFunc(ctx, skus)
}

// PlaceOrder calls PlaceOrderFunc.
func (s Store) PlaceOrder(ctx context.Context, p checkout.Placement) (string, bool, error) {
	if s.PlaceOrderFunc == nil {
		return "", false, nil
	}
	return s.PlaceOrderFunc(ctx, p)
}

// Order calls OrderFunc.
func (s Store) Order(ctx context.Context, id string) (checkout.Order, error) {
	if s.OrderFunc == nil {
		return checkout.Order{}, checkout.ErrOrderNotFound(id)
	}
	return s.OrderFunc(ctx, id)
}

// OrdersOf calls OrdersOfFunc.
func (s Store) OrdersOf(ctx context.Context, customerID string, limit int) ([]checkout.Order, error) {
	if s.OrdersOfFunc == nil {
		return nil, nil
	}
	return s.OrdersOfFunc(ctx, customerID, limit)
}

// OrdersOfCart finds no orders.
func (Store) OrdersOfCart(context.Context, string, int) ([]checkout.Order, error) { return nil, nil }

// Grey is a variant in stock (5), Red one with a single unit.
var (
	Grey = checkout.Item{Variant: checkout.Variant{SKU: "CL-01-GY", ProductID: "CL-01", ProductName: "Heritage Workhorse",
		Name: "Verdant Field", Image: "/gy.svg", Price: 5700}, Stock: 5}
	Red = checkout.Item{Variant: checkout.Variant{SKU: "CL-01-RD", ProductID: "CL-01", ProductName: "Heritage Workhorse",
		Name: "Red Barn", Image: "/rd.svg", Price: 6200}, Stock: 1}
)

// Items is a fake ItemsFunc knowing Grey and Red.
func Items(_ context.Context, skus []string) (map[string]checkout.Item, error) {
	out := map[string]checkout.Item{}
	for _, s := range skus {
		for _, it := range []checkout.Item{Grey, Red} {
			if it.SKU == s {
				out[s] = it
			}
		}
	}
	return out, nil
}

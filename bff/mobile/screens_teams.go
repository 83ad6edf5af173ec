package mobile

import (
	"context"
	"net/http"
	"net/url"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/danielgtaylor/huma/v2"
)

// partStores names the home screen's stores in "degraded".
const partStores = "stores"

// orderTimeout is the deadline of placing an order: checkout's own bound of it.
const orderTimeout = 5 * time.Second

func (b *BFF) registerTeams() {
	// Every operation may answer 400: a query parameter given twice (queryOnce).
	read := []int{http.StatusBadRequest, http.StatusTooManyRequests, http.StatusServiceUnavailable}
	auth := []int{http.StatusBadRequest, http.StatusUnauthorized, http.StatusTooManyRequests, http.StatusServiceUnavailable}
	body := []int{http.StatusBadRequest, http.StatusUnauthorized, http.StatusNotFound, http.StatusConflict,
		http.StatusRequestEntityTooLarge, http.StatusUnprocessableEntity, http.StatusTooManyRequests, http.StatusServiceUnavailable}
	huma.Register(b.api, huma.Operation{
		OperationID: "get-home", Method: http.MethodGet, Path: "/v1/home", Tags: []string{"catalog"},
		Summary:     "Home screen",
		Description: "Every category with its first products, and the stores. Explore is primary; the stores may be degraded.",
		Responses:   readResponses(), Errors: read,
	}, b.home)
	huma.Register(b.api, huma.Operation{
		OperationID: "get-category", Method: http.MethodGet, Path: "/v1/categories/{id}", Tags: []string{"catalog"},
		Summary: "Category screen", Description: "A page of a category's products.",
		Responses: readResponses(), Errors: append([]int{http.StatusNotFound}, read...),
	}, b.category)
	huma.Register(b.api, huma.Operation{
		OperationID: "search", Method: http.MethodGet, Path: "/v1/search", Tags: []string{"catalog"},
		Summary: "Search screen", Description: "A page of the products matching q, best first.",
		Responses: readResponses(), Errors: read,
	}, b.search)
	huma.Register(b.api, huma.Operation{
		OperationID: "get-cart", Method: http.MethodGet, Path: "/v1/cart", Tags: []string{"cart"},
		Summary: "Cart screen", Description: "The signed-in customer's cart.", Security: bearerAuth,
		Responses: readResponses(), Errors: auth,
	}, b.cart)
	huma.Register(b.api, huma.Operation{
		OperationID: "add-to-cart", Method: http.MethodPost, Path: "/v1/cart/items", Tags: []string{"cart"},
		Summary: "Add to cart", Description: "Adds quantity units of sku; 409 when the stock or the line limit does not allow it; " +
			"504 when checkout took the request and its answer was lost: the units may have been added, so read the cart before adding again.",
		Security: bearerAuth, MaxBodyBytes: b.opts.BodyLimit, Errors: append(slices.Clip(body), http.StatusGatewayTimeout),
	}, b.addToCart)
	huma.Register(b.api, huma.Operation{
		OperationID: "remove-from-cart", Method: http.MethodDelete, Path: "/v1/cart/items/{sku}", Tags: []string{"cart"},
		Summary: "Remove from cart", Description: "Removes sku's line (a missing line is fine).", Security: bearerAuth,
		Errors: auth,
	}, b.removeFromCart)
	orderSchema := b.api.OpenAPI().Components.Schemas.Schema(reflect.TypeFor[Order](), true, "Order")
	huma.Register(b.api, huma.Operation{
		Responses: map[string]*huma.Response{"200": {
			Description: "The order an earlier request with the same Idempotency-Key placed.",
			Content:     map[string]*huma.MediaType{"application/json": {Schema: orderSchema}},
		}},
		OperationID: "place-order", Method: http.MethodPost, Path: "/v1/orders", Tags: []string{"orders"},
		Summary: "Place order",
		Description: "Places the cart's order. The same Idempotency-Key again answers 200 with the same order; " +
			"with another body, 422. Names and e-mail default to the customer's.",
		Security: bearerAuth, MaxBodyBytes: b.opts.BodyLimit, DefaultStatus: http.StatusCreated, Errors: body,
	}, b.placeOrder)
	huma.Register(b.api, huma.Operation{
		OperationID: "list-orders", Method: http.MethodGet, Path: "/v1/orders", Tags: []string{"orders"},
		Summary: "Orders screen", Description: "The customer's latest orders, newest first.", Security: bearerAuth,
		Responses: readResponses(), Errors: auth,
	}, b.orders)
	huma.Register(b.api, huma.Operation{
		OperationID: "get-order", Method: http.MethodGet, Path: "/v1/orders/{id}", Tags: []string{"orders"},
		Summary: "Order screen", Description: "One of the customer's orders; pending until confirmed or cancelled (final).",
		Security: bearerAuth, Responses: readResponses(), Errors: append([]int{http.StatusNotFound}, auth...),
	}, b.order)
}

// ProductSummary is a product tile.
type ProductSummary struct {
	ID         string `json:"id"`
	Name       string `json:"name"`
	Category   string `json:"category"`
	Image      string `json:"image" doc:"Empty when there is none: draw the tractor in color."`
	Color      string `json:"color"`
	StartPrice int64  `json:"startPrice" doc:"The lowest variant price, in whole Ø."`
}

// Category is a category with (some of) its products.
type Category struct {
	ID       string           `json:"id"`
	Name     string           `json:"name"`
	Title    string           `json:"title"`
	Total    int              `json:"total" doc:"How many products the category has."`
	Products []ProductSummary `json:"products"`
}

// StoreInfo is a store an order may be picked up at.
type StoreInfo struct {
	ID     string `json:"id"`
	Name   string `json:"name"`
	Street string `json:"street"`
	City   string `json:"city"`
}

// HomeScreen is the home screen.
type HomeScreen struct {
	Categories []Category  `json:"categories"`
	Stores     []StoreInfo `json:"stores,omitempty" doc:"Absent when degraded."`
	Degraded   []string    `json:"degraded"`
}

// HomeOutput is the home screen's answer.
type HomeOutput struct{ Body HomeScreen }

// ReadInput is a read screen's If-None-Match (the ETag check itself is the BFF's middleware's).
type ReadInput struct {
	IfNoneMatch string `header:"If-None-Match" maxLength:"256" doc:"An ETag of an earlier answer."`
}

func (b *BFF) home(ctx context.Context, _ *ReadInput) (*HomeOutput, error) {
	rc := reqCtx(ctx)
	dctx := detach(ctx)
	var (
		cats   exploreCategories
		stores exploreStores
		deg    degraded
	)
	errs := parallel(
		func() error {
			return b.do(dctx, rc, call{team: teamExplore, path: "/v1/categories", query: url.Values{"limit": {"4"}}}, &cats)
		},
		func() error {
			return b.do(dctx, rc, call{team: teamExplore, path: "/v1/stores"}, &stores)
		})
	if errs[0] != nil {
		return nil, primaryError(errs[0])
	}
	out := &HomeOutput{Body: HomeScreen{Categories: make([]Category, 0, len(cats.Categories))}}
	for _, c := range cats.Categories {
		out.Body.Categories = append(out.Body.Categories, category(c))
	}
	if errs[1] != nil {
		deg.add(partStores)
	} else {
		out.Body.Stores = make([]StoreInfo, 0, len(stores.Stores))
		for _, s := range stores.Stores {
			out.Body.Stores = append(out.Body.Stores, StoreInfo(s))
		}
	}
	out.Body.Degraded = deg.list()
	return out, nil
}

func category(c exploreCategory) Category {
	out := Category{ID: c.Key, Name: c.Name, Title: c.Title, Total: c.Total, Products: summaries(c.Products)}
	return out
}

func summaries(ps []exploreProduct) []ProductSummary {
	out := make([]ProductSummary, 0, len(ps))
	for _, p := range ps {
		out = append(out, ProductSummary(p))
	}
	return out
}

// CategoryInput is the category screen's request.
type CategoryInput struct {
	ID          string `path:"id" maxLength:"64" pattern:"^[a-z0-9-]+$" doc:"The category's id (classic, autonomous, ...)."`
	Limit       int    `query:"limit" default:"24" minimum:"1" maximum:"100"`
	Offset      int    `query:"offset" default:"0" minimum:"0" maximum:"500"`
	IfNoneMatch string `header:"If-None-Match" maxLength:"256"`
}

// CategoryScreen is the category screen.
type CategoryScreen struct {
	Category Category `json:"category"`
	Limit    int      `json:"limit"`
	Offset   int      `json:"offset"`
}

// CategoryOutput is the category screen's answer.
type CategoryOutput struct{ Body CategoryScreen }

func (b *BFF) category(ctx context.Context, in *CategoryInput) (*CategoryOutput, error) {
	var c struct {
		exploreCategory
		Limit  int `json:"limit"`
		Offset int `json:"offset"`
	}
	q := url.Values{"limit": {strconv.Itoa(in.Limit)}, "offset": {strconv.Itoa(in.Offset)}}
	if err := b.do(detach(ctx), reqCtx(ctx), call{team: teamExplore, path: "/v1/categories/" + url.PathEscape(in.ID), query: q}, &c); err != nil {
		return nil, primaryError(err)
	}
	return &CategoryOutput{Body: CategoryScreen{Category: category(c.exploreCategory), Limit: c.Limit, Offset: c.Offset}}, nil
}

// SearchInput is the search screen's request.
type SearchInput struct {
	Q           string `query:"q" required:"true" minLength:"1" maxLength:"200" doc:"What to look for."`
	Limit       int    `query:"limit" default:"20" minimum:"1" maximum:"50"`
	Offset      int    `query:"offset" default:"0" minimum:"0" maximum:"500"`
	IfNoneMatch string `header:"If-None-Match" maxLength:"256"`
}

// SearchScreen is the search screen.
type SearchScreen struct {
	Query    string           `json:"query"`
	Limit    int              `json:"limit"`
	Offset   int              `json:"offset"`
	More     bool             `json:"more" doc:"Whether a next page (offset+limit) has results."`
	Products []ProductSummary `json:"products"`
}

// SearchOutput is the search screen's answer.
type SearchOutput struct{ Body SearchScreen }

func (b *BFF) search(ctx context.Context, in *SearchInput) (*SearchOutput, error) {
	var s exploreSearch
	q := url.Values{"q": {strings.Clone(in.Q)}, "limit": {strconv.Itoa(in.Limit)}, "offset": {strconv.Itoa(in.Offset)}}
	if err := b.do(detach(ctx), reqCtx(ctx), call{team: teamExplore, path: "/v1/search", query: q}, &s); err != nil {
		return nil, primaryError(err)
	}
	return &SearchOutput{Body: SearchScreen{Query: s.Query, Limit: s.Limit, Offset: s.Offset, More: s.More,
		Products: summaries(s.Products)}}, nil
}

// CartLine is a line of the cart.
type CartLine struct {
	SKU         string `json:"sku"`
	ProductID   string `json:"productId"`
	ProductName string `json:"productName"`
	Name        string `json:"name"`
	Color       string `json:"color"`
	Image       string `json:"image"`
	Quantity    int    `json:"quantity"`
	UnitPrice   int64  `json:"unitPrice"`
	Total       int64  `json:"total"`
	Stock       int    `json:"stock" doc:"How many units are in stock, as checkout last heard."`
}

// Cart is the customer's cart.
type Cart struct {
	Lines    []CartLine `json:"lines"`
	Quantity int        `json:"quantity"`
	Total    int64      `json:"total"`
}

// CartOutput is a cart screen's answer.
type CartOutput struct{ Body Cart }

func cartOf(c checkoutCart) *CartOutput {
	out := &CartOutput{Body: Cart{Lines: make([]CartLine, 0, len(c.Lines)), Quantity: c.Quantity, Total: c.Total}}
	for _, l := range c.Lines {
		out.Body.Lines = append(out.Body.Lines, CartLine(l))
	}
	return out
}

func (b *BFF) cart(ctx context.Context, _ *ReadInput) (*CartOutput, error) {
	var c checkoutCart
	if err := b.do(detach(ctx), reqCtx(ctx), call{team: teamCheckout, path: "/v1/cart"}, &c); err != nil {
		return nil, primaryError(err)
	}
	return cartOf(c), nil
}

// AddToCartInput is POST /v1/cart/items' request.
type AddToCartInput struct {
	Body struct {
		SKU      string `json:"sku" minLength:"1" maxLength:"64" pattern:"^[A-Za-z0-9_-]+$" doc:"The variant to add."`
		Quantity int    `json:"quantity" minimum:"1" maximum:"10" doc:"How many units to add (a line holds at most 10)."`
	}
}

func (b *BFF) addToCart(ctx context.Context, in *AddToCartInput) (*CartOutput, error) {
	var c checkoutCart
	body := map[string]any{"sku": in.Body.SKU, "quantity": in.Body.Quantity}
	if err := b.do(detach(ctx), reqCtx(ctx), call{team: teamCheckout, method: http.MethodPost, path: "/v1/cart/items", body: body, change: true}, &c); err != nil {
		return nil, primaryError(err)
	}
	return cartOf(c), nil
}

// RemoveInput is DELETE /v1/cart/items/{sku}'s request.
type RemoveInput struct {
	SKU string `path:"sku" maxLength:"64" pattern:"^[A-Za-z0-9_-]+$"`
}

func (b *BFF) removeFromCart(ctx context.Context, in *RemoveInput) (*CartOutput, error) {
	var c checkoutCart
	path := "/v1/cart/items/" + url.PathEscape(in.SKU)
	if err := b.do(detach(ctx), reqCtx(ctx), call{team: teamCheckout, method: http.MethodDelete, path: path}, &c); err != nil {
		return nil, primaryError(err)
	}
	return cartOf(c), nil
}

// OrderSummary is an order in a list. Status is pending, confirmed or cancelled (with reason);
// final says it will not change again.
type OrderSummary struct {
	ID      string    `json:"id"`
	Status  string    `json:"status" enum:"pending,confirmed,cancelled"`
	Reason  string    `json:"reason"`
	Final   bool      `json:"final"`
	StoreID string    `json:"storeId"`
	Total   int64     `json:"total"`
	Created time.Time `json:"created"`
}

// OrderLine is a line of an order.
type OrderLine struct {
	SKU         string `json:"sku"`
	ProductID   string `json:"productId"`
	ProductName string `json:"productName"`
	Name        string `json:"name"`
	Image       string `json:"image"`
	Quantity    int    `json:"quantity"`
	UnitPrice   int64  `json:"unitPrice"`
	Total       int64  `json:"total"`
}

// OrderCustomer is who placed an order.
type OrderCustomer struct {
	FirstName string `json:"firstName"`
	LastName  string `json:"lastName"`
	Email     string `json:"email"`
}

// Order is one order with its lines.
type Order struct {
	OrderSummary
	Updated   time.Time     `json:"updated"`
	CardLast4 string        `json:"cardLast4"`
	Customer  OrderCustomer `json:"customer"`
	Lines     []OrderLine   `json:"lines"`
}

func orderOf(o checkoutOrder) Order {
	out := Order{OrderSummary: OrderSummary(o.checkoutOrderSummary), Updated: o.Updated, CardLast4: o.CardLast4,
		Customer: OrderCustomer(o.Customer), Lines: make([]OrderLine, 0, len(o.Lines))}
	for _, l := range o.Lines {
		out.Lines = append(out.Lines, OrderLine(l))
	}
	return out
}

// PlaceOrderInput is POST /v1/orders' request.
type PlaceOrderInput struct {
	IdempotencyKey string `header:"Idempotency-Key" required:"true" minLength:"1" maxLength:"64" pattern:"^[A-Za-z0-9_-]+$" doc:"A key the app makes once per order: the same key again answers the same order."`
	Body           struct {
		StoreID   string `json:"storeId" minLength:"1" maxLength:"64" doc:"The store to pick the order up at (GET /v1/home's stores)."`
		Card      string `json:"card" minLength:"12" maxLength:"23" doc:"The card number."`
		FirstName string `json:"firstName,omitempty" maxLength:"100"`
		LastName  string `json:"lastName,omitempty" maxLength:"100"`
		Email     string `json:"email,omitempty" maxLength:"254"`
		// ExpectedTotal is forwarded only when the app sends it (omitempty): a checkout without it
		// is not asked about it.
		ExpectedTotal *int64 `json:"expectedTotal,omitempty" minimum:"0" doc:"The total the app showed (the cart screen's), in whole Ø: an order that would cost another amount at the current prices is refused with 409 and nothing is charged."`
	}
}

// OrderOutput is an order's answer.
type OrderOutput struct {
	Status   int
	Location string `header:"Location"`
	Body     Order
}

func (b *BFF) placeOrder(ctx context.Context, in *PlaceOrderInput) (*OrderOutput, error) {
	var o checkoutOrder
	status, err := b.doStatus(detach(ctx), reqCtx(ctx), call{team: teamCheckout, method: http.MethodPost, path: "/v1/orders",
		body: in.Body, idempotencyKey: strings.Clone(in.IdempotencyKey), timeout: orderTimeout}, &o)
	if err != nil {
		return nil, primaryError(err)
	}
	if status != http.StatusOK {
		status = http.StatusCreated
	}
	return &OrderOutput{Status: status, Location: "/v1/orders/" + url.PathEscape(o.ID), Body: orderOf(o)}, nil
}

// OrdersInput is the orders screen's request.
type OrdersInput struct {
	Limit       int    `query:"limit" default:"20" minimum:"1" maximum:"50"`
	IfNoneMatch string `header:"If-None-Match" maxLength:"256"`
}

// Orders is the orders screen.
type Orders struct {
	Orders []OrderSummary `json:"orders"`
}

// OrdersOutput is the orders screen's answer.
type OrdersOutput struct{ Body Orders }

func (b *BFF) orders(ctx context.Context, in *OrdersInput) (*OrdersOutput, error) {
	var os checkoutOrders
	q := url.Values{"limit": {strconv.Itoa(in.Limit)}}
	if err := b.do(detach(ctx), reqCtx(ctx), call{team: teamCheckout, path: "/v1/orders", query: q}, &os); err != nil {
		return nil, primaryError(err)
	}
	out := &OrdersOutput{Body: Orders{Orders: make([]OrderSummary, 0, len(os.Orders))}}
	for _, o := range os.Orders {
		out.Body.Orders = append(out.Body.Orders, OrderSummary(o))
	}
	return out, nil
}

// OrderInput is the order screen's request.
type OrderInput struct {
	ID          string `path:"id" maxLength:"64" pattern:"^[A-Za-z0-9_-]+$"`
	IfNoneMatch string `header:"If-None-Match" maxLength:"256"`
}

// OrderScreen is the order screen's answer.
type OrderScreen struct{ Body Order }

func (b *BFF) order(ctx context.Context, in *OrderInput) (*OrderScreen, error) {
	var o checkoutOrder
	if err := b.do(detach(ctx), reqCtx(ctx), call{team: teamCheckout, path: "/v1/orders/" + url.PathEscape(in.ID)}, &o); err != nil {
		return nil, primaryError(err)
	}
	return &OrderScreen{Body: orderOf(o)}, nil
}

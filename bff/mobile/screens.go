package mobile

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/danielgtaylor/huma/v2"
)

// Part names in "degraded": the parts of a screen a team other than its primary one provides.
const (
	partRecommendations = "recommendations"
	partStock           = "stock"
)

// degraded collects the parts a screen left out; safe for the parallel calls.
type degraded struct {
	mu    sync.Mutex
	parts []string
}

func (d *degraded) add(part string) {
	d.mu.Lock()
	d.parts = append(d.parts, part)
	d.mu.Unlock()
}

func (d *degraded) list() []string {
	d.mu.Lock()
	defer d.mu.Unlock()
	out := append([]string{}, d.parts...)
	return out
}

var bearerAuth = []map[string][]string{{"bearer": {}}}

// readResponses are the extra answers of a read screen: 304 to a matching If-None-Match.
func readResponses() map[string]*huma.Response {
	return map[string]*huma.Response{
		"200": {Headers: map[string]*huma.Param{
			"ETag":          {Description: "The answer's validator; send it back in If-None-Match.", Schema: &huma.Schema{Type: "string"}},
			"Cache-Control": {Description: "private: the answer is the caller's.", Schema: &huma.Schema{Type: "string"}},
		}},
		"304": {Description: "Not Modified: the If-None-Match named this answer's ETag."},
	}
}

// register adds the operations to the API.
func (b *BFF) register() {
	huma.Register(b.api, huma.Operation{
		OperationID: "get-product", Method: http.MethodGet, Path: "/v1/products/{id}", Tags: []string{"catalog"},
		Summary:     "Product screen",
		Description: "A product and one of its variants (sku, or the first), that variant's stock and recommendations for it. Decide is primary; stock and recommendations may be degraded.",
		Responses:   readResponses(), Errors: []int{http.StatusBadRequest, http.StatusNotFound, http.StatusTooManyRequests, http.StatusServiceUnavailable},
	}, b.product)
	huma.Register(b.api, huma.Operation{
		OperationID: "sign-in", Method: http.MethodPost, Path: "/v1/session", Tags: []string{"session"},
		Summary: "Sign in", Description: "Signs in with e-mail and password; the answer's token is the bearer token of the other calls.",
		DefaultStatus: http.StatusCreated, MaxBodyBytes: b.opts.BodyLimit,
		Errors: []int{http.StatusBadRequest, http.StatusUnauthorized, http.StatusRequestEntityTooLarge, http.StatusUnprocessableEntity, http.StatusTooManyRequests, http.StatusServiceUnavailable},
	}, b.signIn)
	huma.Register(b.api, huma.Operation{
		OperationID: "sign-out", Method: http.MethodDelete, Path: "/v1/session", Tags: []string{"session"},
		Summary: "Sign out", Description: "Ends the bearer token's session.", Security: bearerAuth,
		DefaultStatus: http.StatusNoContent,
		Errors:        []int{http.StatusBadRequest, http.StatusUnauthorized, http.StatusTooManyRequests, http.StatusServiceUnavailable},
	}, b.signOut)
	b.registerTeams()
}

// ProductInput is the product screen's request.
type ProductInput struct {
	ID          string `path:"id" maxLength:"64" pattern:"^[A-Za-z0-9_-]+$" doc:"The product's id."`
	SKU         string `query:"sku" maxLength:"64" pattern:"^[A-Za-z0-9_-]*$" doc:"The variant to show; the product's first when empty."`
	IfNoneMatch string `header:"If-None-Match" maxLength:"256" doc:"An ETag of an earlier answer."`
}

// Product is a product in a screen.
type Product struct {
	ID         string   `json:"id"`
	Name       string   `json:"name"`
	Category   string   `json:"category"`
	Highlights []string `json:"highlights"`
}

// Variant is a product's variant in a screen.
type Variant struct {
	SKU       string `json:"sku"`
	Name      string `json:"name"`
	Color     string `json:"color"`
	Price     int64  `json:"price" doc:"In whole Ø."`
	Image     string `json:"image"`
	Thumbnail string `json:"thumbnail"`
}

// Stock is a variant's stock.
type Stock struct {
	SKU       string `json:"sku"`
	Quantity  int    `json:"quantity"`
	Available bool   `json:"available"`
}

// ProductScreen is the product screen.
type ProductScreen struct {
	Product  Product   `json:"product"`
	Variant  Variant   `json:"variant" doc:"The variant asked for (sku), or the first."`
	Variants []Variant `json:"variants"`
	Stock    *Stock    `json:"stock,omitempty" doc:"The variant's stock; absent when degraded."`
	// Recommendations is absent when degraded.
	Recommendations []Recommendation `json:"recommendations,omitempty" doc:"Absent when degraded."`
	Degraded        []string         `json:"degraded" doc:"The parts left out because their team was late or failing."`
}

// ProductOutput is the product screen's answer.
type ProductOutput struct{ Body ProductScreen }

func (b *BFF) product(ctx context.Context, in *ProductInput) (*ProductOutput, error) {
	rc := reqCtx(ctx)
	id, sku := strings.Clone(in.ID), strings.Clone(in.SKU)
	var (
		p     decideProduct
		st    inventoryStock
		recs  []Recommendation
		deg   degraded
		stOK  bool
		recOK bool
	)
	dctx := detach(ctx)
	decideCall := func() error {
		return b.do(dctx, rc, call{team: teamDecide, path: "/v1/products/" + url.PathEscape(id)}, &p)
	}
	stockCall := func(sku string) func() error {
		return func() error {
			err := b.do(dctx, rc, call{team: teamInventory, path: "/v1/stock/" + url.PathEscape(sku)}, &st)
			stOK = err == nil
			return nil
		}
	}
	recsCall := func(sku string) func() error {
		return func() error {
			var err error
			recs, err = b.recommendations(dctx, rc, sku)
			recOK = err == nil
			return nil
		}
	}
	if sku != "" {
		if errs := parallel(decideCall, stockCall(sku), recsCall(sku)); errs[0] != nil {
			return nil, primaryError(errs[0])
		}
	} else {
		if err := decideCall(); err != nil {
			return nil, primaryError(err)
		}
		if len(p.Variants) > 0 {
			sku = p.Variants[0].SKU
			parallel(stockCall(sku), recsCall(sku))
		}
	}
	out := &ProductOutput{Body: ProductScreen{
		Product:  Product{ID: p.ID, Name: p.Name, Category: p.Category, Highlights: p.Highlights},
		Variants: make([]Variant, 0, len(p.Variants)),
	}}
	if out.Body.Product.Highlights == nil {
		out.Body.Product.Highlights = []string{}
	}
	found := false
	for _, v := range p.Variants {
		vv := Variant(v)
		out.Body.Variants = append(out.Body.Variants, vv)
		if v.SKU == sku {
			out.Body.Variant, found = vv, true
		}
	}
	if !found {
		return nil, huma.Error404NotFound("the product has no variant " + sku)
	}
	if stOK && st.SKU == sku {
		out.Body.Stock = &Stock{SKU: st.SKU, Quantity: st.Quantity, Available: st.Quantity > 0}
	} else {
		deg.add(partStock)
	}
	if recOK {
		out.Body.Recommendations = recs
		if recs == nil {
			out.Body.Recommendations = []Recommendation{}
		}
	} else {
		deg.add(partRecommendations)
	}
	out.Body.Degraded = deg.list()
	return out, nil
}

// signInTimeout is the deadline of a sign-in: accounts hashes the password with argon2id (50 to
// 500 ms, seconds on a busy machine), so it is longer than a whoami's.
const signInTimeout = 5 * time.Second

// SignInInput is POST /v1/session's request.
type SignInInput struct {
	Body struct {
		Email    string `json:"email" minLength:"3" maxLength:"254" format:"email"`
		Password string `json:"password" minLength:"1" maxLength:"1024"`
	}
}

// Session is a signed-in session.
type Session struct {
	Token    string    `json:"token" doc:"The bearer token: Authorization: Bearer <token>."`
	Expires  time.Time `json:"expires"`
	Customer Customer  `json:"customer"`
}

// Customer is the signed-in customer.
type Customer struct {
	ID    string `json:"id"`
	Name  string `json:"name"`
	Email string `json:"email"`
}

// SessionOutput is POST /v1/session's answer.
type SessionOutput struct {
	Body Session
}

func (b *BFF) signIn(ctx context.Context, in *SignInInput) (*SessionOutput, error) {
	rc := reqCtx(ctx)
	var s signIn
	err := b.do(detach(ctx), rc, call{team: teamAccounts, method: http.MethodPost, path: "/v1/sessions",
		body: map[string]string{"email": in.Body.Email, "password": in.Body.Password}, timeout: signInTimeout}, &s)
	if err != nil {
		var te *teamError
		// A refused e-mail or password (accounts' 400: too short to be anyone's) is a wrong one too:
		// the answer does not depend on which rule it broke.
		if asTeamError(err, &te) && (te.status == http.StatusUnauthorized || te.status == http.StatusBadRequest) {
			return nil, huma.Error401Unauthorized("the e-mail or password is wrong")
		}
		return nil, primaryError(err)
	}
	return &SessionOutput{Body: Session{Token: s.Token, Expires: s.Expires.UTC(),
		Customer: Customer{ID: s.Customer.CustomerID, Name: s.Customer.Name, Email: s.Customer.Email}}}, nil
}

func (b *BFF) signOut(ctx context.Context, _ *struct{}) (*struct{}, error) {
	rc := reqCtx(ctx)
	err := b.do(detach(ctx), rc, call{team: teamAccounts, method: http.MethodDelete, path: "/v1/sessions",
		auth: "Bearer " + rc.token}, nil)
	b.tokens.forget(rc.token)
	if err != nil {
		return nil, primaryError(err)
	}
	return nil, nil
}

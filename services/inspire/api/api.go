// Package api is inspire's /v1 JSON API for the backends-for-frontend (never exposed by the shell):
//
//	GET /v1/recommendations?sku=AU-01-SI    up to four variants nearest in colour to the sku's
//
// It reads only inspire's own read model of decide's variants (filled by decide's events). Errors
// are RFC 9457 problem details (kit/server.Problem): 400 for a missing or malformed sku, 404 for a
// sku inspire does not know. Public data: no Inlay-Context needed.
package api

import (
	"strconv"
	"time"

	"github.com/gofiber/fiber/v2"

	"github.com/inlay-dev/inlay/services/inspire"
	"github.com/inlay-dev/inlay/services/kit/errs"
	"github.com/inlay-dev/inlay/services/kit/server"
)

// MaxAge is how long a recommendation answer may be cached (as the fragment's).
const MaxAge = 60 * time.Second

// Recommendation is a recommended variant. Image is empty when decide published none; draw the
// tractor in Color then.
type Recommendation struct {
	SKU         string `json:"sku"`
	ProductID   string `json:"productId"`
	ProductName string `json:"productName"`
	Name        string `json:"name"`
	Color       string `json:"color"`
	Price       int64  `json:"price"`
	Image       string `json:"image"`
	URL         string `json:"url"`
}

// Recommendations is GET /v1/recommendations' answer.
type Recommendations struct {
	SKU             string           `json:"sku"`
	Recommendations []Recommendation `json:"recommendations"`
}

// Handler serves the API.
type Handler struct{ store inspire.VariantStore }

// New returns the API on store (postgres.Store).
func New(store inspire.VariantStore) *Handler { return &Handler{store: store} }

// Mount adds the /v1 routes to r.
func (h *Handler) Mount(r fiber.Router) {
	v1 := r.Group("/v1", server.API(0))
	v1.Get("/recommendations", h.recommendations)
}

func (h *Handler) recommendations(c *fiber.Ctx) error {
	ctx := c.UserContext()
	values := c.Context().QueryArgs().PeekMulti("sku")
	if len(values) != 1 || !validSKU(string(values[0])) {
		return errs.Invalid("name one sku: letters, digits, - and _, at most 64",
			map[string]string{"sku": "must be one sku"})
	}
	sku := string(values[0])
	known, err := h.store.Variants(ctx, []string{sku})
	if err != nil {
		return err
	}
	if len(known) == 0 {
		return errs.Errorf(errs.ENOTFOUND, "sku %q not found", sku)
	}
	vs, err := inspire.Recommend(ctx, h.store, []string{sku})
	if err != nil {
		return err
	}
	out := Recommendations{SKU: sku, Recommendations: make([]Recommendation, 0, len(vs))}
	for _, v := range vs {
		out.Recommendations = append(out.Recommendations, Recommendation{SKU: v.SKU, ProductID: v.ProductID,
			ProductName: v.ProductName, Name: v.Name, Color: v.Color.Hex(), Price: v.Price, Image: v.Image, URL: v.URL()})
	}
	c.Set(fiber.HeaderCacheControl, "public, max-age="+strconv.Itoa(int(MaxAge.Seconds())))
	return c.JSON(out)
}

// validSKU reports whether s looks like a sku (letters, digits, dashes and underscores, at most 64
// bytes).
func validSKU(s string) bool {
	if s == "" || len(s) > 64 {
		return false
	}
	for i := 0; i < len(s); i++ {
		ch := s[i]
		if !(ch >= 'a' && ch <= 'z' || ch >= 'A' && ch <= 'Z' || ch >= '0' && ch <= '9' || ch == '-' || ch == '_') {
			return false
		}
	}
	return true
}

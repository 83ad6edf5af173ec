// Package api is decide's /v1 JSON API for other services and the backends-for-frontend:
//
//	GET  /v1/products                       every product, in catalog order
//	GET  /v1/products/{id}                  one product
//	GET  /v1/variants/{sku}                 one variant with its product's id and name
//	POST /v1/admin/variants/{sku}/price     {"price": 1234} with "Authorization: Bearer <admin token>"
//
// Errors are RFC 9457 problem details (kit/server.Problem: "code" is the kit's error code) with the
// matching status; bodies are limited to 16 KiB.
package api

import (
	"crypto/subtle"
	"encoding/json"
	"strings"

	"github.com/gofiber/fiber/v2"

	"github.com/inlay-dev/inlay/services/decide"
	"github.com/inlay-dev/inlay/services/kit/errs"
	"github.com/inlay-dev/inlay/services/kit/server"
)

// Product is a product as the API shows it.
type Product struct {
	ID         string    `json:"id"`
	Name       string    `json:"name"`
	Category   string    `json:"category"`
	Highlights []string  `json:"highlights"`
	Variants   []Variant `json:"variants"`
	Version    int64     `json:"version"`
	URL        string    `json:"url"`
}

// Variant is a variant as the API shows it.
type Variant struct {
	SKU         string `json:"sku"`
	Name        string `json:"name"`
	Color       string `json:"color"`
	Price       int64  `json:"price"`
	Image       string `json:"image"`
	Thumbnail   string `json:"thumbnail"`
	URL         string `json:"url"`
	ProductID   string `json:"productId,omitempty"`
	ProductName string `json:"productName,omitempty"`
}

// PriceRequest is the body of the price change.
type PriceRequest struct {
	Price *int64 `json:"price"`
}

// PriceResponse answers a price change.
type PriceResponse struct {
	ProductID string `json:"productId"`
	SKU       string `json:"sku"`
	OldPrice  int64  `json:"oldPrice"`
	Price     int64  `json:"price"`
	Version   int64  `json:"version"`
}

// Handler serves the API.
type Handler struct {
	products   decide.ProductReader
	prices     decide.PriceChanger
	images     decide.Images
	adminToken string
}

// New returns the API handler; adminToken guards the admin endpoints and must not be empty.
func New(products decide.ProductReader, prices decide.PriceChanger, images decide.Images, adminToken string) *Handler {
	return &Handler{products: products, prices: prices, images: images, adminToken: adminToken}
}

// Mount adds the routes to r.
func (h *Handler) Mount(r fiber.Router) {
	v1 := r.Group("/v1", server.API(0))
	v1.Get("/products", h.list)
	v1.Get("/products/:id", h.product)
	v1.Get("/variants/:sku", h.variant)
	v1.Post("/admin/variants/:sku/price", h.admin, h.changePrice)
}

func (h *Handler) list(c *fiber.Ctx) error {
	ps, err := h.products.Products(c.UserContext())
	if err != nil {
		return err
	}
	out := make([]Product, 0, len(ps))
	for _, p := range ps {
		out = append(out, h.product1(p))
	}
	return c.JSON(fiber.Map{"products": out})
}

func (h *Handler) product(c *fiber.Ctx) error {
	p, err := h.products.Product(c.UserContext(), c.Params("id"))
	if err != nil {
		return err
	}
	return c.JSON(h.product1(p))
}

func (h *Handler) variant(c *fiber.Ctx) error {
	sku := c.Params("sku")
	p, err := h.products.ProductBySKU(c.UserContext(), sku)
	if err != nil {
		return err
	}
	v, err := p.Variant(sku)
	if err != nil {
		return err
	}
	out := h.variant1(p, v)
	out.ProductID, out.ProductName = p.ID, p.Name
	return c.JSON(out)
}

// admin lets a request through only with the admin token as its bearer token.
func (h *Handler) admin(c *fiber.Ctx) error {
	token, ok := strings.CutPrefix(c.Get(fiber.HeaderAuthorization), "Bearer ")
	if !ok || h.adminToken == "" || subtle.ConstantTimeCompare([]byte(token), []byte(h.adminToken)) != 1 {
		c.Set(fiber.HeaderWWWAuthenticate, `Bearer realm="decide admin"`)
		return errs.Errorf(errs.EUNAUTHORIZED, "the admin token is missing or wrong")
	}
	return c.Next()
}

func (h *Handler) changePrice(c *fiber.Ctx) error {
	var req PriceRequest
	if err := json.Unmarshal(c.Body(), &req); err != nil || req.Price == nil {
		return errs.Errorf(errs.EINVALID, `the body must be {"price": <whole Ø, not negative>}`)
	}
	ch, err := h.prices.ChangePrice(c.UserContext(), c.Params("sku"), *req.Price)
	if err != nil {
		return err
	}
	return c.JSON(PriceResponse{ProductID: ch.ProductID, SKU: ch.SKU, OldPrice: ch.Old, Price: ch.New, Version: ch.Version})
}

func (h *Handler) product1(p decide.Product) Product {
	out := Product{ID: p.ID, Name: p.Name, Category: p.Category, Highlights: p.Highlights, Version: p.Version,
		URL: decide.ProductURL(p.ID), Variants: make([]Variant, 0, len(p.Variants))}
	if out.Highlights == nil {
		out.Highlights = []string{}
	}
	for _, v := range p.Variants {
		out.Variants = append(out.Variants, h.variant1(p, v))
	}
	return out
}

func (h *Handler) variant1(p decide.Product, v decide.Variant) Variant {
	return Variant{SKU: v.SKU, Name: v.Name, Color: v.Color, Price: v.Price,
		Image:     h.images.ImageURL(v.Color, decide.ImageLarge),
		Thumbnail: h.images.ImageURL(v.Color, decide.ImageSmall),
		URL:       decide.VariantURL(p.ID, v.SKU)}
}

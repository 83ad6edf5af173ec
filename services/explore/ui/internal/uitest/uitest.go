// Package uitest helps explore's fragment tests: it serves one handler with Fiber and parses the
// answer with goquery, and it fakes the catalog with function fields.
package uitest

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/PuerkitoBio/goquery"
	"github.com/gofiber/fiber/v2"

	"github.com/inlay-dev/inlay/services/explore"
	"github.com/inlay-dev/inlay/services/kit/errs"
	"github.com/inlay-dev/inlay/services/kit/server"
)

// Get serves h at path on a Fiber app with Inlay's error handler and requests target.
func Get(t *testing.T, path string, h fiber.Handler, target string) (*http.Response, *goquery.Document) {
	t.Helper()
	app := fiber.New(fiber.Config{ErrorHandler: func(c *fiber.Ctx, err error) error {
		return c.Status(server.Status(errs.Code(err))).SendString(err.Error())
	}})
	app.Get(path, h)
	res, err := app.Test(httptest.NewRequest(http.MethodGet, target, nil), -1)
	if err != nil {
		t.Fatalf("GET %s: %v", target, err)
	}
	body, err := io.ReadAll(res.Body)
	if err != nil {
		t.Fatalf("GET %s: %v", target, err)
	}
	doc, err := goquery.NewDocumentFromReader(strings.NewReader(string(body)))
	if err != nil {
		t.Fatalf("parse %s: %v", target, err)
	}
	return res, doc
}

// Texts returns the trimmed text of every element matching sel.
func Texts(doc *goquery.Document, sel string) []string {
	var out []string
	doc.Find(sel).Each(func(_ int, s *goquery.Selection) { out = append(out, strings.TrimSpace(s.Text())) })
	return out
}

// Catalog is a fake of explore's catalog; nil functions answer empty.
type Catalog struct {
	CategoriesFunc func(ctx context.Context) ([]explore.Category, error)
	ProductsFunc   func(ctx context.Context, category string, limit int) (explore.Listing, error)
	StoresFunc     func(ctx context.Context) ([]explore.Store, error)
	TeasersFunc    func(ctx context.Context) ([]explore.Teaser, error)
	SearchFunc     func(ctx context.Context, q string, limit int) ([]explore.ProductSummary, error)
}

// Categories calls CategoriesFunc.
func (c Catalog) Categories(ctx context.Context) ([]explore.Category, error) {
	if c.CategoriesFunc == nil {
		return nil, nil
	}
	return c.CategoriesFunc(ctx)
}

// Products calls ProductsFunc.
func (c Catalog) Products(ctx context.Context, category string, limit int) (explore.Listing, error) {
	if c.ProductsFunc == nil {
		return explore.Listing{}, nil
	}
	return c.ProductsFunc(ctx, category, limit)
}

// Stores calls StoresFunc.
func (c Catalog) Stores(ctx context.Context) ([]explore.Store, error) {
	if c.StoresFunc == nil {
		return nil, nil
	}
	return c.StoresFunc(ctx)
}

// Teasers calls TeasersFunc.
func (c Catalog) Teasers(ctx context.Context) ([]explore.Teaser, error) {
	if c.TeasersFunc == nil {
		return nil, nil
	}
	return c.TeasersFunc(ctx)
}

// Search calls SearchFunc.
func (c Catalog) Search(ctx context.Context, q string, limit int) ([]explore.ProductSummary, error) {
	if c.SearchFunc == nil {
		return nil, nil
	}
	return c.SearchFunc(ctx, q, limit)
}

// Categories returns the storefront's two categories.
func Categories() []explore.Category {
	return []explore.Category{
		{Key: "classic", Name: "Classics", Title: "Classic Tractors"},
		{Key: "autonomous", Name: "Autonomous", Title: "Autonomous Tractors"},
	}
}

// Stores returns the storefront's four stores.
func Stores() []explore.Store {
	return []explore.Store{
		{ID: "store-a", Name: "Aurora Flagship Store", Street: "Astronaut Way 1", City: "Arlington"},
		{ID: "store-b", Name: "Big Micro Machines", Street: "Broadway 2", City: "Burlington"},
		{ID: "store-c", Name: "Central Mall", Street: "Clown Street 3", City: "Cryo"},
		{ID: "store-d", Name: "Downtown Model Store", Street: "Duck Street 4", City: "Davenport"},
	}
}

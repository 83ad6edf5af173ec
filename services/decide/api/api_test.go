package api_test

import (
	"context"
	"encoding/json"
	"flag"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"

	"github.com/gofiber/fiber/v2"

	"github.com/inlay-dev/inlay/services/decide"
	"github.com/inlay-dev/inlay/services/decide/api"
	"github.com/inlay-dev/inlay/services/kit/errs"
	"github.com/inlay-dev/inlay/services/kit/kittest/apitest"
	"github.com/inlay-dev/inlay/services/kit/logging"
	"github.com/inlay-dev/inlay/services/kit/server"
)

type images struct{}

func (images) ImageURL(color string, size decide.ImageSize) string {
	return "/img/" + strings.TrimPrefix(color, "#") + "-" + string(size) + ".svg"
}

// store is a small in-memory fake of the product store.
type store struct {
	products []decide.Product
	changed  []decide.PriceChange
}

func (s *store) Products(context.Context) ([]decide.Product, error) { return s.products, nil }

func (s *store) Product(_ context.Context, id string) (decide.Product, error) {
	for _, p := range s.products {
		if p.ID == id {
			return p, nil
		}
	}
	return decide.Product{}, decide.ErrProductNotFound(id)
}

func (s *store) ProductBySKU(_ context.Context, sku string) (decide.Product, error) {
	for _, p := range s.products {
		if _, err := p.Variant(sku); err == nil && sku != "" {
			return p, nil
		}
	}
	return decide.Product{}, decide.ErrVariantNotFound(sku)
}

func (s *store) ChangePrice(ctx context.Context, sku string, price int64) (decide.PriceChange, error) {
	if price < 0 {
		return decide.PriceChange{}, errs.Errorf(errs.EINVALID, "negative")
	}
	p, err := s.ProductBySKU(ctx, sku)
	if err != nil {
		return decide.PriceChange{}, err
	}
	v, _ := p.Variant(sku)
	c := decide.PriceChange{ProductID: p.ID, SKU: sku, Old: v.Price, New: price, Version: p.Version + 1}
	s.changed = append(s.changed, c)
	return c, nil
}

func newApp() (*fiber.App, *store) {
	st := &store{products: []decide.Product{{ID: "AU-02", Name: "SmartFarm Titan", Category: "autonomous", Version: 1,
		Highlights: []string{"Advanced autopilot technology for precise farming operations."},
		Variants:   []decide.Variant{{SKU: "AU-02-OG", Name: "Sunset Copper", Color: "#dd5219", Price: 4100}}}}}
	s := server.New(server.Options{Name: "decide", Log: logging.New(io.Discard, "decide", slog.LevelError)})
	api.New(st, st, images{}, "secret").Mount(s.App)
	return s.App, st
}

func do(t *testing.T, app *fiber.App, method, target, token, body string) (int, map[string]any) {
	t.Helper()
	req := httptest.NewRequest(method, target, strings.NewReader(body))
	req.Header.Set("Accept", "application/json")
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := app.Test(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var out map[string]any
	if err := json.NewDecoder(resp.Body).Decode(&out); err != nil {
		t.Fatalf("%s %s: body is not JSON: %v", method, target, err)
	}
	return resp.StatusCode, out
}

func TestReads(t *testing.T) {
	t.Parallel()
	app, _ := newApp()
	tests := []struct {
		target string
		status int
		check  func(map[string]any) bool
	}{
		{"/v1/products", 200, func(m map[string]any) bool { return len(m["products"].([]any)) == 1 }},
		{"/v1/products/AU-02", 200, func(m map[string]any) bool {
			v := m["variants"].([]any)[0].(map[string]any)
			return m["name"] == "SmartFarm Titan" && v["image"] == "/img/dd5219-large.svg" && v["url"] == "/product/AU-02?sku=AU-02-OG"
		}},
		{"/v1/products/NOPE", 404, func(m map[string]any) bool { return m["code"] == "not_found" && m["status"] == float64(404) }},
		{"/v1/variants/AU-02-OG", 200, func(m map[string]any) bool {
			return m["productId"] == "AU-02" && m["price"] == float64(4100) && m["thumbnail"] == "/img/dd5219-small.svg"
		}},
		{"/v1/variants/NOPE", 404, func(map[string]any) bool { return true }},
	}
	for _, tt := range tests {
		status, body := do(t, app, http.MethodGet, tt.target, "", "")
		if status != tt.status || !tt.check(body) {
			t.Errorf("GET %s: %d %v", tt.target, status, body)
		}
	}
}

func TestChangePrice(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, sku, token, body string
		status                 int
	}{
		{"ok", "AU-02-OG", "secret", `{"price": 4200}`, 200},
		{"no token", "AU-02-OG", "", `{"price": 4200}`, 401},
		{"wrong token", "AU-02-OG", "guess", `{"price": 4200}`, 401},
		{"no price", "AU-02-OG", "secret", `{}`, 400},
		{"not json", "AU-02-OG", "secret", `price=1`, 400},
		{"fractional", "AU-02-OG", "secret", `{"price": 1.5}`, 400},
		{"negative", "AU-02-OG", "secret", `{"price": -1}`, 400},
		{"unknown sku", "NOPE", "secret", `{"price": 1}`, 404},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			app, st := newApp()
			status, body := do(t, app, http.MethodPost, "/v1/admin/variants/"+tt.sku+"/price", tt.token, tt.body)
			if status != tt.status {
				t.Fatalf("status %d, want %d: %v", status, tt.status, body)
			}
			if tt.status == 200 {
				if body["oldPrice"] != float64(4100) || body["price"] != float64(4200) || len(st.changed) != 1 {
					t.Errorf("response %v, changes %v", body, st.changed)
				}
			} else if len(st.changed) != 0 {
				t.Errorf("a refused request changed a price")
			}
		})
	}
}

var update = flag.Bool("update", false, "rewrite testdata/*.json from the current responses")

// TestExamples keeps testdata/*.json — the answers the BFFs decode — true to the handlers' real
// answers by shape, and decodable strictly into the API's types.
func TestExamples(t *testing.T) {
	t.Parallel()
	app, _ := newApp()
	for _, tt := range []struct {
		method, target, token, body, file string
		v                                 any
	}{
		{"GET", "/v1/products", "", "", "products.json", &struct {
			Products []api.Product `json:"products"`
		}{}},
		{"GET", "/v1/products/AU-02", "", "", "product.json", &api.Product{}},
		{"GET", "/v1/variants/AU-02-OG", "", "", "variant.json", &api.Variant{}},
		{"POST", "/v1/admin/variants/AU-02-OG/price", "secret", `{"price": 4200}`, "price.json", &api.PriceResponse{}},
	} {
		req := httptest.NewRequest(tt.method, tt.target, strings.NewReader(tt.body))
		if tt.token != "" {
			req.Header.Set("Authorization", "Bearer "+tt.token)
		}
		resp, err := app.Test(req)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 200 {
			t.Fatalf("%s %s: %d %s", tt.method, tt.target, resp.StatusCode, b)
		}
		path := filepath.Join("testdata", tt.file)
		apitest.Example(t, path, b, *update)
		apitest.Decode(t, path, tt.v)
	}
}

package api_test

import (
	"context"
	"flag"
	"io"
	"log/slog"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"

	"github.com/inlay-dev/inlay/services/inventory"
	"github.com/inlay-dev/inlay/services/inventory/api"
	"github.com/inlay-dev/inlay/services/kit/kittest/apitest"
	"github.com/inlay-dev/inlay/services/kit/logging"
	"github.com/inlay-dev/inlay/services/kit/server"
)

// store is a small in-memory fake of inventory's store.
type store struct{ stock map[string]int }

func (s *store) All(context.Context) ([]inventory.Stock, error) {
	return []inventory.Stock{{SKU: "A", Quantity: s.stock["A"], Version: 1}}, nil
}

func (s *store) Stock(_ context.Context, sku string) (inventory.Stock, error) {
	q, ok := s.stock[sku]
	if !ok {
		return inventory.Stock{}, inventory.ErrSKUNotFound(sku)
	}
	return inventory.Stock{SKU: sku, Quantity: q, Version: 1}, nil
}

func (s *store) Set(_ context.Context, sku string, q int) (inventory.Stock, error) {
	if err := inventory.ValidateQuantity(q); err != nil {
		return inventory.Stock{}, err
	}
	s.stock[sku] = q
	return inventory.Stock{SKU: sku, Quantity: q, Version: 2}, nil
}

func (s *store) Reservation(_ context.Context, id string) (string, []inventory.Line, error) {
	if id == "o1" {
		return inventory.StatusReserved, []inventory.Line{{SKU: "A", Quantity: 2}}, nil
	}
	return "", nil, nil
}

func TestAPI(t *testing.T) {
	t.Parallel()
	srv := server.New(server.Options{Name: "inventory", Log: logging.New(io.Discard, "inventory", slog.LevelError)})
	st := &store{stock: map[string]int{"A": 3}}
	api.New(st, "secret").Mount(srv.App)
	for _, tc := range []struct {
		method, path, token, body string
		code                      int
		want                      string
	}{
		{"GET", "/v1/stock", "", "", 200, `{"stock":[{"sku":"A","quantity":3,"version":1}]}`},
		{"GET", "/v1/stock/A", "", "", 200, `{"sku":"A","quantity":3,"version":1}`},
		{"GET", "/v1/stock/B", "", "", 404, `"code":"not_found"`},
		{"GET", "/v1/reservations/o1", "", "", 200, `{"order_id":"o1","status":"reserved","lines":[{"sku":"A","quantity":2}]}`},
		{"GET", "/v1/reservations/o2", "", "", 404, `"code":"not_found"`},
		{"POST", "/v1/admin/stock/A", "", `{"quantity":1}`, 401, `"code":"unauthorized"`},
		{"POST", "/v1/admin/stock/A", "Bearer nope", `{"quantity":1}`, 401, ""},
		{"POST", "/v1/admin/stock/A", "secret", `{"quantity":1}`, 401, ""},
		{"POST", "/v1/admin/stock/A", "Bearer secret", `{"quantity":"1"}`, 400, `"code":"invalid"`},
		{"POST", "/v1/admin/stock/A", "Bearer secret", `{"quantity":-4}`, 400, `"code":"invalid"`},
		{"POST", "/v1/admin/stock/A", "Bearer secret", `{"quantity":1}`, 200, `{"sku":"A","quantity":1,"version":2}`},
	} {
		req := httptest.NewRequest(tc.method, tc.path, strings.NewReader(tc.body))
		if tc.token != "" {
			req.Header.Set("Authorization", tc.token)
		}
		resp, err := srv.App.Test(req, -1)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != tc.code || !strings.Contains(string(b), tc.want) {
			t.Errorf("%s %s: %d %s; want %d with %s", tc.method, tc.path, resp.StatusCode, b, tc.code, tc.want)
		}
	}
	if st.stock["A"] != 1 {
		t.Errorf("stock A=%d after the admin change, want 1", st.stock["A"])
	}
}

var update = flag.Bool("update", false, "rewrite testdata/*.json from the current responses")

// TestExamples keeps testdata/*.json — the answers the BFFs and tools decode — true to the handlers'
// real answers by shape, and decodable strictly into the API's types.
func TestExamples(t *testing.T) {
	t.Parallel()
	srv := server.New(server.Options{Name: "inventory", Log: logging.New(io.Discard, "inventory", slog.LevelError)})
	api.New(&store{stock: map[string]int{"A": 3}}, "secret").Mount(srv.App)
	for _, tt := range []struct {
		method, target, token, body, file string
		v                                 any
	}{
		{"GET", "/v1/stock", "", "", "stock_all.json", &struct {
			Stock []api.Stock `json:"stock"`
		}{}},
		{"GET", "/v1/stock/A", "", "", "stock.json", &api.Stock{}},
		{"GET", "/v1/reservations/o1", "", "", "reservation.json", &api.Reservation{}},
		{"POST", "/v1/admin/stock/A", "Bearer secret", `{"quantity":2}`, "stock_set.json", &api.Stock{}},
	} {
		req := httptest.NewRequest(tt.method, tt.target, strings.NewReader(tt.body))
		if tt.token != "" {
			req.Header.Set("Authorization", tt.token)
		}
		resp, err := srv.App.Test(req, -1)
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

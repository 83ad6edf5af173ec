package load

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"
)

// inventoryAPI answers inventory's GET /v1/stock and POST /v1/admin/stock/{sku} (services/inventory/api)
// from a map, the admin endpoint only with the bearer token "secret".
type inventoryAPI struct {
	mu    sync.Mutex
	stock map[string]int
}

func (a *inventoryAPI) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	a.mu.Lock()
	defer a.mu.Unlock()
	type stock struct {
		SKU      string `json:"sku"`
		Quantity int    `json:"quantity"`
	}
	switch {
	case r.Method == http.MethodGet && r.URL.Path == "/v1/stock":
		var out []stock
		for _, sku := range slices.Sorted(func(yield func(string) bool) {
			for k := range a.stock {
				if !yield(k) {
					return
				}
			}
		}) {
			out = append(out, stock{sku, a.stock[sku]})
		}
		_ = json.NewEncoder(w).Encode(map[string]any{"stock": out})
	case r.Method == http.MethodPost && strings.HasPrefix(r.URL.Path, "/v1/admin/stock/"):
		if r.Header.Get("Authorization") != "Bearer secret" {
			http.Error(w, `{"error":{"code":"unauthorized"}}`, http.StatusUnauthorized)
			return
		}
		var req struct {
			Quantity *int `json:"quantity"`
		}
		if err := json.NewDecoder(r.Body).Decode(&req); err != nil || req.Quantity == nil || *req.Quantity < 0 {
			http.Error(w, `{"error":{"code":"invalid"}}`, http.StatusBadRequest)
			return
		}
		sku := strings.TrimPrefix(r.URL.Path, "/v1/admin/stock/")
		a.stock[sku] = *req.Quantity
		_ = json.NewEncoder(w).Encode(stock{sku, *req.Quantity})
	default:
		http.NotFound(w, r)
	}
}

func (a *inventoryAPI) get(sku string) int {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.stock[sku]
}

func (a *inventoryAPI) set(sku string, q int) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.stock[sku] = q
}

// TestStockGuard raises every sku's stock through inventory's admin API and sets it back to what it
// was, whatever the run bought meanwhile.
func TestStockGuard(t *testing.T) {
	inv := &inventoryAPI{stock: map[string]int{"A": 3, "B": 0, "C": 8}}
	srv := httptest.NewServer(inv)
	defer srv.Close()
	ctx := context.Background()

	if _, err := (Inventory{URL: srv.URL, Token: "wrong", Client: srv.Client()}).Raise(ctx, 100); err == nil {
		t.Fatal("raised the stock with a wrong admin token")
	}
	g, err := Inventory{URL: srv.URL, Token: "secret", Client: srv.Client()}.Raise(ctx, 100)
	if err != nil {
		t.Fatal(err)
	}
	if g.SKUs() != 3 || inv.get("A") != 103 || inv.get("B") != 100 || inv.get("C") != 108 {
		t.Fatalf("after Raise: %v (%d skus)", inv.stock, g.SKUs())
	}
	inv.set("A", 96) // bought during the run
	if err := g.Restore(ctx); err != nil {
		t.Fatal(err)
	}
	if inv.get("A") != 3 || inv.get("B") != 0 || inv.get("C") != 8 {
		t.Errorf("after Restore: %v, want A=3 B=0 C=8", inv.stock)
	}
	inv.set("A", 50)
	if err := g.Restore(ctx); err != nil || inv.get("A") != 50 {
		t.Errorf("a second Restore changed the stock (A=%d, %v)", inv.get("A"), err)
	}
}

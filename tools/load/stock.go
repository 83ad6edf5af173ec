package load

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"

	"golang.org/x/sync/errgroup"
)

// Inventory talks to inventory's /v1 API: it reads every sku's stock before a run and sets it with the
// admin endpoint, so a run's purchases never run the shop out and are given back at the end.
type Inventory struct {
	URL, Token string
	Client     *http.Client
}

// Stock is a sku's quantity.
type Stock struct {
	SKU      string `json:"sku"`
	Quantity int    `json:"quantity"`
}

// All returns the stock of every sku.
func (inv Inventory) All(ctx context.Context) ([]Stock, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, strings.TrimRight(inv.URL, "/")+"/v1/stock", nil)
	if err != nil {
		return nil, err
	}
	resp, err := inv.Client.Do(req)
	if err != nil {
		return nil, fmt.Errorf("inventory stock: %w", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		b, _ := io.ReadAll(io.LimitReader(resp.Body, 512))
		return nil, fmt.Errorf("inventory stock: %s: %s", resp.Status, b)
	}
	var all struct {
		Stock []Stock `json:"stock"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&all); err != nil {
		return nil, fmt.Errorf("inventory stock: %w", err)
	}
	return all.Stock, nil
}

// Set sets sku's stock to quantity.
func (inv Inventory) Set(ctx context.Context, sku string, quantity int) error {
	body, err := json.Marshal(map[string]int{"quantity": quantity})
	if err != nil {
		return err
	}
	u := strings.TrimRight(inv.URL, "/") + "/v1/admin/stock/" + sku
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, u, bytes.NewReader(body))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", "Bearer "+inv.Token)
	resp, err := inv.Client.Do(req)
	if err != nil {
		return fmt.Errorf("set stock of %s: %w", sku, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		b, _ := io.ReadAll(io.LimitReader(resp.Body, 512))
		return fmt.Errorf("set stock of %s: %s: %s", sku, resp.Status, b)
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	return nil
}

// SetAll sets every sku of stocks to its quantity plus add, a few at a time.
func (inv Inventory) SetAll(ctx context.Context, stocks []Stock, add int) error {
	g, ctx := errgroup.WithContext(ctx)
	g.SetLimit(8)
	for _, s := range stocks {
		g.Go(func() error { return inv.Set(ctx, s.SKU, s.Quantity+add) })
	}
	return g.Wait()
}

// StockGuard raises the stock before a run and puts back what it found after it.
type StockGuard struct {
	inv    Inventory
	skus   int
	mu     sync.Mutex
	before []Stock
}

// Raise reads every sku's stock and adds topUp to each.
func (inv Inventory) Raise(ctx context.Context, topUp int) (*StockGuard, error) {
	before, err := inv.All(ctx)
	if err != nil {
		return nil, err
	}
	g := &StockGuard{inv: inv, skus: len(before), before: before}
	if err := inv.SetAll(ctx, before, topUp); err != nil {
		// Put back what was raised before the failure.
		return nil, errors.Join(fmt.Errorf("raise stock: %w", err), g.Restore(context.WithoutCancel(ctx)))
	}
	return g, nil
}

// Restore sets every sku back to the quantity it had before Raise: the run's purchases are given back.
// It restores once; later calls do nothing.
func (g *StockGuard) Restore(ctx context.Context) error {
	g.mu.Lock()
	before := g.before
	g.before = nil
	g.mu.Unlock()
	if before == nil {
		return nil
	}
	return g.inv.SetAll(ctx, before, 0)
}

// SKUs is the number of skus the guard holds.
func (g *StockGuard) SKUs() int { return g.skus }

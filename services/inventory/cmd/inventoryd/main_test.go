package main

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/inlay-dev/inlay/services/inventory/seed"
	"github.com/inlay-dev/inlay/services/kit/config"
	"github.com/inlay-dev/inlay/services/kit/events"
	"github.com/inlay-dev/inlay/services/kit/kittest"
	"github.com/inlay-dev/inlay/services/kit/kittest/maintest"
)

// stockEvents counts the stock.changed events seen per sku and keeps the last quantity.
type stockEvents struct {
	mu    sync.Mutex
	count map[string]int
	last  map[string]int
	total int
}

func (s *stockEvents) snapshot() (int, map[string]int, map[string]int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	count, last := map[string]int{}, map[string]int{}
	for k, v := range s.count {
		count[k] = v
	}
	for k, v := range s.last {
		last[k] = v
	}
	return s.total, count, last
}

// probe listens to inventory's stock.changed like checkout would.
func probe(t *testing.T, ctx context.Context, p *maintest.Platform) *stockEvents {
	t.Helper()
	s := &stockEvents{count: map[string]int{}, last: map[string]int{}}
	p.Probe(ctx, func(_ context.Context, _ pgx.Tx, e events.Event) error {
		var d struct {
			SKU      string `json:"sku"`
			Quantity int    `json:"quantity"`
		}
		if err := json.Unmarshal(e.Data, &d); err != nil {
			return events.Permanent(err)
		}
		s.mu.Lock()
		defer s.mu.Unlock()
		s.count[d.SKU]++
		s.last[d.SKU] = d.Quantity
		s.total++
		return nil
	}, "inventory.stock.changed.v1")
	return s
}

// start runs inventoryd's wiring with cfg until the returned function stops it.
func start(t *testing.T, ctx context.Context, cfg Config) (base string, stop func()) {
	t.Helper()
	cfg.Addr = kittest.FreeAddr(t)
	stop = maintest.Run(t, ctx, cfg.Addr, func(ctx context.Context) error {
		return run(ctx, cfg, maintest.Log("inventory"), nil)
	})
	return "http://" + cfg.Addr, stop
}

func testConfig(t *testing.T, p *maintest.Platform) Config {
	t.Helper()
	cfg := maintest.Load[Config](t)
	p.Configure(&cfg.Common, "inventory")
	cfg.AdminToken = "test-token"
	return cfg
}

// TestInventoryd starts the real wiring: the seed publishes every sku's stock, the catch-up
// republishes it once checkout is ready, a restart publishes nothing again, and the API reads and
// (with the admin token) sets stock.
func TestInventoryd(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	p := maintest.New(t)
	got := probe(t, ctx, p)
	stock, err := seed.Stock()
	if err != nil {
		t.Fatal(err)
	}
	n := len(stock)

	// A checkout that becomes ready only when the test says so.
	readyNow := make(chan struct{})
	checkout := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		select {
		case <-readyNow:
		default:
			w.WriteHeader(http.StatusServiceUnavailable)
		}
	}))
	defer checkout.Close()
	cfg := testConfig(t, p)
	cfg.Teams = "checkout=" + checkout.URL + ",decide=http://127.0.0.1:1"

	base, stop := start(t, ctx, cfg)
	maintest.WaitFor(t, ctx, "the seed's events", func() bool { total, _, _ := got.snapshot(); return total >= n })
	close(readyNow)
	maintest.WaitFor(t, ctx, "the catch-up's events", func() bool { total, _, _ := got.snapshot(); return total >= 2*n })
	_, count, last := got.snapshot()
	for _, st := range stock {
		if count[st.SKU] != 2 || last[st.SKU] != st.Quantity {
			t.Errorf("%s: %d events, last %d; want 2 with %d", st.SKU, count[st.SKU], last[st.SKU], st.Quantity)
		}
	}

	for _, tc := range []struct {
		method, path, token, body string
		code                      int
		contains                  string
	}{
		{"GET", "/v1/stock/AU-01-SI", "", "", 200, `{"sku":"AU-01-SI","quantity":8,"version":1}`},
		{"GET", "/v1/stock/NOPE", "", "", 404, `"not_found"`},
		{"GET", "/v1/stock", "", "", 200, `{"sku":"AU-01-SI","quantity":8,"version":1}`},
		{"GET", "/v1/reservations/nobody", "", "", 404, ""},
		{"POST", "/v1/admin/stock/AU-01-SI", "", `{"quantity":2}`, 401, ""},
		{"POST", "/v1/admin/stock/AU-01-SI", "wrong", `{"quantity":2}`, 401, ""},
		{"POST", "/v1/admin/stock/AU-01-SI", "test-token", `{"quantity":-1}`, 400, ""},
		{"POST", "/v1/admin/stock/AU-01-SI", "test-token", `{}`, 400, ""},
		{"POST", "/v1/admin/stock/AU-01-SI", "test-token", `{"quantity":2}`, 200, `{"sku":"AU-01-SI","quantity":2,"version":2}`},
		{"POST", "/v1/admin/stock/AU-01-SI", "test-token", `{"quantity":2}`, 200, `"version":2`}, // unchanged
		{"POST", "/v1/admin/stock/NEW-SKU", "test-token", `{"quantity":5}`, 200, `{"sku":"NEW-SKU","quantity":5,"version":1}`},
	} {
		code, body := maintest.Call(ctx, tc.method, base+tc.path, tc.token, tc.body)
		if code != tc.code || !strings.Contains(body, tc.contains) {
			t.Errorf("%s %s: %d %s; want %d with %s", tc.method, tc.path, code, body, tc.code, tc.contains)
		}
	}
	maintest.WaitFor(t, ctx, "the admin changes' events", func() bool {
		_, count, last := got.snapshot()
		return count["AU-01-SI"] == 3 && last["AU-01-SI"] == 2 && count["NEW-SKU"] == 1
	})
	if code, body := maintest.Call(ctx, "GET", base+"/metrics", "", ""); code != 200 ||
		!strings.Contains(body, fmt.Sprintf("inlay_inventory_skus %d", n+1)) || !strings.Contains(body, "inlay_inventory_units ") {
		t.Errorf("inventory's metrics: %d\n%s", code, body)
	} else {
		maintest.LintMetrics(t, body)
	}
	stop()

	// A restart seeds nothing (the rows exist), so it publishes nothing and keeps the stock set by hand.
	cfg.Teams = "checkout=" + checkout.URL
	base, stop = start(t, ctx, cfg)
	defer stop()
	if code, body := maintest.Call(ctx, "GET", base+"/v1/stock/AU-01-SI", "", ""); code != 200 || !strings.Contains(body, `"quantity":2`) {
		t.Errorf("after restart: %d %s", code, body)
	}
	// The republish command writes every sku once more, and the running process relays it.
	if err := run(ctx, cfg, maintest.Log("inventory"), []string{"republish"}); err != nil {
		t.Fatal(err)
	}
	maintest.WaitFor(t, ctx, "the republished events", func() bool { total, _, _ := got.snapshot(); return total >= 3*n+2+1 })
	if total, _, _ := got.snapshot(); total != 3*n+2+1 {
		t.Errorf("%d events, want %d", total, 3*n+3)
	}
}

func TestCommands(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	cfg := testConfig(t, maintest.New(t))
	log := maintest.Log("inventory")
	for _, args := range [][]string{{"nope"}, {"seed", "x"}, {"republish", "x"}} {
		if err := run(ctx, cfg, log, args); err == nil {
			t.Errorf("inventoryd %v: no error", args)
		}
	}
	for range 2 {
		if err := run(ctx, cfg, log, []string{"seed"}); err != nil {
			t.Fatal(err)
		}
	}
	prod := cfg
	prod.Env, prod.AdminToken = "prod", config.DevAdminToken
	if err := run(ctx, prod, log, nil); err == nil || !strings.Contains(err.Error(), "INVENTORY_ADMIN_TOKEN") {
		t.Errorf("prod with the dev token: %v", err)
	}
}

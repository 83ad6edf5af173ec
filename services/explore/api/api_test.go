package api_test

import (
	"context"
	"encoding/json"
	"flag"
	"io"
	"log/slog"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"

	"github.com/inlay-dev/inlay/services/explore"
	"github.com/inlay-dev/inlay/services/explore/api"
	"github.com/inlay-dev/inlay/services/explore/postgres"
	"github.com/inlay-dev/inlay/services/explore/seed"
	kitevents "github.com/inlay-dev/inlay/services/kit/events"
	"github.com/inlay-dev/inlay/services/kit/kittest"
	"github.com/inlay-dev/inlay/services/kit/kittest/apitest"
	"github.com/inlay-dev/inlay/services/kit/server"
)

var update = flag.Bool("update", false, "rewrite testdata/*.json from the current responses")

var _ api.Catalog = (*postgres.Catalog)(nil)

// newApp mounts the API on a fresh database seeded with explore's categories and stores and the
// storefront catalog as decide's events would have filled it.
func newApp(t *testing.T) *server.Server {
	t.Helper()
	ctx := context.Background()
	pool := kittest.Postgres(t, postgres.Migrations())
	if err := kitevents.Migrate(ctx, pool); err != nil {
		t.Fatal(err)
	}
	data, err := seed.Load()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := postgres.NewSeeder(pool).Seed(ctx, data.Categories, data.Stores, data.Teasers); err != nil {
		t.Fatal(err)
	}
	c := postgres.NewCatalog(pool)
	b, err := os.ReadFile(filepath.Join("..", "postgres", "testdata", "products.json"))
	if err != nil {
		t.Fatal(err)
	}
	var products []struct {
		ID, Name, Category string
		Variants           []struct {
			SKU, Name, Color string
			Price            int64
		}
	}
	if err := json.Unmarshal(b, &products); err != nil {
		t.Fatal(err)
	}
	err = pgx.BeginFunc(ctx, pool, func(tx pgx.Tx) error {
		for _, p := range products {
			ch := explore.ProductChange{ID: p.ID, Name: p.Name, Category: p.Category, Variants: []explore.Variant{}}
			for _, v := range p.Variants {
				ch.Variants = append(ch.Variants, explore.Variant{SKU: v.SKU, Name: v.Name, Color: v.Color, Price: v.Price,
					Image: "/static/decide/img/" + v.SKU + ".svg"})
			}
			if err := c.ApplyProduct(ctx, tx, ch, 1); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	srv := server.New(server.Options{Name: "explore", Log: slog.New(slog.NewTextHandler(io.Discard, nil))})
	api.New(c).Mount(srv.App)
	return srv
}

func get(t *testing.T, srv *server.Server, target string, status int, v any) []byte {
	t.Helper()
	res, err := srv.App.Test(httptest.NewRequest("GET", target, nil), -1)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	if err != nil {
		t.Fatal(err)
	}
	if res.StatusCode != status {
		t.Fatalf("GET %s: %d %s, want %d", target, res.StatusCode, b, status)
	}
	if status >= 400 {
		var p server.Problem
		if ct := res.Header.Get("Content-Type"); ct != server.MIMEProblemJSON {
			t.Errorf("GET %s: Content-Type %q", target, ct)
		}
		if err := json.Unmarshal(b, &p); err != nil || p.Status != status || p.Detail == "" {
			t.Errorf("GET %s: problem %s (%v)", target, b, err)
		}
		v = nil
	}
	if v != nil {
		if err := json.Unmarshal(b, v); err != nil {
			t.Fatalf("GET %s: %s: %v", target, b, err)
		}
	}
	return b
}

func example(t *testing.T, name string, body []byte) {
	t.Helper()
	apitest.Example(t, filepath.Join("testdata", name), body, *update)
}

func TestCategories(t *testing.T) {
	t.Parallel()
	srv := newApp(t)
	var list api.Categories
	example(t, "categories.json", get(t, srv, "/v1/categories", 200, &list))
	if len(list.Categories) != 2 || list.Categories[0].Key != "classic" || list.Categories[1].Key != "autonomous" {
		t.Fatalf("categories = %+v", list)
	}
	for _, c := range list.Categories {
		if len(c.Products) != api.DefaultOverview || c.Total <= api.DefaultOverview || c.URL != "/products/"+c.Key {
			t.Errorf("%s: %d products of %d, %s", c.Key, len(c.Products), c.Total, c.URL)
		}
		for i, p := range c.Products {
			// The link goes to the variant the tile shows: the one the start price belongs to.
			sku, ok := strings.CutPrefix(p.URL, "/product/"+p.ID+"?sku=")
			if !ok || !strings.Contains(p.Image, sku) {
				t.Errorf("%s product %d links to %s, its image is %s", c.Key, i, p.URL, p.Image)
			}
			if p.Category != c.Key || p.Image == "" || p.StartPrice <= 0 ||
				i > 0 && p.StartPrice > c.Products[i-1].StartPrice {
				t.Errorf("%s product %d = %+v", c.Key, i, p)
			}
		}
	}
	get(t, srv, "/v1/categories?limit=0", 200, &list)
	if len(list.Categories[0].Products) != 0 || list.Categories[0].Total == 0 {
		t.Errorf("limit=0: %+v", list.Categories[0])
	}

	var page api.CategoryPage
	example(t, "category.json", get(t, srv, "/v1/categories/autonomous", 200, &page))
	total := page.Total
	if page.Key != "autonomous" || page.Title != "Autonomous Tractors" || len(page.Products) != min(total, api.DefaultPage) {
		t.Fatalf("category = %+v", page)
	}
	first := page.Products
	// Paging: two pages of two are the first four.
	var p1, p2 api.CategoryPage
	get(t, srv, "/v1/categories/autonomous?limit=2", 200, &p1)
	get(t, srv, "/v1/categories/autonomous?limit=2&offset=2", 200, &p2)
	if got := append(p1.Products, p2.Products...); len(got) != 4 || got[0] != first[0] || got[3] != first[3] || p2.Offset != 2 || p2.Total != total {
		t.Errorf("pages = %+v %+v", p1, p2)
	}
	var past api.CategoryPage
	get(t, srv, "/v1/categories/autonomous?offset=500", 200, &past)
	if len(past.Products) != 0 || past.Total != total {
		t.Errorf("past the end = %+v", past)
	}

	get(t, srv, "/v1/categories/nope", 404, nil)
	for _, q := range []string{"limit=0", "limit=101", "limit=-1", "limit=1.5", "limit=x", "offset=-1", "offset=501", "limit=2&limit=3"} {
		get(t, srv, "/v1/categories/autonomous?"+q, 400, nil)
	}
	get(t, srv, "/v1/categories?limit=25", 400, nil)
}

func TestStores(t *testing.T) {
	t.Parallel()
	srv := newApp(t)
	var s api.Stores
	example(t, "stores.json", get(t, srv, "/v1/stores", 200, &s))
	if len(s.Stores) != 4 || s.Stores[0] != (api.Store{ID: "store-a", Name: "Aurora Flagship Store", Street: "Astronaut Way 1", City: "Arlington"}) {
		t.Errorf("stores = %+v", s)
	}
}

func TestSearch(t *testing.T) {
	t.Parallel()
	srv := newApp(t)
	var r api.SearchResult
	example(t, "search.json", get(t, srv, "/v1/search?q=titan", 200, &r))
	if r.Query != "titan" || len(r.Products) == 0 || r.Products[0].ID != "AU-02" || r.More {
		t.Fatalf("search titan = %+v", r)
	}
	// Paging through everything "tractor" finds, one at a time, gives the first page of ten.
	var all api.SearchResult
	get(t, srv, "/v1/search?q=tractor&limit=10", 200, &all)
	if len(all.Products) < 3 {
		t.Fatalf("search tractor = %+v", all)
	}
	for i := range 3 {
		var one api.SearchResult
		get(t, srv, "/v1/search?q=tractor&limit=1&offset="+string(rune('0'+i)), 200, &one)
		if len(one.Products) != 1 || one.Products[0].ID != all.Products[i].ID || !one.More {
			t.Errorf("page %d = %+v", i, one)
		}
	}
	var none api.SearchResult
	get(t, srv, "/v1/search?q=zzzzqqq", 200, &none)
	if len(none.Products) != 0 || none.Products == nil || none.More {
		t.Errorf("no match = %+v", none)
	}
	long := make([]byte, api.MaxQueryLength+1)
	for i := range long {
		long[i] = 'a'
	}
	for _, q := range []string{"", "q=", "q=a&q=b", "q=" + string(long), "q=tractor&limit=0", "q=tractor&limit=51",
		"q=tractor&offset=501", "q=tractor&offset=-1", "q=tractor&limit=2.5"} {
		get(t, srv, "/v1/search?"+q, 400, nil)
	}
	// Invalid UTF-8 is refused at the edge (kit/server), as a problem body on /v1.
	get(t, srv, "/v1/search?q=%ff", 400, nil)
}

// TestExamplesDecode: every example decodes strictly into the API's types (no field they lack).
func TestExamplesDecode(t *testing.T) {
	t.Parallel()
	apitest.Decode(t, filepath.Join("testdata", "categories.json"), &api.Categories{})
	apitest.Decode(t, filepath.Join("testdata", "category.json"), &api.CategoryPage{})
	apitest.Decode(t, filepath.Join("testdata", "stores.json"), &api.Stores{})
	apitest.Decode(t, filepath.Join("testdata", "search.json"), &api.SearchResult{})
}

package postgres_test

import (
	"context"
	"encoding/json"
	"os"
	"slices"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/inlay-dev/inlay/services/explore"
	exploreevents "github.com/inlay-dev/inlay/services/explore/events"
	"github.com/inlay-dev/inlay/services/explore/postgres"
	"github.com/inlay-dev/inlay/services/explore/seed"
	"github.com/inlay-dev/inlay/services/kit/errs"
	kitevents "github.com/inlay-dev/inlay/services/kit/events"
	"github.com/inlay-dev/inlay/services/kit/kittest"
)

// mustCatalog returns a Catalog on a fresh, migrated and seeded database.
func mustCatalog(t testing.TB) (*postgres.Catalog, *pgxpool.Pool) {
	t.Helper()
	pool := kittest.Postgres(t, postgres.Migrations())
	if err := kitevents.Migrate(context.Background(), pool); err != nil {
		t.Fatal(err)
	}
	data, err := seed.Load()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := postgres.NewSeeder(pool).Seed(context.Background(), data.Categories, data.Stores, data.Teasers); err != nil {
		t.Fatal(err)
	}
	return postgres.NewCatalog(pool), pool
}

// storeEvents returns the store.changed events in the outbox, oldest first.
func storeEvents(t *testing.T, pool *pgxpool.Pool) []exploreevents.StoreChanged {
	t.Helper()
	rows, err := pool.Query(context.Background(), `SELECT body FROM inlay_outbox ORDER BY seq`)
	if err != nil {
		t.Fatal(err)
	}
	bodies, err := pgx.CollectRows(rows, pgx.RowTo[[]byte])
	if err != nil {
		t.Fatal(err)
	}
	var out []exploreevents.StoreChanged
	for _, b := range bodies {
		e, err := kitevents.Decode(b)
		if err != nil || e.Type != exploreevents.StoreChangedType || e.Source != "explore" {
			t.Fatalf("outbox row %s: %v", b, err)
		}
		var s exploreevents.StoreChanged
		if err := json.Unmarshal(e.Data, &s); err != nil || e.Subject != s.ID {
			t.Fatalf("store.changed %s: %v", e.Data, err)
		}
		out = append(out, s)
	}
	return out
}

// TestSeedPublishesStores: the first seed publishes every store at version 1, an unchanged seed
// publishes nothing, a changed store is published again at version 2, and RepublishStores publishes
// every store at its version.
func TestSeedPublishesStores(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	_, pool := mustCatalog(t)
	data, _ := seed.Load()
	if evs := storeEvents(t, pool); len(evs) != 4 || evs[0] != (exploreevents.StoreChanged{ID: "store-a",
		Name: "Aurora Flagship Store", Street: "Astronaut Way 1", City: "Arlington", Version: 1}) {
		t.Fatalf("first seed published %+v", evs)
	}
	s := postgres.NewSeeder(pool)
	if n, err := s.Seed(ctx, data.Categories, data.Stores, data.Teasers); err != nil || n != 0 {
		t.Fatalf("unchanged seed: %d changed, %v", n, err)
	}
	stores := slices.Clone(data.Stores)
	stores[1].Name = "Bigger Micro Machines"
	slices.Reverse(stores) // a new order alone is no change
	if n, err := s.Seed(ctx, data.Categories, stores, data.Teasers); err != nil || n != 1 {
		t.Fatalf("changed seed: %d changed, %v", n, err)
	}
	evs := storeEvents(t, pool)
	if len(evs) != 5 || evs[4].ID != "store-b" || evs[4].Name != "Bigger Micro Machines" || evs[4].Version != 2 {
		t.Fatalf("after a change: %+v", evs)
	}
	// A store seeded before explore published its stores (version 0) is published on the next seed.
	if _, err := pool.Exec(ctx, `UPDATE stores SET version = 0 WHERE id = 'store-c'`); err != nil {
		t.Fatal(err)
	}
	if n, err := s.Seed(ctx, data.Categories, stores, data.Teasers); err != nil || n != 1 {
		t.Fatalf("seed over an unpublished store: %d changed, %v", n, err)
	}
	if evs := storeEvents(t, pool); len(evs) != 6 || evs[5].ID != "store-c" || evs[5].Version != 1 {
		t.Fatalf("after an unpublished store: %+v", evs)
	}
	if n, err := s.RepublishStores(ctx); err != nil || n != 4 {
		t.Fatalf("RepublishStores = %d, %v", n, err)
	}
	evs = storeEvents(t, pool)
	if len(evs) != 10 || evs[6].ID != "store-d" || evs[8].Version != 2 {
		t.Fatalf("republished %+v", evs[6:])
	}
}

func mustApplyProduct(t testing.TB, pool *pgxpool.Pool, c *postgres.Catalog, p explore.ProductChange, version int64) {
	t.Helper()
	err := pgx.BeginFunc(context.Background(), pool, func(tx pgx.Tx) error {
		return c.ApplyProduct(context.Background(), tx, p, version)
	})
	if err != nil {
		t.Fatalf("apply product %s: %v", p.ID, err)
	}
}

func mustApplyPrice(t testing.TB, pool *pgxpool.Pool, c *postgres.Catalog, ch explore.PriceChange, version int64) {
	t.Helper()
	err := pgx.BeginFunc(context.Background(), pool, func(tx pgx.Tx) error {
		return c.ApplyPrice(context.Background(), tx, ch, version)
	})
	if err != nil {
		t.Fatalf("apply price %s: %v", ch.SKU, err)
	}
}

// mustLoadCatalog applies every product of testdata/products.json (the storefront catalog).
func mustLoadCatalog(t testing.TB, pool *pgxpool.Pool, c *postgres.Catalog) {
	t.Helper()
	b, err := os.ReadFile("testdata/products.json")
	if err != nil {
		t.Fatal(err)
	}
	var products []struct {
		ID, Name, Category string
		Highlights         []string
		Variants           []struct {
			SKU, Name, Color string
			Price            int64
		}
	}
	if err := json.Unmarshal(b, &products); err != nil {
		t.Fatal(err)
	}
	for _, p := range products {
		ch := explore.ProductChange{ID: p.ID, Name: p.Name, Category: p.Category, Highlights: p.Highlights,
			Variants: []explore.Variant{}}
		for _, v := range p.Variants {
			ch.Variants = append(ch.Variants, explore.Variant{SKU: v.SKU, Name: v.Name, Color: v.Color, Price: v.Price})
		}
		mustApplyProduct(t, pool, c, ch, 1)
	}
}

func ids(products []explore.ProductSummary) []string {
	out := make([]string, len(products))
	for i, p := range products {
		out[i] = p.ID
	}
	return out
}

func TestSeedIsIdempotent(t *testing.T) {
	t.Parallel()
	c, pool := mustCatalog(t)
	data, _ := seed.Load()
	if _, err := postgres.NewSeeder(pool).Seed(context.Background(), data.Categories, data.Stores, data.Teasers); err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	cats, err := c.Categories(ctx)
	if err != nil || len(cats) != 2 || cats[0].Key != "classic" || cats[1].Name != "Autonomous" {
		t.Fatalf("categories = %+v, %v", cats, err)
	}
	stores, err := c.Stores(ctx)
	if err != nil || len(stores) != 4 || stores[0].ID != "store-a" || stores[3].City != "Davenport" {
		t.Fatalf("stores = %+v, %v", stores, err)
	}
	teasers, err := c.Teasers(ctx)
	if err != nil || len(teasers) != 2 || teasers[1].URL != "/products/autonomous" {
		t.Fatalf("teasers = %+v, %v", teasers, err)
	}
}

func TestEmptyCategory(t *testing.T) {
	t.Parallel()
	c, _ := mustCatalog(t)
	l, err := c.Products(context.Background(), "classic", 10)
	if err != nil || len(l.Products) != 0 || l.Total != 0 {
		t.Errorf("a category without products: %+v, %v; want empty", l, err)
	}
	if _, err := c.Products(context.Background(), "hovercraft", 10); errs.Code(err) != errs.ENOTFOUND {
		t.Errorf("unknown category: %v, want ENOTFOUND", err)
	}
}

func TestProductsByCategory(t *testing.T) {
	t.Parallel()
	c, pool := mustCatalog(t)
	mustLoadCatalog(t, pool, c)
	ctx := context.Background()

	listing, err := c.Products(ctx, "", 100)
	if err != nil {
		t.Fatal(err)
	}
	all := listing.Products
	if len(all) != 23 || listing.Total != 23 {
		t.Fatalf("all products: %d of %d, want 23", len(all), listing.Total)
	}
	sorted := slices.Clone(all)
	explore.SortByStartPrice(sorted)
	if !slices.Equal(ids(sorted), ids(all)) {
		t.Errorf("the database's order %v is not SortByStartPrice's %v", ids(all), ids(sorted))
	}
	page, err := c.Products(ctx, "", 5)
	if err != nil || len(page.Products) != 5 || page.Total != 23 || !slices.Equal(ids(page.Products), ids(all[:5])) {
		t.Errorf("first 5: %v of %d, %v; want %v of 23", ids(page.Products), page.Total, err, ids(all[:5]))
	}
	if !slices.IsSortedFunc(all, func(a, b explore.ProductSummary) int { return int(b.StartPrice - a.StartPrice) }) {
		t.Errorf("not sorted by start price, highest first: %v", ids(all))
	}
	if all[0].ID != "AU-04" || all[0].StartPrice != 8500 || all[0].Color == "" {
		t.Errorf("first = %+v, want AU-04 from 8500", all[0])
	}

	for _, tc := range []struct {
		category string
		n        int
		first    string
	}{
		{"classic", 15, "CL-08"},
		{"autonomous", 8, "AU-04"},
	} {
		l, err := c.Products(ctx, tc.category, 100)
		if err != nil {
			t.Fatal(err)
		}
		got := l.Products
		if len(got) != tc.n || got[0].ID != tc.first {
			t.Errorf("%s: %d products starting %s, want %d starting %s", tc.category, len(got), got[0].ID, tc.n, tc.first)
		}
		for _, p := range got {
			if p.Category != tc.category {
				t.Errorf("%s lists %s of %s", tc.category, p.ID, p.Category)
			}
		}
	}

	if _, err := c.Products(ctx, "hovercraft", 100); errs.Code(err) != errs.ENOTFOUND {
		t.Errorf("unknown category: %v, want ENOTFOUND", err)
	}
}

func TestStartPriceFollowsPriceChanges(t *testing.T) {
	t.Parallel()
	c, pool := mustCatalog(t)
	ctx := context.Background()
	product := explore.ProductChange{ID: "CL-01", Name: "Heritage Workhorse", Category: "classic", Variants: []explore.Variant{
		{SKU: "CL-01-GR", Name: "Green", Color: "#6B8E23", Price: 5700},
		{SKU: "CL-01-GY", Name: "Grey", Color: "#808080", Price: 6200},
	}}
	mustApplyProduct(t, pool, c, product, 1)

	steps := []struct {
		name  string
		apply func()
		price int64
		color string
	}{
		{"created", func() {}, 5700, "#6B8E23"},
		{"grey cheaper", func() {
			mustApplyPrice(t, pool, c, explore.PriceChange{ProductID: "CL-01", SKU: "CL-01-GY", Price: 5000}, 3)
		}, 5000, "#808080"},
		{"same event again", func() {
			mustApplyPrice(t, pool, c, explore.PriceChange{ProductID: "CL-01", SKU: "CL-01-GY", Price: 5000}, 3)
		}, 5000, "#808080"},
		{"older price arrives late", func() {
			mustApplyPrice(t, pool, c, explore.PriceChange{ProductID: "CL-01", SKU: "CL-01-GY", Price: 9000}, 2)
		}, 5000, "#808080"},
		{"product update older than the price keeps the price", func() {
			mustApplyProduct(t, pool, c, product, 2)
		}, 5000, "#808080"},
		{"newer product update sets both prices", func() {
			mustApplyProduct(t, pool, c, product, 4)
		}, 5700, "#6B8E23"},
		{"older product update is ignored", func() {
			older := product
			older.Name = "Old Name"
			older.Variants = []explore.Variant{{SKU: "CL-01-GR", Price: 1}}
			mustApplyProduct(t, pool, c, older, 3)
		}, 5700, "#6B8E23"},
	}
	for _, s := range steps {
		s.apply()
		got, err := c.Product(ctx, "CL-01")
		if err != nil {
			t.Fatal(err)
		}
		if got.StartPrice != s.price || got.Color != s.color || got.Name != "Heritage Workhorse" {
			t.Errorf("%s: %+v, want from %d in %s", s.name, got, s.price, s.color)
		}
	}

	if _, err := c.Product(ctx, "XX-99"); errs.Code(err) != errs.ENOTFOUND {
		t.Errorf("unknown product: %v, want ENOTFOUND", err)
	}
}

func TestPriceBeforeProduct(t *testing.T) {
	t.Parallel()
	c, pool := mustCatalog(t)
	mustApplyPrice(t, pool, c, explore.PriceChange{ProductID: "AU-01", SKU: "AU-01-SI", Price: 900}, 3)
	mustApplyProduct(t, pool, c, explore.ProductChange{ID: "AU-01", Name: "TerraFirma AutoCultivator T-300", Category: "autonomous",
		Variants: []explore.Variant{{SKU: "AU-01-SI", Name: "Silver", Color: "#C0C0C0", Price: 1000}}}, 1)
	got, err := c.Product(context.Background(), "AU-01")
	if err != nil {
		t.Fatal(err)
	}
	if got.StartPrice != 900 {
		t.Errorf("start price %d, want the later 900", got.StartPrice)
	}
}

func TestVariantsRemovedByUpdate(t *testing.T) {
	t.Parallel()
	c, pool := mustCatalog(t)
	mustApplyProduct(t, pool, c, explore.ProductChange{ID: "AU-07", Name: "Verde Voyager", Category: "autonomous", Variants: []explore.Variant{
		{SKU: "AU-07-MT", Price: 4000}, {SKU: "AU-07-YE", Price: 5000}}}, 1)
	mustApplyProduct(t, pool, c, explore.ProductChange{ID: "AU-07", Name: "Verde Voyager", Category: "autonomous", Variants: []explore.Variant{
		{SKU: "AU-07-YE", Price: 5000}}}, 3)
	got, _ := c.Product(context.Background(), "AU-07")
	if got.StartPrice != 5000 {
		t.Errorf("start price %d, want 5000 once AU-07-MT is gone", got.StartPrice)
	}
	// An update without a variant list keeps the variants.
	mustApplyProduct(t, pool, c, explore.ProductChange{ID: "AU-07", Name: "Verde Voyager II", Category: "autonomous"}, 4)
	got, _ = c.Product(context.Background(), "AU-07")
	if got.StartPrice != 5000 || got.Name != "Verde Voyager II" {
		t.Errorf("after a name change: %+v", got)
	}
}

func TestSearch(t *testing.T) {
	t.Parallel()
	c, pool := mustCatalog(t)
	mustLoadCatalog(t, pool, c)
	ctx := context.Background()
	for _, tc := range []struct {
		q        string
		min, max int    // number of results; max -1 for no bound
		first    string // expected best hit, when set
		contains string // a product that must be among the hits, when set
		sku      string // the variant the first hit shows and links to ("" for the product)
	}{
		{q: "", min: 0, max: 0},
		{q: "  !!  ", min: 0, max: 0},
		{q: "tractor", min: 23, max: 23},
		{q: "tracter", min: 23, max: 23}, // typo: trigram correction to "tractors"
		{q: "Verde Voyager", min: 1, max: 1, first: "AU-07"},
		{q: "verde voyeger", min: 1, max: 1, first: "AU-07"}, // typo in the name
		{q: "voy", min: 1, max: 1, first: "AU-07"},           // prefix
		{q: "autonomus", min: 8, max: 8},                     // typo in the category
		{q: "classic tracter", min: 15, max: 15},
		{q: "falcon", min: 2, max: 2, contains: "CL-02"},
		{q: "silver", min: 1, max: -1, first: "AU-01", sku: "AU-01-SI"},
		{q: "magenta", min: 1, max: 1, first: "CL-08", sku: "CL-08-PI"}, // a colour: its variant, not the product's first
		{q: "hamster magenta", min: 1, max: 1, first: "CL-08", sku: "CL-08-PI"},
		{q: "submarine", min: 0, max: 0},
		{q: "AU-02", min: 1, max: 1, first: "AU-02"},                       // a product's id
		{q: " au-02-bl ", min: 1, max: 1, first: "AU-02", sku: "AU-02-BL"}, // a variant's sku
		{q: "ZZ-99", min: 0, max: 0},                                       // a code nothing has: the text search
		{q: "xqzjw", min: 0, max: 0},
	} {
		got, err := c.Search(ctx, tc.q, 50)
		if err != nil {
			t.Fatalf("%q: %v", tc.q, err)
		}
		if len(got) < tc.min || tc.max >= 0 && len(got) > tc.max {
			t.Errorf("%q: %d results %v, want %d..%d", tc.q, len(got), ids(got), tc.min, tc.max)
			continue
		}
		if tc.first != "" && (len(got) == 0 || got[0].ID != tc.first) {
			t.Errorf("%q: first of %v, want %s", tc.q, ids(got), tc.first)
		}
		if len(got) > 0 && got[0].SKU != tc.sku {
			t.Errorf("%q: the first hit shows variant %q, want %q", tc.q, got[0].SKU, tc.sku)
		}
		if len(got) > 0 && tc.sku != "" && (got[0].VariantName == "" || got[0].VariantPrice <= 0) {
			t.Errorf("%q: the variant shown has no name or price: %+v", tc.q, got[0])
		}
		if tc.contains != "" && !slices.Contains(ids(got), tc.contains) {
			t.Errorf("%q: %v lacks %s", tc.q, ids(got), tc.contains)
		}
	}
	if got, _ := c.Search(ctx, "tractor", 5); len(got) != 5 {
		t.Errorf("limit 5: %d results", len(got))
	}
}

// A price change waits for the product's row before it touches the variant: ApplyProduct locks the
// product and then its variants, so the opposite order deadlocked two consumer workers (40P01).
func TestApplyPriceLocksTheProductFirst(t *testing.T) {
	c, pool := mustCatalog(t)
	ctx := context.Background()
	mustApplyProduct(t, pool, c, explore.ProductChange{ID: "P1", Name: "Tractor", Category: "classic",
		Variants: []explore.Variant{{SKU: "P1-GN", Name: "Green", Color: "#0f0", Price: 1000}}}, 1)

	// Another worker is applying a change of P1: it holds the product's row.
	holder, err := pool.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = holder.Rollback(ctx) }()
	if _, err := holder.Exec(ctx, `SELECT 1 FROM products WHERE id = 'P1' FOR UPDATE`); err != nil {
		t.Fatal(err)
	}
	var holderPID int
	if err := holder.QueryRow(ctx, `SELECT pg_backend_pid()`).Scan(&holderPID); err != nil {
		t.Fatal(err)
	}

	done := make(chan error, 1)
	go func() {
		done <- pgx.BeginFunc(ctx, pool, func(tx pgx.Tx) error {
			return c.ApplyPrice(ctx, tx, explore.PriceChange{SKU: "P1-GN", ProductID: "P1", Price: 900}, 2)
		})
	}()
	// Wait until the price change is blocked behind the holder.
	for {
		var waiting bool
		if err := pool.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM pg_stat_activity
			WHERE $1 = ANY(pg_blocking_pids(pid)))`, holderPID).Scan(&waiting); err != nil {
			t.Fatal(err)
		}
		if waiting {
			break
		}
		select {
		case err := <-done:
			t.Fatalf("the price change finished while the product was locked: %v", err)
		case <-time.After(10 * time.Millisecond):
		}
	}
	// The holder now takes the variant, as ApplyProduct does next: it must not be locked already.
	if _, err := holder.Exec(ctx, `SELECT 1 FROM variants WHERE sku = 'P1-GN' FOR UPDATE NOWAIT`); err != nil {
		t.Fatalf("the price change locked the variant before the product (lock order inverted): %v", err)
	}
	if err := holder.Commit(ctx); err != nil {
		t.Fatal(err)
	}
	if err := <-done; err != nil {
		t.Fatalf("price change: %v", err)
	}
}

// Two consumer workers, each applying a batch of products in one transaction, once inserted new
// search terms that the other had inserted in the opposite order and deadlocked (40P01): tx1 adds
// "qqalpha" then waits for "qqbeta", which tx2 added before it waits for "qqalpha".
func TestConcurrentBatchesSharingNewWordsDoNotDeadlock(t *testing.T) {
	c, pool := mustCatalog(t)
	ctx := context.Background()
	product := func(id, name string) explore.ProductChange {
		return explore.ProductChange{ID: id, Name: name, Category: "classic"}
	}
	// The words every product shares (its category's) exist already: only the names are new.
	mustApplyProduct(t, pool, c, product("P0", "seed"), 1)

	tx1, err := pool.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = tx1.Rollback(ctx) }()
	var pid1 int
	if err := tx1.QueryRow(ctx, `SELECT pg_backend_pid()`).Scan(&pid1); err != nil {
		t.Fatal(err)
	}
	if err := c.ApplyProduct(ctx, tx1, product("P1", "qqalpha"), 1); err != nil {
		t.Fatal(err)
	}

	firstDone := make(chan struct{})
	tx2Err := make(chan error, 1)
	go func() {
		tx2Err <- pgx.BeginFunc(ctx, pool, func(tx pgx.Tx) error {
			if err := c.ApplyProduct(ctx, tx, product("P2", "qqbeta"), 1); err != nil {
				return err
			}
			close(firstDone)
			return c.ApplyProduct(ctx, tx, product("P4", "qqalpha"), 1)
		})
	}()
	// Go on once tx2 has applied its first product, or is waiting behind tx1.
	for waiting := false; !waiting; {
		select {
		case <-firstDone:
			waiting = true
			continue
		case err := <-tx2Err:
			t.Fatalf("tx2 ended before tx1 went on: %v", err)
		case <-time.After(10 * time.Millisecond):
		}
		if err := pool.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM pg_stat_activity WHERE $1 = ANY(pg_blocking_pids(pid)))`,
			pid1).Scan(&waiting); err != nil {
			t.Fatal(err)
		}
	}
	if err := c.ApplyProduct(ctx, tx1, product("P3", "qqbeta"), 1); err != nil {
		t.Fatalf("tx1's second product: %v", err)
	}
	if err := tx1.Commit(ctx); err != nil {
		t.Fatal(err)
	}
	if err := <-tx2Err; err != nil {
		t.Fatalf("tx2: %v", err)
	}
}

package api_test

import (
	"context"
	"encoding/json"
	"flag"
	"io"
	"log/slog"
	"net/http/httptest"
	"path/filepath"
	"testing"

	"github.com/jackc/pgx/v5"

	"github.com/inlay-dev/inlay/services/inspire"
	"github.com/inlay-dev/inlay/services/inspire/api"
	"github.com/inlay-dev/inlay/services/inspire/postgres"
	"github.com/inlay-dev/inlay/services/kit/kittest"
	"github.com/inlay-dev/inlay/services/kit/kittest/apitest"
	"github.com/inlay-dev/inlay/services/kit/server"
)

var update = flag.Bool("update", false, "rewrite testdata/*.json from the current responses")

var _ inspire.VariantStore = (*postgres.Store)(nil)

func variant(product, sku, hex string, price int64) inspire.Variant {
	c, err := inspire.ParseColor(hex)
	if err != nil {
		panic(err)
	}
	return inspire.Variant{SKU: sku, ProductID: product, ProductName: "Product " + product, Name: "Variant " + sku,
		Color: c, Price: price, Image: "/static/decide/img/" + sku + "-small.svg"}
}

// newApp mounts the API on a fresh read model holding a few variants, as decide's events fill it.
func newApp(t *testing.T) *server.Server {
	t.Helper()
	ctx := context.Background()
	pool := kittest.Postgres(t, postgres.Migrations())
	store := postgres.NewStore(pool)
	products := map[string][]inspire.Variant{
		"AU-01": {variant("AU-01", "AU-01-SI", "#c0c0c0", 1000)},
		"CL-03": {variant("CL-03", "CL-03-GY", "#a9a9a9", 2500), variant("CL-03", "CL-03-BK", "#111111", 2600)},
		"AU-02": {variant("AU-02", "AU-02-OG", "#dd5219", 4100), variant("AU-02", "AU-02-WH", "#ffffff", 4000)},
		"CL-05": {variant("CL-05", "CL-05-SL", "#b0b0b0", 3000)},
	}
	err := pgx.BeginFunc(ctx, pool, func(tx pgx.Tx) error {
		for id, vs := range products {
			if err := store.ApplyProduct(ctx, tx, id, 1, vs); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	srv := server.New(server.Options{Name: "inspire", Log: slog.New(slog.NewTextHandler(io.Discard, nil))})
	api.New(store).Mount(srv.App)
	return srv
}

func get(t *testing.T, srv *server.Server, target string) (int, []byte, string) {
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
	return res.StatusCode, b, res.Header.Get("Content-Type")
}

func TestRecommendations(t *testing.T) {
	t.Parallel()
	srv := newApp(t)
	status, body, _ := get(t, srv, "/v1/recommendations?sku=AU-01-SI")
	if status != 200 {
		t.Fatalf("%d %s", status, body)
	}
	apitest.Example(t, filepath.Join("testdata", "recommendations.json"), body, *update)
	var r api.Recommendations
	if err := json.Unmarshal(body, &r); err != nil {
		t.Fatal(err)
	}
	// Nearest to silver first: light grey, then slate; never the sku itself; at most four.
	var skus []string
	for _, v := range r.Recommendations {
		skus = append(skus, v.SKU)
	}
	if r.SKU != "AU-01-SI" || len(skus) != inspire.MaxRecommendations || skus[0] != "CL-05-SL" || skus[1] != "CL-03-GY" {
		t.Fatalf("recommendations = %v", skus)
	}
	first := r.Recommendations[0]
	if first != (api.Recommendation{SKU: "CL-05-SL", ProductID: "CL-05", ProductName: "Product CL-05", Name: "Variant CL-05-SL",
		Color: "#b0b0b0", Price: 3000, Image: "/static/decide/img/CL-05-SL-small.svg", URL: "/product/CL-05?sku=CL-05-SL"}) {
		t.Errorf("first = %+v", first)
	}

	for target, want := range map[string]int{
		"/v1/recommendations":                        400,
		"/v1/recommendations?sku=":                   400,
		"/v1/recommendations?sku=a,b":                400,
		"/v1/recommendations?sku=AU-01-SI&sku=CL-03": 400,
		"/v1/recommendations?sku=%3Cscript%3E":       400,
		"/v1/recommendations?sku=NOPE-01":            404,
		"/v1/recommendations?sku=%ff":                400,
		"/v1/nothing":                                404,
	} {
		status, body, ct := get(t, srv, target)
		var p server.Problem
		if status != want || ct != server.MIMEProblemJSON || json.Unmarshal(body, &p) != nil || p.Status != want || p.Detail == "" {
			t.Errorf("GET %s: %d %s %s, want %d with a problem body", target, status, ct, body, want)
		}
	}
}

func TestExamplesDecode(t *testing.T) {
	t.Parallel()
	apitest.Decode(t, filepath.Join("testdata", "recommendations.json"), &api.Recommendations{})
}

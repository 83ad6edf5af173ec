package ui_test

import (
	"context"
	"log/slog"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/inlay-dev/inlay/fragments"
	"github.com/inlay-dev/inlay/fragments/fragmenttest"
	"github.com/inlay-dev/inlay/services/explore/events"
	"github.com/inlay-dev/inlay/services/explore/postgres"
	"github.com/inlay-dev/inlay/services/explore/seed"
	"github.com/inlay-dev/inlay/services/explore/static"
	"github.com/inlay-dev/inlay/services/explore/ui"
	kitevents "github.com/inlay-dev/inlay/services/kit/events"
	"github.com/inlay-dev/inlay/services/kit/kittest"
	"github.com/inlay-dev/inlay/services/kit/server"
)

// startExplore serves explore's fragments from a real, seeded database holding decide's example
// product, on a free port, verifying contexts with signer's key. It returns the base URL.
func startExplore(t *testing.T, signer *fragments.Signer) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
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
	catalog := postgres.NewCatalog(pool)
	b, err := os.ReadFile(filepath.Join("..", "..", "decide", "events", "testdata", "product_created.json"))
	if err != nil {
		t.Fatal(err)
	}
	e, err := kitevents.Decode(b)
	if err != nil {
		t.Fatal(err)
	}
	if err := pgx.BeginFunc(ctx, pool, func(tx pgx.Tx) error {
		return events.NewHandlers(catalog).Product(ctx, tx, e)
	}); err != nil {
		t.Fatal(err)
	}

	assets, err := static.New(fragments.AssetURL(ui.Context, ""))
	if err != nil {
		t.Fatal(err)
	}
	log := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	srv := server.New(server.Options{Name: "explore", Log: log})
	if _, err := ui.Mount(srv.App, ui.Options{Catalog: catalog, Assets: assets,
		Verifier: fragments.NewVerifier(signer.PublicKey(), false)}); err != nil {
		t.Fatal(err)
	}
	runCtx, stop := context.WithCancel(context.Background())
	addrc := make(chan net.Addr, 1)
	done := make(chan error, 1)
	go func() { done <- srv.Serve(runCtx, "127.0.0.1:0", 5*time.Second, func(a net.Addr) { addrc <- a }) }()
	t.Cleanup(func() {
		stop()
		if err := <-done; err != nil {
			t.Errorf("serve: %v", err)
		}
	})
	select {
	case a := <-addrc:
		return "http://" + a.String()
	case err := <-done:
		t.Fatalf("serve: %v", err)
	case <-ctx.Done():
		t.Fatal("explore did not start")
	}
	return ""
}

// TestFragmentContract runs the fragment contract suite over every fragment explore's manifest
// declares, with each fragment's parameter variants.
func TestFragmentContract(t *testing.T) {
	t.Parallel()
	_, key, err := fragments.GenerateKey()
	if err != nil {
		t.Fatal(err)
	}
	signer := fragments.NewSigner(key)
	base := startExplore(t, signer)
	fragmenttest.Run(t, base, fragmenttest.Signer(signer), fragmenttest.IDPrefix("ex-"),
		fragmenttest.Params("category", url.Values{}),
		fragmenttest.Params("category", url.Values{"category": {"classic"}}),
		fragmenttest.Params("category", url.Values{"category": {"autonomous"}}),
		fragmenttest.Params("search", url.Values{}),
		fragmenttest.Params("search", url.Values{"q": {"tracter"}}),
		fragmenttest.Params("search", url.Values{"q": {"submarine"}}),
		fragmenttest.Params("store-picker", url.Values{}),
		fragmenttest.Params("store-picker", url.Values{"selected": {"store-b"}}),
	)
}

package main

import (
	"context"
	"io"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/inlay-dev/inlay/services/kit/config"
	"github.com/inlay-dev/inlay/services/kit/kittest"
	"github.com/inlay-dev/inlay/services/kit/logging"
	"github.com/inlay-dev/inlay/services/kit/postgres"
)

// TestBulk writes a generated catalogue into a fresh decide database: every product, its variants and
// one product.created event each in the outbox; a second run writes nothing; prod is refused.
func TestBulk(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	var cfg Config
	if err := config.Load(&cfg); err != nil {
		t.Fatal(err)
	}
	cfg.PostgresURL = kittest.PostgresURL()
	cfg.DBPrefix = kittest.UniqueName("t") + "_"
	dbURL, _ := cfg.DatabaseURL("decide")
	t.Cleanup(func() {
		cctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		_ = postgres.DropDatabase(cctx, dbURL)
	})
	log := logging.New(io.Discard, "decidebulk", slog.LevelError)
	args := []string{"-products", "120", "-variants", "3", "-batch", "50"}
	for range 2 {
		if err := run(ctx, cfg, log, args); err != nil {
			t.Fatalf("decidebulk %v: %v", args, err)
		}
	}
	pool, err := postgres.Open(ctx, postgres.Options{URL: dbURL})
	if err != nil {
		t.Fatal(err)
	}
	defer pool.Close()
	var products, variants, created, other int
	if err := pool.QueryRow(ctx, `SELECT (SELECT count(*) FROM products), (SELECT count(*) FROM variants),
		(SELECT count(*) FROM inlay_outbox WHERE type = 'decide.product.created.v1'),
		(SELECT count(*) FROM inlay_outbox WHERE type <> 'decide.product.created.v1')`).Scan(&products, &variants, &created, &other); err != nil {
		t.Fatal(err)
	}
	if products != 120 || variants != 360 || created != 120 || other != 0 {
		t.Errorf("after two runs: %d products, %d variants, %d product.created, %d other events; want 120, 360, 120, 0",
			products, variants, created, other)
	}

	for _, bad := range [][]string{{"-batch", "0"}, {"-variants", "0"}, {"-products", "x"}} {
		if err := run(ctx, cfg, log, bad); err == nil {
			t.Errorf("decidebulk %v succeeded", bad)
		}
	}
	cfg.Env = "prod"
	if err := run(ctx, cfg, log, args); err == nil || !strings.Contains(err.Error(), "INLAY_ENV=dev") {
		t.Errorf("decidebulk in prod: %v, want a refusal", err)
	}
}

package main

import (
	"bytes"
	"context"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/inlay-dev/inlay/services/kit/config"
	"github.com/inlay-dev/inlay/services/kit/kittest"
	"github.com/inlay-dev/inlay/services/kit/logging"
	"github.com/inlay-dev/inlay/services/kit/postgres"
)

type nopWriter struct{}

func (nopWriter) Write(p []byte) (int, error) { return len(p), nil }

func TestPartnersCommands(t *testing.T) {
	var cfg Config
	if err := config.Load(&cfg); err != nil {
		t.Fatal(err)
	}
	cfg.PostgresURL, cfg.DBPrefix = kittest.PostgresURL(), kittest.UniqueName("t")+"_"
	ctx, log := context.Background(), logging.New(nopWriter{}, "embed", slog.LevelError)
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		dbURL, err := cfg.DatabaseURL("embed")
		if err == nil {
			err = postgres.DropDatabase(ctx, dbURL)
		}
		if err != nil {
			t.Logf("drop test database: %v", err)
		}
	})
	run := func(args ...string) (string, error) {
		var out bytes.Buffer
		err := partners(ctx, cfg, log, args, &out)
		return out.String(), err
	}
	out, err := run("add", "acme", "-origins", "https://shop.example", "-fragments", "decide/product-card", "-rate", "60")
	if err != nil || !strings.Contains(out, "EMBED_PUBLISHABLE_KEY=pk_") || !strings.Contains(out, "EMBED_SECRET_KEY=sk_") {
		t.Fatalf("add: %v\n%s", err, out)
	}
	if _, err := run("add", "bad", "-origins", "https://shop.example/path", "-fragments", "decide/product-card"); err == nil {
		t.Error("add with an origin that has a path succeeded")
	}
	if _, err := run("add", "bad", "-fragments", "http://evil/x"); err == nil {
		t.Error("add with a URL as fragment succeeded")
	}
	if _, err := run("add", "acme", "-fragments", "decide/product-card"); err == nil {
		t.Error("add of an existing name succeeded")
	}
	if out, err := run("revoke", "acme"); err != nil || !strings.Contains(out, "revoked acme") {
		t.Fatalf("revoke: %v %s", err, out)
	}
	if _, err := run("revoke", "nobody"); err == nil {
		t.Error("revoke of an unknown partner succeeded")
	}
	out, err = run("list")
	if err != nil || !strings.Contains(out, "acme") || !strings.Contains(out, "true") || strings.Contains(out, "pk_") {
		t.Fatalf("list: %v\n%s", err, out)
	}
}

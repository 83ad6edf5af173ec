package kit_test

import (
	"context"
	"io"
	"log/slog"
	"net"
	"net/http"
	"testing"
	"testing/fstest"
	"time"

	"github.com/inlay-dev/inlay/services/kit"
	"github.com/inlay-dev/inlay/services/kit/config"
	"github.com/inlay-dev/inlay/services/kit/kittest"
	"github.com/inlay-dev/inlay/services/kit/postgres"
)

// TestStartServesReadiness starts a service the way a team's main does — its own database created
// in dev mode, migrated, Redis opened — and checks /readyz and shutdown.
func TestStartServesReadiness(t *testing.T) {
	var common config.Common
	if err := config.Load(&common); err != nil {
		t.Fatal(err)
	}
	common.DBPrefix = kittest.UniqueName("inlay_t") + "_"
	common.PostgresURL = kittest.PostgresURL()
	common.RedisURL = kittest.RedisURL()
	dbURL, err := common.DatabaseURL("svc")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = postgres.DropDatabase(context.Background(), dbURL) })

	ctx, cancel := context.WithCancel(context.Background())
	addrc := make(chan net.Addr, 1)
	svc, err := kit.Start(ctx, kit.Options{Name: "svc", Addr: "127.0.0.1:0", Common: common,
		Log: slog.New(slog.NewJSONHandler(io.Discard, nil)), Redis: true, Ready: func(a net.Addr) { addrc <- a },
		Migrations: fstest.MapFS{"00001_t.sql": {Data: []byte("-- +goose Up\nCREATE TABLE t (id int);\n")}}})
	if err != nil {
		t.Fatalf("Start: %v", err)
	}
	defer svc.Close()
	worked := make(chan struct{})
	svc.Go(func(ctx context.Context) error { close(worked); <-ctx.Done(); return ctx.Err() })
	done := make(chan error, 1)
	go func() { done <- svc.Run(ctx) }()
	addr := <-addrc
	<-worked

	client := &http.Client{Timeout: 5 * time.Second}
	resp, err := client.Get("http://" + addr.String() + "/readyz")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("readyz = %d", resp.StatusCode)
	}
	if _, err := svc.DB.Exec(ctx, "INSERT INTO t VALUES (1)"); err != nil {
		t.Fatalf("migration not applied: %v", err)
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatalf("Run: %v", err)
	}
}

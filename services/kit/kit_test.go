package kit_test

import (
	"context"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"testing"
	"testing/fstest"
	"time"

	"github.com/inlay-dev/inlay/services/kit"
	"github.com/inlay-dev/inlay/services/kit/config"
	"github.com/inlay-dev/inlay/services/kit/events"
	"github.com/inlay-dev/inlay/services/kit/kittest"
	"github.com/inlay-dev/inlay/services/kit/postgres"
	"github.com/jackc/pgx/v5"
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

// TestStartWiresEvents starts a service with its event tables, relay and consumer the way a team's
// main does, and checks that an event written to its outbox comes back through RabbitMQ to its
// consumer, and that /readyz waits for the consumer.
func TestStartWiresEvents(t *testing.T) {
	var common config.Common
	if err := config.Load(&common); err != nil {
		t.Fatal(err)
	}
	common.DBPrefix = kittest.UniqueName("inlay_t") + "_"
	common.PostgresURL, common.AMQPURL = kittest.PostgresURL(), kittest.AMQPURL()
	common.Exchange = kittest.Exchange(t)
	dbURL, err := common.DatabaseURL("svc")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = postgres.DropDatabase(context.Background(), dbURL) })

	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	addrc := make(chan net.Addr, 1)
	svc, err := kit.Start(ctx, kit.Options{Name: "svc", Addr: "127.0.0.1:0", Common: common,
		Log: slog.New(slog.NewJSONHandler(io.Discard, nil)), Ready: func(a net.Addr) { addrc <- a },
		Migrations: fstest.MapFS{"00001_t.sql": {Data: []byte("-- +goose Up\nCREATE TABLE t (id int);\n")}},
		Events:     true})
	if err != nil {
		t.Fatalf("Start: %v", err)
	}
	defer svc.Close()
	got := make(chan events.Event, 1)
	consumer := svc.Consumer(events.ConsumerOptions{})
	consumer.Handle("svc.thing.#", func(_ context.Context, _ pgx.Tx, e events.Event) error {
		got <- e
		return nil
	})
	t.Cleanup(func() {
		cctx, ccancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer ccancel()
		if err := consumer.DeleteQueues(cctx); err != nil {
			t.Logf("delete queues: %v", err)
		}
		if err := events.DeleteExchange(cctx, common.AMQPURL, common.Exchange); err != nil {
			t.Logf("delete exchange: %v", err)
		}
	})
	svc.Relay()
	runCtx, stop := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- svc.Run(runCtx) }()
	defer func() {
		stop()
		if err := <-done; err != nil {
			t.Errorf("Run: %v", err)
		}
	}()
	base := "http://" + (<-addrc).String()

	// Fully ready (/readyz?full=1: the plain /readyz degrades for RabbitMQ) only once the consumer
	// consumes: its queue is then bound, and the event reaches it.
	client := &http.Client{Timeout: 5 * time.Second}
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	for ready := false; !ready; {
		if resp, err := client.Get(base + "/readyz?full=1"); err == nil {
			resp.Body.Close()
			ready = resp.StatusCode == http.StatusOK
		}
		select {
		case <-ctx.Done():
			t.Fatal("the service never became ready")
		case <-tick.C:
		}
	}
	e, err := events.New("svc", "svc.thing.happened.v1", "thing-1", map[string]string{"what": "it"})
	if err != nil {
		t.Fatal(err)
	}
	if err := pgx.BeginFunc(ctx, svc.DB, func(tx pgx.Tx) error {
		return events.NewOutbox("svc").Add(ctx, tx, e)
	}); err != nil {
		t.Fatalf("the outbox table is missing: %v", err)
	}
	select {
	case h := <-got:
		if h.ID != e.ID {
			t.Errorf("handled %s, want %s", h.ID, e.ID)
		}
	case <-ctx.Done():
		t.Fatal("the event never reached the consumer")
	}
}

func TestStartFragmentsVerifier(t *testing.T) {
	log := slog.New(slog.NewJSONHandler(io.Discard, nil))
	_, err := kit.Start(context.Background(), kit.Options{Name: "svc", Common: config.Common{Env: "prod"}, Log: log,
		Fragments: &config.FragmentServer{}})
	if err == nil || !strings.Contains(err.Error(), "INLAY_SHELL_PUBLIC_KEY") {
		t.Errorf("prod without the shell's key: %v", err)
	}
	_, err = kit.Start(context.Background(), kit.Options{Name: "svc",
		Common: config.Common{Env: "prod"}, Log: log, Fragments: &config.FragmentServer{ShellPublicKey: "not base64"}})
	if err == nil || !strings.Contains(err.Error(), "INLAY_SHELL_PUBLIC_KEY") {
		t.Errorf("a bad key: %v", err)
	}
	_, err = kit.Start(context.Background(), kit.Options{Name: "svc", Common: config.Common{Env: "dev"}, Log: log,
		Fragments: &config.FragmentServer{EmbedPublicKey: "not base64"}})
	if err == nil || !strings.Contains(err.Error(), "INLAY_EMBED_PUBLIC_KEY") {
		t.Errorf("a bad key of embed's: %v", err)
	}
	svc, err := kit.Start(context.Background(), kit.Options{Name: "svc", Common: config.Common{Env: "dev"}, Log: log,
		Fragments: &config.FragmentServer{}})
	if err != nil || svc.Verifier == nil {
		t.Errorf("dev without a key: %v, verifier %v", err, svc)
	}
}

func TestCommand(t *testing.T) {
	commands := map[string]int{"serve": 0, "seed": 0, "price": 2}
	for _, tc := range []struct {
		args []string
		want string
		err  string
	}{
		{nil, "serve", ""},
		{[]string{"seed"}, "seed", ""},
		{[]string{"price", "SKU", "12"}, "price", ""},
		{[]string{"price", "SKU"}, "", "price takes 2 arguments, not 1"},
		{[]string{"seed", "extra"}, "", "seed takes 0 arguments, not 1"},
		{[]string{"frobnicate"}, "", `unknown command "frobnicate" (price, seed, serve)`},
	} {
		got, err := kit.Command(tc.args, commands)
		if got != tc.want || (err == nil) != (tc.err == "") || (err != nil && err.Error() != tc.err) {
			t.Errorf("Command(%q) = %q, %v; want %q, %s", tc.args, got, err, tc.want, tc.err)
		}
	}
}

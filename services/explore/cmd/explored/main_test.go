package main

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/inlay-dev/inlay/fragments"
	"github.com/inlay-dev/inlay/fragments/fragmenttest"
	exploreevents "github.com/inlay-dev/inlay/services/explore/events"
	"github.com/inlay-dev/inlay/services/kit/config"
	"github.com/inlay-dev/inlay/services/kit/events"
	"github.com/inlay-dev/inlay/services/kit/kittest"
	"github.com/inlay-dev/inlay/services/kit/logging"
	"github.com/inlay-dev/inlay/services/kit/postgres"
)

func waitFor(ctx context.Context, t *testing.T, what string, ok func() bool) {
	t.Helper()
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	for !ok() {
		select {
		case <-ctx.Done():
			t.Fatalf("waiting for %s: %v", what, ctx.Err())
		case <-tick.C:
		}
	}
}

// decidePublisher is decide's side of the exchange: an outbox in a database of its own and a relay.
func decidePublisher(ctx context.Context, t *testing.T, exchange string) func(...events.Event) {
	t.Helper()
	db := kittest.Postgres(t, nil)
	if err := events.Migrate(ctx, db); err != nil {
		t.Fatal(err)
	}
	relay := events.NewRelay(events.RelayOptions{Name: "decide", Pool: db, AMQPURL: kittest.AMQPURL(), Exchange: exchange,
		Log: logging.New(io.Discard, "decide", slog.LevelError), PollInterval: 100 * time.Millisecond})
	runCtx, stop := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- relay.Run(runCtx) }()
	t.Cleanup(func() { stop(); <-done })
	out := events.NewOutbox("decide")
	return func(es ...events.Event) {
		t.Helper()
		if err := pgx.BeginFunc(ctx, db, func(tx pgx.Tx) error {
			for _, e := range es {
				if err := out.Add(ctx, tx, e); err != nil {
					return err
				}
			}
			return nil
		}); err != nil {
			t.Fatal(err)
		}
	}
}

func decideExample(t *testing.T, name string) events.Event {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("..", "..", "..", "decide", "events", "testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	e, err := events.Decode(b)
	if err != nil {
		t.Fatal(err)
	}
	return e
}

// TestExplored starts the real process on a free port with its own database and exchange, and checks
// what the shell and decide rely on: readiness once the queue is bound, the manifest, signed fragments,
// assets, and decide's events turning into tiles and start prices.
func TestExplored(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()

	var cfg Config
	if err := config.Load(&cfg); err != nil {
		t.Fatal(err)
	}
	cfg.Env = "dev"
	cfg.PostgresURL = kittest.PostgresURL()
	cfg.AMQPURL = kittest.AMQPURL()
	cfg.DBPrefix = kittest.UniqueName("t") + "_"
	cfg.Addr = kittest.FreeAddr(t)
	cfg.Exchange = kittest.Exchange(t)
	pub, key, err := fragments.GenerateKey()
	if err != nil {
		t.Fatal(err)
	}
	cfg.ShellPublicKey = fragments.EncodePublicKey(pub)
	signer := fragments.NewSigner(key)
	purges := make(chan string, 64)
	shell := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		purges <- r.Method + " " + r.URL.Path + " " + r.Header.Get("Authorization") + " " + string(b)
		_, _ = w.Write([]byte(`{"purged":1}`))
	}))
	defer shell.Close()
	cfg.ShellURL, cfg.PurgeToken = shell.URL, "purge-token"

	runCtx, stop := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- run(runCtx, cfg, logging.New(io.Discard, "explore", slog.LevelError)) }()
	t.Cleanup(func() {
		stop()
		if err := <-done; err != nil {
			t.Errorf("explored: %v", err)
		}
		cctx, ccancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer ccancel()
		c := events.NewConsumer(events.ConsumerOptions{Name: exploreevents.ConsumerName, AMQPURL: cfg.AMQPURL, Exchange: cfg.Exchange})
		if err := c.DeleteQueues(cctx); err != nil {
			t.Logf("delete queues: %v", err)
		}
		if err := events.DeleteExchange(cctx, cfg.AMQPURL, cfg.Exchange); err != nil {
			t.Logf("delete exchange: %v", err)
		}
		dbURL, _ := cfg.DatabaseURL("explore")
		if err := postgres.DropDatabase(cctx, dbURL); err != nil {
			t.Logf("drop database: %v", err)
		}
	})

	base := "http://" + cfg.Addr
	client := &http.Client{Timeout: 5 * time.Second}
	get := func(path string, signed bool) (int, string) {
		t.Helper()
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, base+path, nil)
		if signed {
			h, err := signer.Sign(fragments.Context{Locale: "en", Expires: time.Now().Add(time.Minute)})
			if err != nil {
				t.Fatal(err)
			}
			req.Header.Set(fragments.ContextHeader, h)
		}
		res, err := client.Do(req)
		if err != nil {
			return 0, err.Error()
		}
		defer res.Body.Close()
		b, _ := io.ReadAll(res.Body)
		return res.StatusCode, string(b)
	}
	waitFor(ctx, t, "explored to be ready", func() bool { s, _ := get("/readyz", false); return s == http.StatusOK })

	publish := decidePublisher(ctx, t, cfg.Exchange)
	publish(decideExample(t, "product_created.json"), decideExample(t, "price_changed.json"))
	waitFor(ctx, t, "AU-02 from 4100 Ø", func() bool {
		_, body := get("/fragments/category?category=autonomous", true)
		return strings.Contains(body, `data-product-id="AU-02"`) && strings.Contains(body, "from 4100 Ø")
	})

	select {
	case got := <-purges:
		want := `POST /_inlay/purge Bearer purge-token {"targets":["explore/category","explore/search"]}`
		if got != want {
			t.Errorf("purge %q, want %q", got, want)
		}
	case <-ctx.Done():
		t.Fatal("the shell's listings were not purged after decide's changes")
	}

	if s, body := get("/fragments/search?q=smartfarm+titen", true); s != 200 || !strings.Contains(body, `data-product-id="AU-02"`) {
		t.Errorf("search with a typo: %d\n%s", s, body)
	}
	if s, _ := get("/fragments/category?category=hovercraft", true); s != http.StatusNotFound {
		t.Errorf("unknown category: %d", s)
	}
	// A forged context is refused even in dev mode.
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, base+"/fragments/header", nil)
	req.Header.Set(fragments.ContextHeader, "forged.context")
	if res, err := client.Do(req); err != nil || res.StatusCode != http.StatusUnauthorized {
		t.Errorf("forged context: %v %v", res, err)
	} else {
		res.Body.Close()
	}

	fragmenttest.Run(t, base, fragmenttest.Signer(signer), fragmenttest.AllowUnsigned(), fragmenttest.IDPrefix("ex-"),
		fragmenttest.Params("category", url.Values{"category": {"autonomous"}}),
		fragmenttest.Params("search", url.Values{"q": {"tracter"}}))
}

package main

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/inlay-dev/inlay/fragments"
	"github.com/inlay-dev/inlay/fragments/fragmenttest"
	"github.com/inlay-dev/inlay/services/kit/events"
	"github.com/inlay-dev/inlay/services/kit/kittest"
	"github.com/inlay-dev/inlay/services/kit/kittest/maintest"
	"github.com/inlay-dev/inlay/services/kit/postgres"
)

// probe listens on the exchange like another context would, collecting decide's events.
func probe(t *testing.T, ctx context.Context, p *maintest.Platform) <-chan events.Event {
	t.Helper()
	got := make(chan events.Event, 256)
	p.Probe(ctx, func(_ context.Context, _ pgx.Tx, e events.Event) error {
		got <- e
		return nil
	}, "decide.#")
	return got
}

func receive(t *testing.T, ctx context.Context, got <-chan events.Event) events.Event {
	t.Helper()
	select {
	case e := <-got:
		return e
	case <-ctx.Done():
		t.Fatalf("waiting for an event: %v", ctx.Err())
		return events.Event{}
	}
}

// TestDecided starts the real process wiring on a free port with its own database and exchange: it
// seeds the catalog, publishes product.created for every product through the outbox and RabbitMQ,
// passes the fragment contract suite, and publishes a price change made through the admin API.
func TestDecided(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	p := maintest.New(t)
	got := probe(t, ctx, p)

	pub, priv, err := fragments.GenerateKey()
	if err != nil {
		t.Fatal(err)
	}
	cfg := maintest.Load[Config](t)
	p.Configure(&cfg.Common, "decide")
	cfg.Addr = kittest.FreeAddr(t)
	cfg.ShellPublicKey = fragments.EncodePublicKey(pub)
	embedPub, embedPriv, err := fragments.GenerateKey()
	if err != nil {
		t.Fatal(err)
	}
	cfg.EmbedPublicKey = fragments.EncodePublicKey(embedPub)
	cfg.AdminToken = "test-token"
	// The catch-up republish waits for this consumer's readiness.
	consumer := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {}))
	defer consumer.Close()
	cfg.Teams, cfg.CatchUp = "inspire="+consumer.URL, true
	// Prod mode: the database must exist (it is not created) and every fragment request must carry a
	// signed context.
	cfg.Env = "prod"
	if err := postgres.CreateDatabase(ctx, p.DatabaseURL("decide")); err != nil {
		t.Fatal(err)
	}

	maintest.Run(t, ctx, cfg.Addr, func(ctx context.Context) error { return run(ctx, cfg, maintest.Log("decide"), nil) })
	base := "http://" + cfg.Addr

	// The seed's product.created for every product, then the catch-up's product.updated snapshots;
	// events of one product arrive in order, events of different products in any order.
	created, updated := map[string]bool{}, map[string]bool{}
	for len(created) < 23 || len(updated) < 23 {
		e := receive(t, ctx, got)
		switch {
		case e.Source != "decide":
			t.Fatalf("event from %s", e.Source)
		case e.Type == "decide.product.created.v1":
			created[e.Subject] = true
		case e.Type == "decide.product.updated.v1" && created[e.Subject]:
			updated[e.Subject] = true
		default:
			t.Fatalf("unexpected %s of %s (created before: %v)", e.Type, e.Subject, created[e.Subject])
		}
	}

	fragmenttest.Run(t, base, fragmenttest.Signer(fragments.NewSigner(priv)),
		fragmenttest.Params("product", url.Values{"id": {"AU-02"}, "sku": {"AU-02-BL"}}),
		fragmenttest.Params("product", url.Values{"id": {"CL-01"}, "sku": {"CL-01-GY"}}),
		fragmenttest.Params("product-card", url.Values{"sku": {"CL-01-GY"}}))
	// The Product Card as bff/embed asks for it: a guest context signed with embed's own key.
	fragmenttest.Run(t, base, fragmenttest.Signer(fragments.NewKeySigner(fragments.KeyEmbed, embedPriv)),
		fragmenttest.Params("product", url.Values{"id": {"AU-02"}, "sku": {"AU-02-BL"}}),
		fragmenttest.Params("product-card", url.Values{"sku": {"AU-02-BL"}}))

	if code, body := maintest.Call(ctx, http.MethodPost, base+"/v1/admin/variants/AU-02-BL/price", "test-token",
		`{"price": 4321}`); code != http.StatusOK {
		t.Fatalf("price change: %d %s", code, body)
	}
	e := receive(t, ctx, got)
	var pc struct {
		SKU   string `json:"sku"`
		Price int64  `json:"price"`
	}
	if err := json.Unmarshal(e.Data, &pc); err != nil {
		t.Fatal(err)
	}
	if e.Type != "decide.variant.price_changed.v1" || e.Subject != "AU-02" || pc.SKU != "AU-02-BL" || pc.Price != 4321 {
		t.Errorf("price event %s %s %+v", e.Type, e.Subject, pc)
	}
}

func TestCommands(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	p := maintest.New(t)
	cfg := maintest.Load[Config](t)
	p.Configure(&cfg.Common, "decide")
	dbURL := p.DatabaseURL("decide")
	log := maintest.Log("decide")
	for _, args := range [][]string{{"seed"}, {"seed"}, {"price", "CL-01-GY", "999"}, {"republish"}} {
		if err := run(ctx, cfg, log, args); err != nil {
			t.Fatalf("decided %v: %v", args, err)
		}
	}
	for _, args := range [][]string{{"price", "CL-01-GY"}, {"price", "CL-01-GY", "x"}, {"price", "NOPE", "1"}, {"frobnicate"}, {"seed", "extra"}} {
		if err := run(ctx, cfg, log, args); err == nil {
			t.Errorf("decided %v succeeded", args)
		}
	}
	pool, err := postgres.Open(ctx, postgres.Options{URL: dbURL})
	if err != nil {
		t.Fatal(err)
	}
	defer pool.Close()
	var events, price int
	if err := pool.QueryRow(ctx, `SELECT count(*) FROM inlay_outbox`).Scan(&events); err != nil {
		t.Fatal(err)
	}
	if err := pool.QueryRow(ctx, `SELECT price FROM variants WHERE sku = 'CL-01-GY'`).Scan(&price); err != nil {
		t.Fatal(err)
	}
	if events != 23+1+23 || price != 999 {
		t.Errorf("after seed, seed, price, republish: %d events, price %d; want 47 and 999", events, price)
	}
	cfg.Env = "prod"
	if err := run(ctx, cfg, log, []string{"seed"}); err == nil || !strings.Contains(err.Error(), "DECIDE_ADMIN_TOKEN") {
		t.Errorf("prod with the dev admin token: %v", err)
	}
}

package main

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/inlay-dev/inlay/fragments"
	"github.com/inlay-dev/inlay/fragments/fragmenttest"
	inspirepg "github.com/inlay-dev/inlay/services/inspire/postgres"
	"github.com/inlay-dev/inlay/services/kit/kittest"
	"github.com/inlay-dev/inlay/services/kit/kittest/maintest"
	"github.com/inlay-dev/inlay/services/kit/postgres"
)

// platform is inspire running in-process and decided running as its own process (built from its
// command: inspire imports nothing of decide's), sharing a fresh exchange and database prefix.
type platform struct {
	*maintest.Platform
	cfg    Config
	signer *fragments.Signer
	store  *inspirepg.Store
	decide *maintest.Process
	stop   func() // stops inspired
}

func startInspire(t *testing.T, ctx context.Context, cfg Config) func() {
	t.Helper()
	return maintest.Run(t, ctx, cfg.Addr, func(ctx context.Context) error { return run(ctx, cfg, maintest.Log("inspire")) })
}

func startPlatform(t *testing.T, ctx context.Context) *platform {
	t.Helper()
	pub, priv, err := fragments.GenerateKey()
	if err != nil {
		t.Fatal(err)
	}
	p := &platform{Platform: maintest.New(t), cfg: maintest.Load[Config](t), signer: fragments.NewSigner(priv)}
	p.Configure(&p.cfg.Common, "inspire")
	p.cfg.Addr = kittest.FreeAddr(t)
	p.cfg.ShellPublicKey = fragments.EncodePublicKey(pub)
	t0 := time.Now()
	p.stop = startInspire(t, ctx, p.cfg) // first, so its queue exists before decide publishes the seed
	t.Logf("inspired ready after %s", time.Since(t0).Round(time.Millisecond))

	pool, err := postgres.Open(ctx, postgres.Options{URL: p.DatabaseURL("inspire")})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(pool.Close)
	p.store = inspirepg.NewStore(pool)

	decideAddr := kittest.FreeAddr(t)
	p.decide = &maintest.Process{Bin: maintest.Build(t, ctx, "github.com/inlay-dev/inlay/services/decide/cmd/decided"),
		Addr: decideAddr, Env: append(p.Environ("decide"), "DECIDE_ADDR="+decideAddr, "DECIDE_ADMIN_TOKEN=test-token",
			"INLAY_TEAMS=inspire=http://"+p.cfg.Addr)} // decide's catch-up after the seed waits for this inspire
	p.decide.Start(t, ctx)
	return p
}

func (p *platform) variantPrice(t *testing.T, ctx context.Context, sku string) int64 {
	t.Helper()
	vs, err := p.store.Variants(ctx, []string{sku})
	if err != nil {
		t.Fatal(err)
	}
	if len(vs) == 0 {
		return -1
	}
	return vs[0].Price
}

func (p *platform) count(t *testing.T, ctx context.Context) int {
	t.Helper()
	n, err := p.store.Count(ctx)
	if err != nil {
		t.Fatal(err)
	}
	return n
}

// TestCatalogAndPriceChangeReachInspire: decide's seed fills inspire's read model through RabbitMQ,
// the fragment passes the contract suite, and a price changed through decide's admin API reaches
// inspire's read model; restarting inspire and republishing the catalog duplicate nothing.
func TestCatalogAndPriceChangeReachInspire(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	start := time.Now()
	phase := func(what string) { t.Logf("%s after %s", what, time.Since(start).Round(time.Millisecond)) }
	p := startPlatform(t, ctx)
	phase("platform started")

	maintest.WaitFor(t, ctx, "the 47 catalog variants in inspire's read model", func() bool { return p.count(t, ctx) == 47 })
	phase("catalog in inspire")
	if got := p.variantPrice(t, ctx, "AU-02-BL"); got != 4000 {
		t.Fatalf("AU-02-BL price %d, want the catalog's 4000", got)
	}

	base := "http://" + p.cfg.Addr
	fragmenttest.Run(t, base, fragmenttest.Signer(p.signer), fragmenttest.AllowUnsigned(),
		fragmenttest.Params("recommendations", url.Values{"skus": {"CL-01-GY,AU-07-MT"}}),
		fragmenttest.Params("recommendations", url.Values{"skus": {"AU-02-BL"}}))

	if code, body := maintest.Call(ctx, http.MethodPost, "http://"+p.decide.Addr+"/v1/admin/variants/AU-02-BL/price",
		"test-token", `{"price": 4321}`); code != http.StatusOK {
		t.Fatalf("price change: %d %s", code, body)
	}
	maintest.WaitFor(t, ctx, "the new price in inspire's read model", func() bool { return p.variantPrice(t, ctx, "AU-02-BL") == 4321 })
	phase("price change in inspire")

	// Restart inspire, then republish everything from decide (a consumer catching up): nothing
	// changes, nothing is duplicated, the newer price stays.
	p.stop()
	p.stop = startInspire(t, ctx, p.cfg)
	phase("inspire restarted")
	p.decide.Exec(t, ctx, "republish")
	p.decide.Exec(t, ctx, "price", "CL-01-GY", "7777") // a marker behind the republished events
	maintest.WaitFor(t, ctx, "the marker price", func() bool { return p.variantPrice(t, ctx, "CL-01-GY") == 7777 })
	phase("republished catalog and marker in inspire")
	if n := p.count(t, ctx); n != 47 {
		t.Errorf("%d variants after restart and republish, want 47", n)
	}
	if got := p.variantPrice(t, ctx, "AU-02-BL"); got != 4321 {
		t.Errorf("AU-02-BL price %d after republish, want 4321", got)
	}

	// The fragment shows what the read model holds.
	code, body := maintest.Call(ctx, http.MethodGet, base+"/fragments/recommendations?skus=AU-02-BL", "", "")
	if code != http.StatusOK {
		t.Fatalf("recommendations: %d %s", code, body)
	}
	if n := strings.Count(body, `data-testid="inspire-recommendation"`); n != 4 {
		t.Errorf("%d recommendations, want 4:\n%s", n, body)
	}
	if strings.Contains(body, `data-sku="AU-02-BL"`) {
		t.Error("the given sku is recommended")
	}
}

package main

import (
	"bytes"
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/inlay-dev/inlay/fragments"
	"github.com/inlay-dev/inlay/fragments/fragmenttest"
	inspirepg "github.com/inlay-dev/inlay/services/inspire/postgres"
	"github.com/inlay-dev/inlay/services/kit/config"
	"github.com/inlay-dev/inlay/services/kit/events"
	"github.com/inlay-dev/inlay/services/kit/kittest"
	"github.com/inlay-dev/inlay/services/kit/logging"
	"github.com/inlay-dev/inlay/services/kit/postgres"
)

// syncBuffer collects a process's output for the failure log.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

func waitFor(t *testing.T, ctx context.Context, what string, ok func() bool) {
	t.Helper()
	tick := time.NewTicker(25 * time.Millisecond)
	defer tick.Stop()
	for !ok() {
		select {
		case <-ctx.Done():
			t.Fatalf("waiting for %s: %v", what, ctx.Err())
		case <-tick.C:
		}
	}
}

// platform is inspire running in-process and decided running as its own process (built from its
// command: inspire imports nothing of decide's), sharing a fresh exchange and database prefix.
type platform struct {
	cfg    Config
	signer *fragments.Signer
	store  *inspirepg.Store
	decide string // decided's base URL
	stop   func() // stops inspired
}

func startInspire(t *testing.T, ctx context.Context, cfg Config) func() {
	t.Helper()
	runCtx, cancel := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- run(runCtx, cfg, logging.New(io.Discard, "inspire", slog.LevelError)) }()
	client := &http.Client{Timeout: 2 * time.Second}
	waitFor(t, ctx, "inspired to be ready (its queue bound)", func() bool {
		resp, err := client.Get("http://" + cfg.Addr + "/readyz")
		if err != nil {
			return false
		}
		resp.Body.Close()
		return resp.StatusCode == http.StatusOK
	})
	var once sync.Once
	stop := func() {
		once.Do(func() {
			cancel()
			if err := <-done; err != nil {
				t.Errorf("inspired: %v", err)
			}
		})
	}
	t.Cleanup(stop)
	return stop
}

func startPlatform(t *testing.T, ctx context.Context) *platform {
	t.Helper()
	exchange := kittest.Exchange(t)
	pub, priv, err := fragments.GenerateKey()
	if err != nil {
		t.Fatal(err)
	}
	var cfg Config
	if err := config.Load(&cfg); err != nil {
		t.Fatal(err)
	}
	cfg.PostgresURL, cfg.AMQPURL, cfg.Exchange = kittest.PostgresURL(), kittest.AMQPURL(), exchange
	cfg.DBPrefix = kittest.UniqueName("t") + "_"
	cfg.Addr = kittest.FreeAddr(t)
	cfg.ShellPublicKey = fragments.EncodePublicKey(pub)
	inspireURL, _ := cfg.DatabaseURL("inspire")
	decideURL, _ := cfg.DatabaseURL("decide")
	t.Cleanup(func() {
		cctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		c := events.NewConsumer(events.ConsumerOptions{Name: "inspire", AMQPURL: cfg.AMQPURL, Exchange: exchange})
		if err := c.DeleteQueues(cctx); err != nil {
			t.Logf("delete queues: %v", err)
		}
		if err := events.DeleteExchange(cctx, cfg.AMQPURL, exchange); err != nil {
			t.Logf("delete exchange: %v", err)
		}
		for _, u := range []string{inspireURL, decideURL} {
			if err := postgres.DropDatabase(cctx, u); err != nil {
				t.Logf("drop database: %v", err)
			}
		}
	})

	p := &platform{cfg: cfg, signer: fragments.NewSigner(priv)}
	t0 := time.Now()
	p.stop = startInspire(t, ctx, cfg) // first, so its queue exists before decide publishes the seed
	t.Logf("inspired ready after %s", time.Since(t0).Round(time.Millisecond))

	pool, err := postgres.Open(ctx, postgres.Options{URL: inspireURL})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(pool.Close)
	p.store = inspirepg.NewStore(pool)

	decideAddr := kittest.FreeAddr(t)
	p.decide = "http://" + decideAddr
	p.runDecide(t, ctx, []string{"DECIDE_ADDR=" + decideAddr}, true)
	return p
}

// runDecide builds and runs decided with args and the platform's settings; with serve it runs in
// the background until the test ends, otherwise it runs to completion.
func (p *platform) runDecide(t *testing.T, ctx context.Context, env []string, serve bool, args ...string) {
	t.Helper()
	bin := decidedBinary(t)
	cmd := exec.CommandContext(ctx, bin, args...)
	cmd.Env = append(os.Environ(), "INLAY_ENV=dev", "INLAY_DB_PREFIX="+p.cfg.DBPrefix,
		"INLAY_EXCHANGE="+p.cfg.Exchange, "POSTGRES_URL="+p.cfg.PostgresURL, "AMQP_URL="+p.cfg.AMQPURL,
		"DECIDE_ADMIN_TOKEN=test-token", "LOG_LEVEL=warn",
		"INLAY_TEAMS=inspire=http://"+p.cfg.Addr) // decide's catch-up after the seed waits for this inspire
	cmd.Env = append(cmd.Env, env...)
	out := &syncBuffer{}
	cmd.Stdout, cmd.Stderr = out, out
	cmd.Cancel = func() error { return cmd.Process.Signal(syscall.SIGTERM) }
	cmd.WaitDelay = 10 * time.Second
	if !serve {
		if err := cmd.Run(); err != nil {
			t.Fatalf("decided %v: %v\n%s", args, err, out)
		}
		return
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan struct{})
	go func() { _ = cmd.Wait(); close(exited) }()
	t.Cleanup(func() {
		_ = cmd.Process.Signal(syscall.SIGTERM)
		<-exited
		if t.Failed() {
			t.Logf("decided output:\n%s", out)
		}
	})
	client := &http.Client{Timeout: 2 * time.Second}
	waitFor(t, ctx, "decided to be ready", func() bool {
		select {
		case <-exited:
			t.Fatalf("decided exited:\n%s", out)
		default:
		}
		resp, err := client.Get(p.decide + "/readyz")
		if err != nil {
			return false
		}
		resp.Body.Close()
		return resp.StatusCode == http.StatusOK
	})
}

var (
	buildOnce sync.Once
	buildBin  string
	buildErr  error
	buildOut  []byte
)

// decidedBinary builds decide's command once per test binary.
func decidedBinary(t *testing.T) string {
	t.Helper()
	buildOnce.Do(func() {
		dir, err := os.MkdirTemp("", "inspire-test-decided")
		if err != nil {
			buildErr = err
			return
		}
		buildBin = filepath.Join(dir, "decided")
		cmd := exec.Command("go", "build", "-o", buildBin, "github.com/inlay-dev/inlay/services/decide/cmd/decided")
		buildOut, buildErr = cmd.CombinedOutput()
	})
	if buildErr != nil {
		t.Fatalf("build decided: %v\n%s", buildErr, buildOut)
	}
	return buildBin
}

func TestMain(m *testing.M) {
	code := m.Run()
	if buildBin != "" {
		os.RemoveAll(filepath.Dir(buildBin))
	}
	os.Exit(code)
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

	waitFor(t, ctx, "the 47 catalog variants in inspire's read model", func() bool { return p.count(t, ctx) == 47 })
	phase("catalog in inspire")
	if got := p.variantPrice(t, ctx, "AU-02-BL"); got != 4000 {
		t.Fatalf("AU-02-BL price %d, want the catalog's 4000", got)
	}

	base := "http://" + p.cfg.Addr
	fragmenttest.Run(t, base, fragmenttest.Signer(p.signer), fragmenttest.AllowUnsigned(),
		fragmenttest.Params("recommendations", url.Values{"skus": {"CL-01-GY,AU-07-MT"}}),
		fragmenttest.Params("recommendations", url.Values{"skus": {"AU-02-BL"}}))

	req, err := http.NewRequestWithContext(ctx, http.MethodPost, p.decide+"/v1/admin/variants/AU-02-BL/price",
		strings.NewReader(`{"price": 4321}`))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer test-token")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("price change: %d", resp.StatusCode)
	}
	waitFor(t, ctx, "the new price in inspire's read model", func() bool { return p.variantPrice(t, ctx, "AU-02-BL") == 4321 })
	phase("price change in inspire")

	// Restart inspire, then republish everything from decide (a consumer catching up): nothing
	// changes, nothing is duplicated, the newer price stays.
	p.stop()
	p.stop = startInspire(t, ctx, p.cfg)
	phase("inspire restarted")
	p.runDecide(t, ctx, nil, false, "republish")
	p.runDecide(t, ctx, nil, false, "price", "CL-01-GY", "7777") // a marker behind the republished events
	waitFor(t, ctx, "the marker price", func() bool { return p.variantPrice(t, ctx, "CL-01-GY") == 7777 })
	phase("republished catalog and marker in inspire")
	if n := p.count(t, ctx); n != 47 {
		t.Errorf("%d variants after restart and republish, want 47", n)
	}
	if got := p.variantPrice(t, ctx, "AU-02-BL"); got != 4321 {
		t.Errorf("AU-02-BL price %d after republish, want 4321", got)
	}

	// The fragment shows what the read model holds.
	hc := &http.Client{Timeout: 5 * time.Second}
	resp, err = hc.Get(base + "/fragments/recommendations?skus=AU-02-BL")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if n := strings.Count(string(body), `data-testid="inspire-recommendation"`); n != 4 {
		t.Errorf("%d recommendations, want 4:\n%s", n, body)
	}
	if strings.Contains(string(body), `data-sku="AU-02-BL"`) {
		t.Error("the given sku is recommended")
	}
}

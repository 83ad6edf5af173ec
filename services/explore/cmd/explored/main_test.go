package main

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/inlay-dev/inlay/fragments"
	"github.com/inlay-dev/inlay/fragments/fragmenttest"
	"github.com/inlay-dev/inlay/services/kit/events"
	"github.com/inlay-dev/inlay/services/kit/kittest"
	"github.com/inlay-dev/inlay/services/kit/kittest/maintest"
)

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

	p := maintest.New(t)
	cfg := maintest.Load[Config](t)
	p.Configure(&cfg.Common, "explore")
	cfg.Addr = kittest.FreeAddr(t)
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

	maintest.Run(t, ctx, cfg.Addr, func(ctx context.Context) error { return run(ctx, cfg, maintest.Log("explore")) })

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
	decide := p.Publisher(ctx, "decide")
	decide.Publish(decideExample(t, "product_created.json"), decideExample(t, "price_changed.json"))
	maintest.WaitFor(t, ctx, "AU-02 from 4100 Ø", func() bool {
		_, body := get("/fragments/category?category=autonomous", true)
		return strings.Contains(body, `data-product-id="AU-02"`) && strings.Contains(body, "from 4100 Ø")
	})

	select {
	case got := <-purges:
		// A product created: the listings; its price: every fragment tagged with the product.
		want := `POST /_inlay/purge Bearer purge-token {"targets":["explore/category","explore/search"],"tags":["product:AU-02"]}`
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

package purge_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"slices"
	"testing"
	"time"

	"github.com/inlay-dev/inlay/fragments/purge"
)

type request struct {
	auth    string
	targets []string
	tags    []string
}

func fakeShell(t *testing.T, status int) (string, <-chan request) {
	t.Helper()
	got := make(chan request, 16)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodPost || r.URL.Path != "/_inlay/purge" {
			http.NotFound(w, r)
			return
		}
		var body struct{ Targets, Tags []string }
		b, _ := io.ReadAll(r.Body)
		_ = json.Unmarshal(b, &body)
		got <- request{auth: r.Header.Get("Authorization"), targets: body.Targets, tags: body.Tags}
		w.WriteHeader(status)
		_, _ = w.Write([]byte(`{"purged":3}`))
	}))
	t.Cleanup(srv.Close)
	return srv.URL, got
}

func start(t *testing.T, p *purge.Purger) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- p.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("run: %v", err)
		}
	})
}

func receive(t *testing.T, got <-chan request) request {
	t.Helper()
	select {
	case r := <-got:
		return r
	case <-time.After(10 * time.Second): // a deadline for a broken test, not a timing assertion
		t.Fatal("no purge request")
		return request{}
	}
}

func TestABurstOfChangesPurgesTheListings(t *testing.T) {
	t.Parallel()
	url, got := fakeShell(t, http.StatusOK)
	p := purge.New(purge.Options{Whole: []string{"explore/category", "explore/search"}, ShellURL: url + "/", Token: "s3cret", Window: time.Millisecond,
		Log: slog.New(slog.NewTextHandler(io.Discard, nil))})
	for range 50 {
		p.Changed() // never blocks, even before Run
	}
	start(t, p)
	r := receive(t, got)
	if r.auth != "Bearer s3cret" || !slices.Equal(r.targets, []string{"explore/category", "explore/search"}) {
		t.Errorf("purge %+v", r)
	}
	select {
	case extra := <-got:
		t.Errorf("50 changes before Run made a second purge: %+v", extra)
	default:
	}
	p.Changed()
	receive(t, got)
}

// TestPriceChangesPurgeByTag: price changes purge the products' tags only, gathered into one
// request; a product change also purges the listings.
func TestPriceChangesPurgeByTag(t *testing.T) {
	t.Parallel()
	url, got := fakeShell(t, http.StatusOK)
	p := purge.New(purge.Options{Whole: []string{"explore/category", "explore/search"}, ShellURL: url, Window: time.Millisecond, Log: slog.New(slog.NewTextHandler(io.Discard, nil))})
	p.Changed("product:CL-01")
	p.Changed("product:AU-02")
	p.Changed("product:CL-01")
	start(t, p)
	r := receive(t, got)
	if len(r.targets) != 0 || !slices.Equal(r.tags, []string{"product:AU-02", "product:CL-01"}) {
		t.Errorf("price changes purged %+v, want the two products' tags only", r)
	}
	p.Changed()
	p.Changed("product:CL-01")
	r = receive(t, got)
	if !slices.Equal(r.targets, []string{"explore/category", "explore/search"}) || !slices.Equal(r.tags, []string{"product:CL-01"}) {
		t.Errorf("a product change purged %+v", r)
	}
}

func TestFailuresDoNotStopIt(t *testing.T) {
	t.Parallel()
	url, got := fakeShell(t, http.StatusForbidden)
	p := purge.New(purge.Options{Whole: []string{"explore/category", "explore/search"}, ShellURL: url, Window: time.Millisecond, Log: slog.New(slog.NewTextHandler(io.Discard, nil))})
	start(t, p)
	p.Changed()
	if r := receive(t, got); r.auth != "" {
		t.Errorf("no token configured, yet Authorization %q", r.auth)
	}
	p.Changed()
	receive(t, got)
}

func TestOffWithoutShellURL(t *testing.T) {
	t.Parallel()
	p := purge.New(purge.Options{})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- p.Run(ctx) }()
	p.Changed()
	cancel()
	if err := <-done; err != nil {
		t.Error(err)
	}
}

// TestTooManyTagsPurgeTheWhole: more tags in one window than one request may carry purge the Whole
// targets instead, so nothing the tags named stays stale.
func TestTooManyTagsPurgeTheWhole(t *testing.T) {
	t.Parallel()
	url, got := fakeShell(t, http.StatusOK)
	p := purge.New(purge.Options{Whole: []string{"checkout/add-to-cart"}, ShellURL: url, Window: time.Millisecond,
		Log: slog.New(slog.NewTextHandler(io.Discard, nil))})
	for i := range 501 {
		p.Changed(fmt.Sprintf("sku:S-%d", i))
	}
	start(t, p)
	if r := receive(t, got); !slices.Equal(r.targets, []string{"checkout/add-to-cart"}) || len(r.tags) != 0 {
		t.Errorf("501 tags purged %d targets %v and %d tags, want the whole add-to-cart", len(r.targets), r.targets, len(r.tags))
	}
}

package compose

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
	"time"

	"github.com/inlay-dev/inlay/fragments"
)

// A team still starting when the shell starts must not wait a whole refresh interval for its
// manifest to be read: pages would lack its assets until then.
func TestRunRetriesUnreadManifestsSoon(t *testing.T) {
	var up atomic.Bool
	var asked atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		asked.Add(1)
		if !up.Load() {
			http.Error(w, "starting", http.StatusServiceUnavailable)
			return
		}
		_ = json.NewEncoder(w).Encode(fragments.Manifest{Name: "t", Version: "1", Fragments: map[string]fragments.Fragment{"a": {}}})
	}))
	defer srv.Close()
	urls := fragments.Teams{"t": {srv.URL}}
	client, err := fragments.NewClient(fragments.ClientOptions{Teams: urls})
	if err != nil {
		t.Fatal(err)
	}
	defer client.Close()
	teams := NewTeams(client, urls, slog.New(slog.DiscardHandler))
	if err := teams.Refresh(context.Background(), time.Second); err == nil {
		t.Fatal("refresh of a starting team succeeded")
	}

	start := time.Now()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- teams.Run(ctx, time.Hour, time.Second) }()
	for asked.Load() < 2 { // the retry came, long before the hour
		waitABit(t, start)
	}
	up.Store(true)
	team, _ := teams.Team("t")
	for team.Version() != "1" {
		waitABit(t, start)
	}
	cancel()
	if err := <-done; !errors.Is(err, context.Canceled) {
		t.Fatalf("Run = %v, want context.Canceled", err)
	}
}

// waitABit yields to background work for a moment; the 30 s bound makes a missing retry a failure
// instead of a hang until the test binary's timeout (the refresh interval here is an hour).
func waitABit(t *testing.T, since time.Time) {
	t.Helper()
	if time.Since(since) > 30*time.Second {
		t.Fatal("the manifest was not read again before the refresh interval")
	}
	time.Sleep(10 * time.Millisecond)
}

//go:build e2e

package e2e

import (
	"errors"
	"net/http"
	"syscall"
	"testing"
	"time"
)

// TestStopAndRestart checks the harness's control of one process: a stopped team refuses
// connections (a team that is down), and a restarted one is ready again on the same address.
func TestStopAndRestart(t *testing.T) {
	t.Parallel()
	p := Start(t, Only("inventory"))
	url := p.URL(t, "inventory") + "/readyz"
	client := &http.Client{Timeout: 5 * time.Second}

	p.Stop(t, "inventory")
	if resp, err := client.Get(url); err == nil {
		resp.Body.Close()
		t.Fatalf("GET %s after Stop = %d, want connection refused", url, resp.StatusCode)
	} else if !errors.Is(err, syscall.ECONNREFUSED) {
		t.Fatalf("GET %s after Stop: %v, want connection refused", url, err)
	}

	p.Restart(t, "inventory")
	resp, err := client.Get(url)
	if err != nil {
		t.Fatalf("GET %s after Restart: %v", url, err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET %s after Restart = %d, want 200", url, resp.StatusCode)
	}
}

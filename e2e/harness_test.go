//go:build e2e

package e2e

import (
	"errors"
	"net/http"
	"strings"
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

// TestLogBufferKeepsWarnings: a process's WARN and ERROR lines are kept from its start, whole, however
// its writes cut them, after the tail has moved past them; other lines, and lines too long to be log
// lines, are not.
func TestLogBufferKeepsWarnings(t *testing.T) {
	t.Parallel()
	b := &logBuffer{max: 64}
	write := func(s string) { _, _ = b.Write([]byte(s)) }
	warn := `{"level":"WARN","msg":"primary fragment failed","error":"deadline"}` + "\n"
	write(`{"level":"INFO","msg":"listening"}` + "\n" + warn[:20])
	write(warn[20:] + `{"level":"INFO","msg":"req`)
	write("uest\"}\nlevel=ERROR msg=exit\n")
	for range 10 {
		write(`{"level":"INFO","msg":"request"}` + "\n")
	}
	// A line longer than the buffer is no log line, whatever its end says; the last line counts
	// before its newline.
	write(strings.Repeat("x", 100))
	write(`"level":"WARN"` + "\n" + "fatal error: out of memory")
	if got, want := b.notices(), warn+"level=ERROR msg=exit\nfatal error: out of memory\n"; got != want {
		t.Errorf("notices = %q, want %q", got, want)
	}
	if tail := b.tail(); len(tail) > 64 || strings.Contains(tail, "primary") {
		t.Errorf("tail = %q: want at most 64 bytes, past the warning", tail)
	}
}

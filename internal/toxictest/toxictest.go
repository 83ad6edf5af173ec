// Package toxictest runs toxiproxy (the pinned Go tool github.com/Shopify/toxiproxy/v2/cmd/server)
// as a process for fault tests: a proxy in front of any TCP server, with toxics (latency, a hang, a
// drip, a reset) and whole outages (a disabled proxy refuses connections) set through toxiproxy's
// own client. Running it as a process keeps its goroutines and connections out of the test's own,
// so a goroutine-leak check of the code under test sees only that code.
package toxictest

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	toxiproxy "github.com/Shopify/toxiproxy/v2/client"
)

// Tool is the toxiproxy server's package, pinned by the tool directive in go.mod.
const Tool = "github.com/Shopify/toxiproxy/v2/cmd/server"

const (
	buildTimeout = 3 * time.Minute  // the first build of the tool on a busy machine
	startTimeout = 30 * time.Second // from exec to its API answering
	pollInterval = 20 * time.Millisecond
)

// Server is a running toxiproxy.
type Server struct {
	// API is toxiproxy's client, for anything this package does not wrap.
	API *toxiproxy.Client
}

var (
	binOnce sync.Once
	binPath string
	binErr  error
)

// binary returns the path of the built tool (go tool -n builds it once into the build cache).
func binary() (string, error) {
	binOnce.Do(func() {
		ctx, cancel := context.WithTimeout(context.Background(), buildTimeout)
		defer cancel()
		out, err := exec.CommandContext(ctx, "go", "tool", "-n", Tool).Output()
		if err != nil {
			var ee *exec.ExitError
			if errors.As(err, &ee) {
				err = fmt.Errorf("%w: %s", err, ee.Stderr)
			}
			binErr = fmt.Errorf("build %s: %w", Tool, err)
			return
		}
		binPath = strings.TrimSpace(string(out))
	})
	return binPath, binErr
}

// Start starts a toxiproxy on a free loopback port and stops it when t ends.
func Start(t testing.TB) *Server {
	t.Helper()
	bin, err := binary()
	if err != nil {
		t.Fatal(err)
	}
	port, err := freePort()
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(bin, "-host", "127.0.0.1", "-port", port) //nolint:gosec // G204: bin is the pinned tool that go tool -n built
	var logs strings.Builder
	var mu sync.Mutex
	cmd.Stdout = lockedWriter{&mu, &logs}
	cmd.Stderr = lockedWriter{&mu, &logs}
	cmd.Env = append(os.Environ(), "LOG_LEVEL=warn")
	// Killed with the test binary, so a test killed by its timeout leaves nothing behind.
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		t.Fatalf("start toxiproxy: %v", err)
	}
	exited := make(chan struct{})
	go func() {
		_ = cmd.Wait()
		close(exited)
	}()
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		<-exited
	})
	s := &Server{API: toxiproxy.NewClient("127.0.0.1:" + port)}
	deadline := time.Now().Add(startTimeout)
	for {
		if _, err := s.API.Version(); err == nil {
			return s
		} else if time.Now().After(deadline) {
			mu.Lock()
			defer mu.Unlock()
			t.Fatalf("toxiproxy not answering on port %s within %s: %v\n%s", port, startTimeout, err, logs.String())
		}
		select {
		case <-exited:
			mu.Lock()
			defer mu.Unlock()
			t.Fatalf("toxiproxy exited at start:\n%s", logs.String())
		case <-time.After(pollInterval):
		}
	}
}

// Proxy is one proxy: Addr listens and forwards to its upstream through its toxics.
type Proxy struct {
	*toxiproxy.Proxy
	// Addr is the proxy's listen address, 127.0.0.1:port.
	Addr string
}

// Proxy creates a proxy named name on a free loopback port in front of upstream (host:port).
func (s *Server) Proxy(t testing.TB, name, upstream string) *Proxy {
	t.Helper()
	p, err := s.API.CreateProxy(name, "127.0.0.1:0", upstream)
	if err != nil {
		t.Fatalf("toxiproxy: create proxy %s → %s: %v", name, upstream, err)
	}
	return &Proxy{Proxy: p, Addr: p.Listen}
}

// Toxic adds a toxic to the proxy's downstream (upstream's answers to the client) and returns a
// function that removes it.
func (p *Proxy) Toxic(t testing.TB, typ string, attrs toxiproxy.Attributes) func() {
	return p.ToxicOn(t, "downstream", typ, attrs)
}

// ToxicOn adds a toxic on stream ("upstream" or "downstream") and returns a function that removes it.
func (p *Proxy) ToxicOn(t testing.TB, stream, typ string, attrs toxiproxy.Attributes) func() {
	t.Helper()
	name := typ + "_" + stream
	if _, err := p.AddToxic(name, typ, stream, 1, attrs); err != nil {
		t.Fatalf("toxiproxy: add %s to %s: %v", name, p.Name, err)
	}
	return func() {
		t.Helper()
		if err := p.RemoveToxic(name); err != nil {
			t.Fatalf("toxiproxy: remove %s from %s: %v", name, p.Name, err)
		}
	}
}

// Down disables the proxy: its connections are closed and new ones refused until Up.
func (p *Proxy) Down(t testing.TB) {
	t.Helper()
	if err := p.Disable(); err != nil {
		t.Fatalf("toxiproxy: disable %s: %v", p.Name, err)
	}
}

// Up enables the proxy again on the same address.
func (p *Proxy) Up(t testing.TB) {
	t.Helper()
	if err := p.Enable(); err != nil {
		t.Fatalf("toxiproxy: enable %s: %v", p.Name, err)
	}
}

func freePort() (string, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", fmt.Errorf("free port: %w", err)
	}
	defer ln.Close()
	_, port, err := net.SplitHostPort(ln.Addr().String())
	return port, err
}

type lockedWriter struct {
	mu *sync.Mutex
	w  *strings.Builder
}

func (l lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}

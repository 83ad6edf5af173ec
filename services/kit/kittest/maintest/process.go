package maintest

import (
	"bytes"
	"context"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"syscall"
	"testing"
	"time"
)

// Build builds the command package pkg ("github.com/inlay-dev/inlay/services/decide/cmd/decided")
// into a directory of the test's own and returns the binary: a test runs another team's service as
// the real process it is, importing nothing of it.
func Build(t testing.TB, ctx context.Context, pkg string) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), filepath.Base(pkg))
	if out, err := exec.CommandContext(ctx, "go", "build", "-o", bin, pkg).CombinedOutput(); err != nil {
		t.Fatalf("build %s: %v\n%s", pkg, err, out)
	}
	return bin
}

// Process is a service binary the test starts and stops.
type Process struct {
	Bin  string
	Addr string   // where it listens: its readiness is asked there
	Env  []string // added to the test's environment (Platform.Environ, its address variable, ...)

	cmd  *exec.Cmd
	out  syncBuffer
	done chan error
}

// Start starts the binary and waits until it answers /readyz; the test fails when it exits first. It
// is stopped when the test ends.
func (p *Process) Start(t testing.TB, ctx context.Context) {
	t.Helper()
	p.cmd = exec.Command(p.Bin)
	p.cmd.Env = append(os.Environ(), p.Env...)
	p.out.reset()
	p.cmd.Stdout, p.cmd.Stderr = &p.out, &p.out
	if err := p.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	p.done = make(chan error, 1)
	go func() { p.done <- p.cmd.Wait() }()
	t.Cleanup(func() { p.Stop(t) })
	WaitFor(t, ctx, p.Bin+" to be ready", func() bool {
		select {
		case err := <-p.done:
			p.cmd = nil
			t.Fatalf("%s exited: %v\n%s", p.Bin, err, p.out.String())
		default:
		}
		code, _ := Call(ctx, http.MethodGet, "http://"+p.Addr+"/readyz?full=1", "", "")
		return code == http.StatusOK
	})
}

// Stop stops the process with SIGTERM and fails the test when it does not exit cleanly within 20 s.
// Stopping a stopped process does nothing.
func (p *Process) Stop(t testing.TB) {
	t.Helper()
	if p.cmd == nil {
		return
	}
	if err := p.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Logf("stop %s: %v", p.Bin, err)
	}
	select {
	case err := <-p.done:
		if err != nil {
			t.Errorf("%s: %v\n%s", p.Bin, err, p.out.String())
		}
	case <-time.After(20 * time.Second):
		_ = p.cmd.Process.Kill()
		if err := <-p.done; err != nil {
			t.Logf("%s after SIGKILL: %v", p.Bin, err)
		}
		t.Errorf("%s did not stop on SIGTERM\n%s", p.Bin, p.out.String())
	}
	p.cmd = nil
}

// Exec runs the binary with args (a command such as "republish") to completion; the test fails when
// it fails.
func (p *Process) Exec(t testing.TB, ctx context.Context, args ...string) {
	t.Helper()
	cmd := exec.CommandContext(ctx, p.Bin, args...)
	cmd.Env = append(os.Environ(), p.Env...)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("%s %v: %v\n%s", p.Bin, args, err, out)
	}
}

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

func (s *syncBuffer) reset() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.b.Reset()
}

package server_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/gofiber/fiber/v2"

	"github.com/inlay-dev/inlay/services/kit/errs"
	"github.com/inlay-dev/inlay/services/kit/server"
)

func newServer(t *testing.T, logs io.Writer, checks map[string]server.Check) *server.Server {
	t.Helper()
	s := server.New(server.Options{Name: "test", Log: slog.New(slog.NewJSONHandler(logs, nil)), BodyLimit: 64, Checks: checks})
	s.App.Get("/notfound", func(c *fiber.Ctx) error {
		return fmt.Errorf("load product: %w", errs.Errorf(errs.ENOTFOUND, "product %s not found", "X"))
	})
	s.App.Get("/boom", func(c *fiber.Ctx) error { return errors.New("db password=secret exploded") })
	s.App.Get("/panic", func(c *fiber.Ctx) error { panic("oops") })
	s.App.Post("/echo", func(c *fiber.Ctx) error { return c.Send(c.Body()) })
	return s
}

func TestErrorHandler(t *testing.T) {
	var logs bytes.Buffer
	s := newServer(t, &logs, nil)
	tests := []struct {
		method, path, body string
		wantStatus         int
		wantBody           string
	}{
		{"GET", "/notfound", "", 404, `"code":"not_found","message":"product X not found"`},
		{"GET", "/boom", "", 500, `"message":"internal error"`},
		{"GET", "/panic", "", 500, `"internal error"`},
		{"GET", "/nothing-here", "", 404, `"code":"not_found"`},
		{"POST", "/echo", "small", 200, "small"},
	}
	for _, tt := range tests {
		t.Run(tt.method+tt.path, func(t *testing.T) {
			req := httptest.NewRequest(tt.method, tt.path, strings.NewReader(tt.body))
			req.Header.Set("Accept", "application/json")
			resp, err := s.App.Test(req)
			if err != nil {
				t.Fatal(err)
			}
			b, _ := io.ReadAll(resp.Body)
			if resp.StatusCode != tt.wantStatus || !strings.Contains(string(b), tt.wantBody) {
				t.Fatalf("%s %s = %d %s, want %d containing %s", tt.method, tt.path, resp.StatusCode, b, tt.wantStatus, tt.wantBody)
			}
			if resp.Header.Get(server.RequestIDHeader) == "" {
				t.Error("no request id on the response")
			}
		})
	}
	if strings.Contains(logs.String(), "product X not found") {
		t.Error("an expected 404 was logged as an error")
	}
	if !strings.Contains(logs.String(), "exploded") {
		t.Error("an unexpected error was not logged")
	}
}

func TestRequestIDPropagatesOnlyWhenSafe(t *testing.T) {
	s := newServer(t, io.Discard, nil)
	for id, keep := range map[string]bool{"abc-123": true, "bad id\nwith newline": false, strings.Repeat("a", 100): false} {
		req := httptest.NewRequest("GET", "/healthz", nil)
		req.Header.Set(server.RequestIDHeader, id)
		resp, err := s.App.Test(req)
		if err != nil {
			t.Fatal(err)
		}
		if got := resp.Header.Get(server.RequestIDHeader); (got == id) != keep || got == "" {
			t.Errorf("request id %q answered %q, keep=%v", id, got, keep)
		}
	}
}

func TestReadiness(t *testing.T) {
	healthy := true
	s := newServer(t, io.Discard, map[string]server.Check{"db": func(ctx context.Context) error {
		if !healthy {
			return errors.New("down")
		}
		return nil
	}})
	for _, want := range []int{200, 503} {
		resp, err := s.App.Test(httptest.NewRequest("GET", "/readyz", nil))
		if err != nil {
			t.Fatal(err)
		}
		if resp.StatusCode != want {
			t.Fatalf("readyz = %d, want %d", resp.StatusCode, want)
		}
		healthy = false
	}
	resp, err := s.App.Test(httptest.NewRequest("GET", "/metrics", nil))
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	if !strings.Contains(string(b), "inlay_http_request_duration_seconds") {
		t.Fatalf("metrics miss the request histogram:\n%.500s", b)
	}
}

func TestServeAndGracefulShutdown(t *testing.T) {
	s := newServer(t, io.Discard, nil)
	release, started := make(chan struct{}), make(chan struct{})
	s.App.Get("/slow", func(c *fiber.Ctx) error { close(started); <-release; return c.SendString("done") })
	ctx, cancel := context.WithCancel(context.Background())
	addrc := make(chan net.Addr, 1)
	errc := make(chan error, 1)
	go func() { errc <- s.Serve(ctx, "127.0.0.1:0", 5*time.Second, func(a net.Addr) { addrc <- a }) }()
	addr := <-addrc

	// The body limit is enforced by the real server before any handler runs.
	resp, err := http.Post("http://"+addr.String()+"/echo", "text/plain", strings.NewReader(strings.Repeat("x", 65)))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusRequestEntityTooLarge {
		t.Fatalf("oversized body = %d, want 413", resp.StatusCode)
	}

	got := make(chan string, 1)
	go func() {
		resp, err := http.Get("http://" + addr.String() + "/slow")
		if err != nil {
			got <- err.Error()
			return
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		got <- string(b)
	}()
	// Wait until the slow request is in flight, then ask for shutdown: it must finish, not be cut.
	<-started
	cancel()
	close(release)
	if b := <-got; b != "done" {
		t.Fatalf("in-flight request got %q during shutdown", b)
	}
	if err := <-errc; err != nil {
		t.Fatalf("Serve: %v", err)
	}
}

func TestEveryCodeHasAStatus(t *testing.T) {
	t.Parallel()
	for _, code := range errs.Codes {
		if s := server.Status(code); s < 400 || s == http.StatusInternalServerError && code != errs.EINTERNAL {
			t.Errorf("Status(%q) = %d", code, s)
		}
	}
}

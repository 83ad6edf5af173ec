package server_test

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"mime/multipart"
	"net"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/gofiber/fiber/v2"

	"github.com/inlay-dev/inlay/services/kit/errs"
	"github.com/inlay-dev/inlay/services/kit/kittest"
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
			defer resp.Body.Close()
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
		resp.Body.Close()
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
		resp.Body.Close()
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

// serve starts s on free loopback ports and returns the public address; the server stops with t.
func serve(t *testing.T, s *server.Server) string {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	addrc := make(chan net.Addr, 1)
	errc := make(chan error, 1)
	go func() { errc <- s.Serve(ctx, "127.0.0.1:0", 5*time.Second, func(a net.Addr) { addrc <- a }) }()
	t.Cleanup(func() {
		cancel()
		if err := <-errc; err != nil {
			t.Errorf("Serve: %v", err)
		}
	})
	select {
	case a := <-addrc:
		return a.String()
	case err := <-errc:
		t.Fatalf("Serve: %v", err)
		return ""
	}
}

// roundTrips sends each "METHOD path" on one keep-alive connection, reading each answer before the
// next request, and returns the last answer's status and body.
func roundTrips(t *testing.T, addr string, reqs ...string) (int, string) {
	t.Helper()
	conn, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	r := bufio.NewReader(conn)
	var status int
	var body []byte
	for _, line := range reqs {
		method, path, _ := strings.Cut(line, " ")
		if _, err := fmt.Fprintf(conn, "%s %s HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n\r\n", method, path); err != nil {
			t.Fatal(err)
		}
		resp, err := http.ReadResponse(r, &http.Request{Method: method})
		if err != nil {
			t.Fatalf("%s: %v", line, err)
		}
		body, _ = io.ReadAll(resp.Body)
		resp.Body.Close()
		status = resp.StatusCode
	}
	return status, string(body)
}

// The request metric's method label once aliased fasthttp's request buffer: after GET, POST, PUT,
// DELETE on one connection a stored label read "GETETE", and once two label sets collided /metrics
// answered 500.
func TestMetricsLabelsSurviveKeepAlive(t *testing.T) {
	s := newServer(t, io.Discard, nil)
	addr := serve(t, s)
	seq := []string{"GET /healthz", "POST /x", "PUT /y", "DELETE /z", "GET /healthz", "PATCH /healthz", "OPTIONS /x", "GET /healthz"}
	for range 3 {
		roundTrips(t, addr, seq...)
	}
	status, body := roundTrips(t, addr, "GET /metrics")
	if status != 200 {
		t.Fatalf("/metrics = %d %s", status, body)
	}
	allowed := map[string]bool{"GET": true, "POST": true, "PUT": true, "DELETE": true, "PATCH": true, "OPTIONS": true}
	for _, line := range strings.Split(body, "\n") {
		_, rest, ok := strings.Cut(line, `method="`)
		if !strings.HasPrefix(line, "inlay_http_request_duration_seconds") || !ok {
			continue
		}
		m, _, _ := strings.Cut(rest, `"`)
		if !allowed[m] {
			t.Fatalf("metric with a corrupted method label %q: %s", m, line)
		}
	}
}

func TestAdminListenerServesMetrics(t *testing.T) {
	adminc := make(chan net.Addr, 1)
	s := server.New(server.Options{Name: "edge", Log: slog.New(slog.NewJSONHandler(io.Discard, nil)),
		AdminAddr: "127.0.0.1:0", AdminReady: func(a net.Addr) { adminc <- a }})
	addr := serve(t, s)
	admin := (<-adminc).String()
	if status, _ := roundTrips(t, addr, "GET /metrics"); status != 404 {
		t.Fatalf("public /metrics = %d, want 404", status)
	}
	if status, body := roundTrips(t, admin, "GET /metrics"); status != 200 || !strings.Contains(body, "go_goroutines") {
		t.Fatalf("admin /metrics = %d", status)
	}
	if status, _ := roundTrips(t, addr, "GET /healthz"); status != 200 {
		t.Fatalf("public /healthz = %d, want 200", status)
	}
}

func TestInvalidUTF8IsRefused(t *testing.T) {
	s := newServer(t, io.Discard, nil)
	s.App.Get("/echo-query", func(c *fiber.Ctx) error { return c.SendString(c.Query("q")) })
	for _, tt := range []struct {
		method, target, body string
		want                 int
	}{
		{"GET", "/echo-query?q=%ff%fe", "", 400},
		{"GET", "/echo-query?q=a%00b", "", 400},
		{"GET", "/echo-query?%c3%28=x", "", 400},
		{"GET", "/echo-%ff", "", 400},
		{"POST", "/echo", "q=%ff", 400},
		{"GET", "/echo-query?q=Traktor+gr%C3%BCn", "", 200},
		{"POST", "/echo", "q=gr%C3%BCn", 200},
	} {
		req := httptest.NewRequest(tt.method, tt.target, strings.NewReader(tt.body))
		if tt.body != "" {
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		}
		resp, err := s.App.Test(req)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != tt.want {
			t.Errorf("%s %s = %d %s, want %d", tt.method, tt.target, resp.StatusCode, b, tt.want)
		}
		if tt.want == 400 && !utf8.Valid(b) {
			t.Errorf("%s %s: the error echoes invalid bytes: %q", tt.method, tt.target, b)
		}
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

func TestInvalidUTF8InMultipartFormIsRefused(t *testing.T) {
	s := server.New(server.Options{Name: "test", Log: slog.New(slog.NewJSONHandler(io.Discard, nil))})
	s.App.Post("/form", func(c *fiber.Ctx) error { return c.SendString(c.FormValue("first_name")) })
	for value, want := range map[string]int{"Ada": 200, "A\xffda": 400} {
		var body bytes.Buffer
		mw := multipart.NewWriter(&body)
		if err := mw.WriteField("first_name", value); err != nil {
			t.Fatal(err)
		}
		if err := mw.Close(); err != nil {
			t.Fatal(err)
		}
		req := httptest.NewRequest("POST", "/form", &body)
		req.Header.Set("Content-Type", mw.FormDataContentType())
		resp, err := s.App.Test(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != want {
			t.Errorf("multipart first_name %q = %d, want %d", value, resp.StatusCode, want)
		}
	}
}

// TestDegradedCheckDoesNotFailReadiness: a degraded check (RabbitMQ, Redis) is reported by /readyz
// without taking the instance out of rotation; /readyz?full=1 fails on it.
func TestDegradedCheckDoesNotFailReadiness(t *testing.T) {
	s := newServer(t, io.Discard, nil)
	s.AddDegradedCheck("events", func(context.Context) error { return errors.New("broker unreachable") })
	for target, want := range map[string]int{"/readyz": 200, "/readyz?full=1": 503} {
		resp, err := s.App.Test(httptest.NewRequest("GET", target, nil))
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != want || !strings.Contains(string(b), "broker unreachable") {
			t.Errorf("%s = %d %s, want %d naming the degraded check", target, resp.StatusCode, b, want)
		}
	}
}

// TestDrain: once its context is done, a server with a drain period answers /readyz 503 and still
// serves (closing each connection after its answer), then shuts down.
func TestDrain(t *testing.T) {
	s := server.New(server.Options{Name: "test", Log: slog.New(slog.DiscardHandler), Drain: 5 * time.Second})
	s.App.Get("/page", func(c *fiber.Ctx) error { return c.SendString("page") })
	ctx, cancel := context.WithCancel(context.Background())
	addrc := make(chan net.Addr, 1)
	errc := make(chan error, 1)
	go func() { errc <- s.Serve(ctx, "127.0.0.1:0", 5*time.Second, func(a net.Addr) { addrc <- a }) }()
	base := "http://" + (<-addrc).String()
	get := func(path string) (int, string, bool) {
		resp, err := http.Get(base + path)
		if err != nil {
			t.Fatalf("GET %s: %v", path, err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		return resp.StatusCode, string(b), resp.Close
	}
	if code, _, _ := get("/readyz"); code != 200 {
		t.Fatalf("readyz before the drain = %d", code)
	}
	cancel()
	deadline := time.Now().Add(10 * time.Second)
	for !s.Draining() {
		if time.Now().After(deadline) {
			t.Fatal("not draining 10 s after its context ended")
		}
		time.Sleep(5 * time.Millisecond)
	}
	if code, body, _ := get("/readyz"); code != 503 || !strings.Contains(body, "draining") {
		t.Errorf("readyz while draining = %d %s, want 503 draining", code, body)
	}
	if code, body, closed := get("/page"); code != 200 || body != "page" || !closed {
		t.Errorf("page while draining = %d %q (connection closed: %v), want 200 and Connection: close", code, body, closed)
	}
	select {
	case err := <-errc:
		t.Fatalf("Serve returned during the drain: %v", err)
	default:
	}
	if err := <-errc; err != nil {
		t.Fatalf("Serve after the drain: %v", err)
	}
}

// TestProblemsForUnparsedRequests: a server that is only a JSON API (Options.Problems) answers even a
// request it could not parse — headers over its buffer, so no path to tell an API call by — with
// problem details; another server with the kit's JSON error.
func TestProblemsForUnparsedRequests(t *testing.T) {
	t.Parallel()
	for _, problems := range []bool{true, false} {
		s := server.New(server.Options{Name: "test", Log: slog.New(slog.DiscardHandler), Problems: problems})
		addr := serve(t, s)
		// A header far larger than the server reads: the client is still writing it when the 431
		// leaves, and the answer must reach it all the same (the lingering close), not a reset.
		conn, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		wrote := make(chan error, 1)
		go func() {
			_, err := io.WriteString(conn, "GET /v1/x HTTP/1.1\r\nHost: x\r\nX-Big: "+strings.Repeat("a", 8<<20)+"\r\n\r\n")
			wrote <- err
		}()
		_ = conn.SetReadDeadline(time.Now().Add(30 * time.Second)) // the case ends long before
		resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
		if err != nil {
			t.Fatalf("Problems %v: no answer to a header too large: %v", problems, err)
		}
		resp.Body.Close()
		if err := <-wrote; err != nil {
			t.Errorf("Problems %v: the request's rest was not read before the close: %v", problems, err)
		}
		conn.Close()
		ct := resp.Header.Get("Content-Type")
		if resp.StatusCode != http.StatusRequestHeaderFieldsTooLarge || (ct == server.MIMEProblemJSON) != problems {
			t.Errorf("Problems %v: %d %q", problems, resp.StatusCode, ct)
		}
	}
}

// TestErrorPage: with Options.ErrorPage, a browser's error and a request the server could not parse
// get the site's page; a client that asks for JSON still gets JSON, and the admin port never the
// page. ReadBufferSize lets bigger headers through.
func TestErrorPage(t *testing.T) {
	t.Parallel()
	adminc := make(chan net.Addr, 1)
	page := func(c *fiber.Ctx, status int, _ string) error {
		c.Set(fiber.HeaderContentType, fiber.MIMETextHTMLCharsetUTF8)
		return c.Status(status).SendString(fmt.Sprintf("<p>page %d</p>", status))
	}
	s := server.New(server.Options{Name: "site", Log: slog.New(slog.DiscardHandler), ErrorPage: page,
		ReadBufferSize: server.PublicReadBuffer, AdminAddr: "127.0.0.1:0", AdminReady: func(a net.Addr) { adminc <- a }})
	s.App.Get("/gone", func(c *fiber.Ctx) error { return errs.Errorf(errs.ENOTFOUND, "No such thing.") })
	s.Admin.Get("/gone", func(c *fiber.Ctx) error { return errs.Errorf(errs.ENOTFOUND, "No such thing.") })
	addr := serve(t, s)
	admin := (<-adminc).String()
	for _, tt := range []struct {
		name, base, accept, header string
		status                     int
		ct                         string
	}{
		{"browser", addr, "text/html,*/*;q=0.8", "", 404, "text/html"},
		{"no Accept", addr, "", "", 404, "text/html"},
		{"API client", addr, "application/json", "", 404, "application/json"},
		{"admin", admin, "text/html", "", 404, "text/plain"},
		{"8 KiB header", addr, "text/html", strings.Repeat("a", 8<<10), 404, "text/html"},
		{"20 KiB header", addr, "application/json", strings.Repeat("a", 20<<10), 431, "text/html"},
	} {
		req, err := http.NewRequest(http.MethodGet, "http://"+tt.base+"/gone", nil)
		if err != nil {
			t.Fatal(err)
		}
		req.Header.Del("Accept")
		if tt.accept != "" {
			req.Header.Set("Accept", tt.accept)
		}
		if tt.header != "" {
			req.Header.Set("X-Big", tt.header)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if ct := resp.Header.Get("Content-Type"); resp.StatusCode != tt.status || !strings.HasPrefix(ct, tt.ct) {
			t.Errorf("%s: %d %q %s, want %d %s", tt.name, resp.StatusCode, ct, b, tt.status, tt.ct)
		}
	}
}

// TestPastDeadlineIsRefused: a request read after the deadline its caller sent (the process was
// frozen meanwhile) is refused without running its handler; one within it, or without one, or with
// a malformed one, is served.
func TestPastDeadlineIsRefused(t *testing.T) {
	t.Parallel()
	s := newServer(t, io.Discard, nil)
	var served atomic.Int32
	s.App.Post("/ui/add", func(c *fiber.Ctx) error { served.Add(1); return c.SendString("added") })
	for _, tt := range []struct {
		name, deadline string
		want           int
		served         bool
	}{
		{"long passed", strconv.FormatInt(time.Now().Add(-time.Minute).UnixMilli(), 10), 503, false},
		{"ahead", strconv.FormatInt(time.Now().Add(time.Minute).UnixMilli(), 10), 200, true},
		{"none", "", 200, true},
		{"malformed", "soon", 200, true},
	} {
		before := served.Load()
		req := httptest.NewRequest(http.MethodPost, "/ui/add", nil)
		if tt.deadline != "" {
			req.Header.Set(server.DeadlineHeader, tt.deadline)
		}
		resp, err := s.App.Test(req, -1)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != tt.want || (served.Load() > before) != tt.served {
			t.Errorf("%s: %d (served %v), want %d (served %v)", tt.name, resp.StatusCode, served.Load() > before, tt.want, tt.served)
		}
	}
}

// TestHTTP11WithoutHostIsRefused: RFC 9112 asks a server to answer 400 to an HTTP/1.1 request
// without Host; an HTTP/1.0 one may omit it.
func TestHTTP11WithoutHostIsRefused(t *testing.T) {
	t.Parallel()
	s := newServer(t, io.Discard, nil)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go func() { _ = s.App.Listener(ln) }()
	t.Cleanup(func() { _ = s.App.Shutdown() })
	for raw, want := range map[string]string{
		"GET /healthz HTTP/1.1\r\nConnection: close\r\n\r\n":                    "HTTP/1.1 400 ",
		"GET /healthz HTTP/1.1\r\nHost: a.example\r\nConnection: close\r\n\r\n": "HTTP/1.1 200 ",
		"GET /healthz HTTP/1.0\r\n\r\n":                                         "HTTP/1.1 200 ",
	} {
		if got := exchange(t, ln.Addr().String(), raw); !strings.HasPrefix(got, want) {
			t.Errorf("%q answered %.60q, want %q", raw, got, want)
		}
	}
}

// TestRefusals: a request refused before any route ran (one that never finished arriving, one that
// does not parse) is answered, logged and counted like any other, without echoing its bytes; a
// connection that sent nothing at all is closed at the read timeout without an answer.
func TestRefusals(t *testing.T) {
	t.Parallel()
	logs := &kittest.SyncBuffer{}
	s := server.New(server.Options{Name: "test", Log: slog.New(slog.NewJSONHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug})),
		ReadTimeout: 300 * time.Millisecond})
	addr := serve(t, s)
	// Connections the client resets, before a byte or halfway through a request, refused nothing:
	// no 502 is counted or logged for them.
	for _, sent := range []string{"", "GET /healthz HTTP/1.1\r\nHo"} {
		conn, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := io.WriteString(conn, sent); err != nil {
			t.Fatal(err)
		}
		if err := conn.(*net.TCPConn).SetLinger(0); err != nil { // Close sends a reset
			t.Fatal(err)
		}
		conn.Close()
	}
	for deadline := time.Now().Add(10 * time.Second); strings.Count(logs.String(), "connection reset by the client") < 2; {
		if time.Now().After(deadline) {
			t.Fatalf("the resets were not seen:\n%s", logs.String())
		}
		time.Sleep(10 * time.Millisecond)
	}
	if got := exchange(t, addr, ""); got != "" {
		t.Errorf("a connection that sent nothing was answered %.80q, want a silent close", got)
	}
	if got := exchange(t, addr, "GET /healthz HTTP/1.1\r\nHost: x\r\n"); !strings.HasPrefix(got, "HTTP/1.1 408 ") {
		t.Errorf("a request that stopped halfway was answered %.80q, want 408", got)
	}
	got := exchange(t, addr, "GARBAGE<b>secret=1\r\n\r\n")
	if !strings.HasPrefix(got, "HTTP/1.1 400 ") || strings.Contains(got, "secret") || strings.Contains(got, "<b>") {
		t.Errorf("a malformed request was answered %q, want 400 without its bytes", got)
	}
	_, metrics := roundTrips(t, addr, "GET /metrics")
	for _, status := range []string{"400", "408"} {
		if !strings.Contains(metrics, `inlay_http_requests_refused_total{status="`+status+`"} 1`) {
			t.Errorf("no refused %s in the metrics:\n%s", status, metrics)
		}
		if !strings.Contains(logs.String(), `"msg":"request","status":`+status+`,"refused"`) {
			t.Errorf("no access-log record of the refused %s:\n%s", status, logs.String())
		}
	}
	if strings.Contains(logs.String(), "secret") {
		t.Errorf("the log holds the malformed request's bytes:\n%s", logs.String())
	}
	if strings.Contains(metrics, `status="502"`) || strings.Contains(logs.String(), `"status":502`) {
		t.Errorf("a reset connection was counted or logged as a 502:\n%s\n%s", metrics, logs.String())
	}
}

// TestMethodNotAllowedSaysAllow: a 405 names the methods the path takes (RFC 9110, 15.5.6).
func TestMethodNotAllowedSaysAllow(t *testing.T) {
	t.Parallel()
	s := newServer(t, io.Discard, nil)
	s.App.Put("/v1/carts/:id", func(c *fiber.Ctx) error { return c.SendStatus(fiber.StatusNoContent) })
	s.App.Delete("/v1/carts/:id", func(c *fiber.Ctx) error { return c.SendStatus(fiber.StatusNoContent) })
	addr := serve(t, s)
	for _, tt := range []struct{ method, path, allow string }{
		{"GET", "/echo", "POST"},
		{"POST", "/healthz", "GET, HEAD"},
		{"GET", "/v1/carts/abc", "PUT, DELETE"},
	} {
		conn, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		fmt.Fprintf(conn, "%s %s HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\nConnection: close\r\n\r\n", tt.method, tt.path)
		resp, err := http.ReadResponse(bufio.NewReader(conn), &http.Request{Method: tt.method})
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		conn.Close()
		if resp.StatusCode != http.StatusMethodNotAllowed || resp.Header.Get("Allow") != tt.allow {
			t.Errorf("%s %s = %d, Allow %q; want 405, Allow %q", tt.method, tt.path, resp.StatusCode, resp.Header.Get("Allow"), tt.allow)
		}
	}
	if status, _ := roundTrips(t, addr, "PUT /v1/carts/abc"); status != http.StatusNoContent {
		t.Errorf("PUT /v1/carts/abc = %d, want 204: the routed method still works", status)
	}
}

// TestAmbiguousHeadersAreRefused: header blocks RFC 9112 asks a server to refuse, which two servers
// on a request's way could read differently (request smuggling), get 400; ordinary ones pass.
func TestAmbiguousHeadersAreRefused(t *testing.T) {
	t.Parallel()
	s := newServer(t, io.Discard, nil)
	addr := serve(t, s)
	for raw, want := range map[string]string{
		"POST /echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding : chunked\r\nContent-Length: 4\r\nConnection: close\r\n\r\n0\r\n\r\n": "HTTP/1.1 400 ",
		"GET /healthz HTTP/1.1\r\nHost: a\r\nHost: b\r\nConnection: close\r\n\r\n":                                                 "HTTP/1.1 400 ",
		"GET /healthz HTTP/1.1\r\nHost: a\r\nX-A: b\r\n c\r\nConnection: close\r\n\r\n":                                            "HTTP/1.1 400 ",
		"GET /healthz HTTP/1.1\r\nHost: a\r\nBad Name: x\r\nConnection: close\r\n\r\n":                                             "HTTP/1.1 400 ",
		"POST /echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\nTransfer-Encoding: identity\r\n\r\n0\r\n\r\n":             "HTTP/1.1 400 ",
		"POST /echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n":              "HTTP/1.1 400 ",
		"POST /echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: CHUNKED\r\nConnection: close\r\n\r\n0\r\n\r\n":                       "HTTP/1.1 200 ",
		"FOO /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n":                                                            "HTTP/1.1 501 ",
		"get /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n":                                                            "HTTP/1.1 501 ",
		"GET /healthz HTTP/1.1\r\nHost: a\r\nX-Ok_1.~!#: x y\r\nAccept: */*\r\nConnection: close\r\n\r\n":                          "HTTP/1.1 200 ",
		"GET /healthz HTTP/1.1\r\nhost: a\r\nX-Host: b\r\nConnection: close\r\n\r\n":                                               "HTTP/1.1 200 ",
	} {
		if got := exchange(t, addr, raw); !strings.HasPrefix(got, want) {
			t.Errorf("%q answered %.60q, want %q", raw, got, want)
		}
	}
}

func BenchmarkBadHeaderLines(b *testing.B) {
	raw := []byte("Host: www.example.com\r\nUser-Agent: Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0 Safari/537.36\r\n" +
		"Accept: text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8\r\nAccept-Language: en-GB,en;q=0.9\r\nAccept-Encoding: gzip, deflate, br\r\n" +
		"Cookie: inlay_csrf=Q62reebBY5AxI0zFxgDpdAm8y29pd-pFtylOI1P1obpWHDp-XpI4-tKnCGjFTdY68; inlay_cart=0193a5b2-7c1d-7e4f-9a8b-123456789abc\r\nConnection: keep-alive\r\n")
	for b.Loop() {
		if server.BadHeaderLines(raw) != "" {
			b.Fatal("refused a browser's headers")
		}
	}
}

// TestPublicServer: a server the internet reaches ignores the platform's internal deadline header
// (anyone could make it answer 503 at will) and says nosniff on every answer; every server refuses
// TRACE and CONNECT with 501, and closes a connection whose request's framing is in doubt.
func TestPublicServer(t *testing.T) {
	t.Parallel()
	s := server.New(server.Options{Name: "edge", Log: slog.New(slog.DiscardHandler), Public: true})
	s.App.Get("/v1/home", func(c *fiber.Ctx) error { return c.JSON(fiber.Map{"ok": true}) })
	addr := serve(t, s)
	got := exchange(t, addr, "GET /v1/home HTTP/1.1\r\nHost: x\r\nInlay-Deadline: 1\r\nConnection: close\r\n\r\n")
	if !strings.HasPrefix(got, "HTTP/1.1 200 ") || !strings.Contains(got, "X-Content-Type-Options: nosniff\r\n") {
		t.Errorf("a public server's answer to a request with a past Inlay-Deadline:\n%s", got)
	}
	if got := exchange(t, addr, "TRACE /v1/home HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"); !strings.HasPrefix(got, "HTTP/1.1 501 ") {
		t.Errorf("TRACE answered %.60q, want 501", got)
	}
	if got := exchange(t, addr, "PROPFIND /v1/home HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"); !strings.HasPrefix(got, "HTTP/1.1 501 ") ||
		!strings.Contains(got, "X-Content-Type-Options: nosniff\r\n") {
		t.Errorf("PROPFIND answered %q, want 501 with nosniff", got)
	}
	// CL.TE: a proxy in front that framed the body by its length would send the second request as
	// the first one's body; this server must neither answer it nor keep the connection.
	got = exchange(t, addr, "POST /v1/home HTTP/1.1\r\nHost: x\r\nContent-Length: 4\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n"+
		"GET /v1/home HTTP/1.1\r\nHost: x\r\n\r\n")
	if !strings.HasPrefix(got, "HTTP/1.1 400 ") || strings.Count(got, "HTTP/1.1 ") != 1 {
		t.Errorf("a request with both Content-Length and Transfer-Encoding, then another, answered:\n%s", got)
	}
}

// exchange sends raw on a new connection to addr and reads everything until the server closes it.
func exchange(t *testing.T, addr, raw string) string {
	t.Helper()
	conn, err := net.DialTimeout("tcp", addr, 10*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	_ = conn.SetDeadline(time.Now().Add(30 * time.Second)) // every case here ends long before
	if _, err := io.WriteString(conn, raw); err != nil {
		t.Fatal(err)
	}
	got, err := io.ReadAll(conn)
	if err != nil {
		t.Fatalf("%q: %v", raw, err)
	}
	return string(got)
}

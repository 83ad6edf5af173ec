package fragments

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
	"time"

	"github.com/sony/gobreaker/v2"
)

func newTestClient(t *testing.T, url string, opts ClientOptions) *Client {
	t.Helper()
	opts.Teams = Teams{"t": {url}}
	c, err := NewClient(opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Close)
	return c
}

func TestClientForwardsOnlyAllowlistedHeaders(t *testing.T) {
	got := make(chan http.Header, 1)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		got <- r.Header.Clone()
		w.Header().Set("Content-Type", "text/html")
		w.Header().Set("Cache-Control", "public, max-age=5")
		w.Header().Set("ETag", `"x"`)
		w.Header().Set("Link", "</static/a.css>; rel=stylesheet")
		_, _ = w.Write([]byte("<p>hi</p>"))
	}))
	defer srv.Close()
	c := newTestClient(t, srv.URL, ClientOptions{})
	resp, err := c.Fetch(context.Background(), FetchRequest{Team: "t", Path: "/fragments/a", Query: "x=1",
		Forwarded: Forwarded{AcceptLanguage: "de", UserAgent: "ua", Traceparent: "00-1-2-01", RequestID: "rid", Context: "ctx"}})
	if err != nil {
		t.Fatal(err)
	}
	if resp.Status != 200 || string(resp.Body) != "<p>hi</p>" || resp.ETag != `"x"` || resp.CacheControl != "public, max-age=5" ||
		resp.Link == "" || resp.ContentType != "text/html" {
		t.Errorf("response %+v", resp)
	}
	h := <-got
	want := map[string]string{"Accept-Language": "de", "User-Agent": "ua", "Traceparent": "00-1-2-01",
		"X-Request-Id": "rid", ContextHeader: "ctx", "Accept": "text/html"}
	for k, v := range want {
		if h.Get(k) != v {
			t.Errorf("%s = %q, want %q", k, h.Get(k), v)
		}
	}
	for k := range h {
		if _, ok := want[k]; !ok && k != "Accept-Encoding" {
			t.Errorf("unexpected header %s reached the team", k)
		}
	}
}

func TestClientDeadline(t *testing.T) {
	release := make(chan struct{})
	defer close(release)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-release:
		case <-r.Context().Done():
		}
	}))
	defer srv.Close()
	c := newTestClient(t, srv.URL, ClientOptions{})
	_, err := c.Fetch(context.Background(), FetchRequest{Team: "t", Path: "/fragments/a", Timeout: 30 * time.Millisecond})
	if !errors.Is(err, ErrTimeout) {
		t.Errorf("err = %v, want ErrTimeout", err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
	defer cancel()
	_, err = c.Fetch(ctx, FetchRequest{Team: "t", Path: "/fragments/a", Timeout: time.Minute})
	if !errors.Is(err, ErrTimeout) {
		t.Errorf("context deadline: err = %v, want ErrTimeout", err)
	}
}

func TestClientBreakerOpensAndHalfOpens(t *testing.T) {
	var failing atomic.Bool
	var requests atomic.Int32
	failing.Store(true)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		requests.Add(1)
		if failing.Load() {
			w.WriteHeader(http.StatusInternalServerError)
			return
		}
		_, _ = w.Write([]byte("ok"))
	}))
	defer srv.Close()
	changes := make(chan gobreaker.State, 10)
	c := newTestClient(t, srv.URL, ClientOptions{BreakerFailures: 3, BreakerOpen: 50 * time.Millisecond,
		OnStateChange: func(team string, from, to gobreaker.State) { changes <- to }})
	fetch := func() (*FetchResponse, error) {
		return c.Fetch(context.Background(), FetchRequest{Team: "t", Path: "/fragments/a"})
	}
	for range 3 {
		resp, err := fetch()
		if err == nil || resp == nil || resp.Status != 500 {
			t.Fatalf("5xx: resp %+v err %v, want the response and an error", resp, err)
		}
	}
	if st, _ := c.BreakerState("t"); st != gobreaker.StateOpen {
		t.Fatalf("breaker %v after 3 failures, want open", st)
	}
	// Open: fails at once, the team is not asked.
	if _, err := fetch(); !errors.Is(err, ErrBreakerOpen) {
		t.Errorf("err = %v, want ErrBreakerOpen", err)
	}
	if got := requests.Load(); got != 3 {
		t.Errorf("%d requests reached the team, want 3", got)
	}
	// After the open period, one trial request goes through (half-open); success closes it.
	failing.Store(false)
	deadline := time.Now().Add(10 * time.Second)
	for {
		if st, _ := c.BreakerState("t"); st == gobreaker.StateHalfOpen {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("breaker never half-open")
		}
		time.Sleep(5 * time.Millisecond)
	}
	if resp, err := fetch(); err != nil || resp.Status != 200 {
		t.Fatalf("trial request: %v %v", resp, err)
	}
	if st, _ := c.BreakerState("t"); st != gobreaker.StateClosed {
		t.Errorf("breaker %v after a successful trial, want closed", st)
	}
	var seen []gobreaker.State
	for len(changes) > 0 {
		seen = append(seen, <-changes)
	}
	want := []gobreaker.State{gobreaker.StateOpen, gobreaker.StateHalfOpen, gobreaker.StateClosed}
	if len(seen) != len(want) {
		t.Fatalf("state changes %v, want %v", seen, want)
	}
	for i := range want {
		if seen[i] != want[i] {
			t.Errorf("state changes %v, want %v", seen, want)
		}
	}
}

func TestClient4xxDoesNotTripBreaker(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { http.NotFound(w, r) }))
	defer srv.Close()
	c := newTestClient(t, srv.URL, ClientOptions{BreakerFailures: 2})
	for range 5 {
		resp, err := c.Fetch(context.Background(), FetchRequest{Team: "t", Path: "/fragments/a"})
		if err != nil || resp.Status != 404 {
			t.Fatalf("resp %+v err %v", resp, err)
		}
	}
	if st, _ := c.BreakerState("t"); st != gobreaker.StateClosed {
		t.Errorf("breaker %v, want closed", st)
	}
}

func TestClientUnknownTeamAndBadURLs(t *testing.T) {
	c := newTestClient(t, "http://127.0.0.1:1", ClientOptions{})
	if _, err := c.Fetch(context.Background(), FetchRequest{Team: "nope", Path: "/x"}); !errors.Is(err, ErrUnknownTeam) {
		t.Errorf("err = %v", err)
	}
	for _, u := range []string{"ftp://x", "127.0.0.1:80", "http://"} {
		if _, err := NewClient(ClientOptions{Teams: Teams{"t": {u}}}); err == nil {
			t.Errorf("NewClient accepted %q", u)
		}
	}
}

// TestClientJSONCall: a BFF's JSON call (a method, a body, Accept, Authorization, Idempotency-Key)
// goes through the same client, and a 4xx answer does not count against the breaker.
func TestClientJSONCall(t *testing.T) {
	type seen struct {
		method, ct, accept, auth, key, body string
	}
	got := make(chan seen, 10)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b := make([]byte, 64)
		n, _ := r.Body.Read(b)
		got <- seen{r.Method, r.Header.Get("Content-Type"), r.Header.Get("Accept"), r.Header.Get("Authorization"),
			r.Header.Get("Idempotency-Key"), string(b[:n])}
		w.Header().Set("Retry-After", "7")
		w.WriteHeader(http.StatusConflict)
	}))
	defer srv.Close()
	c := newTestClient(t, srv.URL, ClientOptions{BreakerFailures: 1})
	for range 3 {
		resp, err := c.Fetch(context.Background(), FetchRequest{Team: "t", Method: http.MethodPost, Path: "/v1/orders",
			Body: []byte(`{"a":1}`), ContentType: "application/json", Accept: "application/json",
			Authorization: "Bearer tok", IdempotencyKey: "k-1"})
		if err != nil || resp.Status != http.StatusConflict || resp.RetryAfter != "7" {
			t.Fatalf("fetch: %v %+v", err, resp)
		}
	}
	s := <-got
	if s != (seen{"POST", "application/json", "application/json", "Bearer tok", "k-1", `{"a":1}`}) {
		t.Errorf("team saw %+v", s)
	}
	if st, _ := c.BreakerState("t"); st != gobreaker.StateClosed {
		t.Errorf("breaker %s after 4xx answers", st)
	}
}

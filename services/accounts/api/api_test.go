package api_test

import (
	"context"
	"encoding/json"
	"flag"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/go-redis/redis_rate/v10"

	"github.com/inlay-dev/inlay/fragments"
	"github.com/inlay-dev/inlay/services/accounts"
	"github.com/inlay-dev/inlay/services/accounts/api"
	"github.com/inlay-dev/inlay/services/accounts/argon2id"
	"github.com/inlay-dev/inlay/services/accounts/postgres"
	accountsredis "github.com/inlay-dev/inlay/services/accounts/redis"
	"github.com/inlay-dev/inlay/services/kit/events"
	"github.com/inlay-dev/inlay/services/kit/kittest"
	"github.com/inlay-dev/inlay/services/kit/kittest/apitest"
	"github.com/inlay-dev/inlay/services/kit/server"
)

var update = flag.Bool("update", false, "rewrite testdata/*.json from the current responses")

var _ api.Service = (*accounts.Service)(nil)

// newApp mounts the API on accounts' real service (fresh database and Redis prefix) with one
// customer, ada@example.com, who has an address.
func newApp(t *testing.T) *server.Server {
	t.Helper()
	return newAppWith(t, nil)
}

// newAppWith is newApp whose sign-in verifies Inlay-Context with v.
func newAppWith(t *testing.T, v *fragments.Verifier) *server.Server {
	t.Helper()
	ctx := context.Background()
	pool := kittest.Postgres(t, postgres.Migrations())
	if err := events.Migrate(ctx, pool); err != nil {
		t.Fatal(err)
	}
	rdb, keys := kittest.Redis(t)
	// The floor of the parameters (argon2id.Minimum): the tests are about the service, not the hash's cost,
	// and run under the race detector on two cores.
	h, err := argon2id.New(argon2id.Minimum)
	if err != nil {
		t.Fatal(err)
	}
	svc, err := accounts.NewService(accounts.ServiceOptions{Customers: postgres.NewCustomers(pool),
		Sessions: accountsredis.NewSessions(rdb, keys, 0),
		Throttle: accountsredis.NewThrottle(rdb, keys, redis_rate.Limit{Rate: 1, Burst: 10, Period: time.Hour}), Hasher: h})
	if err != nil {
		t.Fatal(err)
	}
	cu, _, err := svc.Register(ctx, accounts.Registration{Name: "Ada Lovelace", Email: "ada@example.com", Password: "analytical engine"}, "10.0.0.1", "")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := svc.ChangeAddress(ctx, cu.ID, accounts.Address{Street: "Main Street 1", City: "Springfield", Postcode: "12345", Country: "US"}); err != nil {
		t.Fatal(err)
	}
	srv := server.New(server.Options{Name: "accounts", Log: slog.New(slog.NewTextHandler(io.Discard, nil))})
	api.New(svc, v).Mount(srv.App)
	return srv
}

func do(t *testing.T, srv *server.Server, method, target, token, ct, body string) (int, http.Header, []byte) {
	t.Helper()
	req := httptest.NewRequest(method, target, strings.NewReader(body))
	if ct != "" {
		req.Header.Set("Content-Type", ct)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	res, err := srv.App.Test(req, -1)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	if err != nil {
		t.Fatal(err)
	}
	return res.StatusCode, res.Header, b
}

func example(t *testing.T, name string, body []byte) {
	t.Helper()
	apitest.Example(t, filepath.Join("testdata", name), body, *update)
}

// TestBearerClient walks a native app's use: sign in for a token, whoami and profile with it, sign
// out, and the token no longer works.
func TestBearerClient(t *testing.T) {
	t.Parallel()
	srv := newApp(t)
	status, h, b := do(t, srv, "POST", "/v1/sessions", "", "application/json", `{"email":"ADA@example.com","password":"analytical engine"}`)
	if status != 201 || h.Get("Cache-Control") != "no-store" {
		t.Fatalf("sign in: %d %s", status, b)
	}
	example(t, "session.json", b)
	var sess api.SessionResponse
	if err := json.Unmarshal(b, &sess); err != nil || sess.Token == "" || sess.Customer.Email != "ada@example.com" || !sess.Expires.After(time.Now()) {
		t.Fatalf("session %s: %v", b, err)
	}
	status, _, b = do(t, srv, "GET", "/v1/whoami", sess.Token, "", "")
	if status != 200 {
		t.Fatalf("whoami: %d %s", status, b)
	}
	example(t, "whoami.json", b)
	var who api.Whoami
	if err := json.Unmarshal(b, &who); err != nil || who.CustomerID != sess.Customer.CustomerID || who.Name != "Ada Lovelace" {
		t.Errorf("whoami %s", b)
	}
	status, _, b = do(t, srv, "GET", "/v1/profile", sess.Token, "", "")
	if status != 200 {
		t.Fatalf("profile: %d %s", status, b)
	}
	example(t, "profile.json", b)
	var p api.Customer
	if err := json.Unmarshal(b, &p); err != nil || p.Address == nil || p.Address.City != "Springfield" {
		t.Errorf("profile %s", b)
	}
	if status, _, b := do(t, srv, "DELETE", "/v1/sessions", sess.Token, "", ""); status != 204 {
		t.Fatalf("sign out: %d %s", status, b)
	}
	for _, path := range []string{"/v1/whoami", "/v1/profile"} {
		status, h, b := do(t, srv, "GET", path, sess.Token, "", "")
		if status != 401 || h.Get("WWW-Authenticate") == "" {
			t.Errorf("%s after sign-out: %d %s", path, status, b)
		}
	}
}

// TestSignInThrottlesTheSignedClient: behind a BFF every app user shares the BFF's address, so sign-in
// throttles the client address the BFF's signed Inlay-Context names: one user's failures must not lock
// out another, and a context that does not verify is refused.
func TestSignInThrottlesTheSignedClient(t *testing.T) {
	t.Parallel()
	pub, priv, err := fragments.GenerateKey()
	if err != nil {
		t.Fatal(err)
	}
	srv := newAppWith(t, fragments.NewKeySetVerifier(fragments.KeySet{fragments.KeyMobile: pub}, false))
	signer := fragments.NewKeySigner(fragments.KeyMobile, priv)
	signIn := func(client, header, body string) (int, []byte) {
		t.Helper()
		if header == "" {
			h, err := signer.Sign(fragments.Context{Client: client, Expires: time.Now().Add(time.Minute)})
			if err != nil {
				t.Fatal(err)
			}
			header = h
		}
		req := httptest.NewRequest("POST", "/v1/sessions", strings.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set(fragments.ContextHeader, header)
		res, err := srv.App.Test(req, -1)
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		b, _ := io.ReadAll(res.Body)
		return res.StatusCode, b
	}
	throttled := false
	for i := 0; i < 30 && !throttled; i++ {
		status, b := signIn("203.0.113.1", "", `{"email":"ada@example.com","password":"wrong guess"}`)
		switch status {
		case 429:
			throttled = true
		case 401:
		default:
			t.Fatalf("failed sign-in %d: %d %s", i, status, b)
		}
	}
	if !throttled {
		t.Fatal("30 failed sign-ins from one client were never throttled")
	}
	// Another app user, through the same BFF (same peer address), with another e-mail is not locked out;
	// ada herself is (her e-mail's failures count too), from any client.
	if status, b := signIn("203.0.113.2", "", `{"email":"grace@example.com","password":"not her password"}`); status != 401 {
		t.Errorf("another client's sign-in: %d %s, want 401 (checked, not throttled)", status, b)
	}
	if status, b := signIn("203.0.113.1", "", `{"email":"grace@example.com","password":"not her password"}`); status != 429 {
		t.Errorf("the throttled client's next sign-in: %d %s, want 429", status, b)
	}
	forged := "v1.mobile.eyJjIjoiMSJ9.AAAA"
	if status, b := signIn("", forged, `{"email":"ada@example.com","password":"analytical engine"}`); status != 401 {
		t.Errorf("forged Inlay-Context: %d %s, want 401", status, b)
	}
}

func TestBadInput(t *testing.T) {
	t.Parallel()
	srv := newApp(t)
	for _, tt := range []struct {
		name, method, target, token, ct, body string
		status                                int
	}{
		{"wrong password", "POST", "/v1/sessions", "", "application/json", `{"email":"ada@example.com","password":"not the right one"}`, 401},
		{"unknown field", "POST", "/v1/sessions", "", "application/json", `{"email":"ada@example.com","password":"analytical engine","remember":true}`, 400},
		{"password a number", "POST", "/v1/sessions", "", "application/json", `{"email":"ada@example.com","password":1}`, 400},
		{"malformed", "POST", "/v1/sessions", "", "application/json", `{"email":`, 400},
		{"form", "POST", "/v1/sessions", "", "application/x-www-form-urlencoded", `email=ada@example.com&password=x`, 415},
		{"too large", "POST", "/v1/sessions", "", "application/json", `{"email":"ada@example.com","password":"` + strings.Repeat("x", api.BodyLimit) + `"}`, 413},
		{"no e-mail", "POST", "/v1/sessions", "", "application/json", `{"password":"analytical engine"}`, 400},
		{"whoami without a token", "GET", "/v1/whoami", "", "", "", 401},
		{"whoami with a forged token", "GET", "/v1/whoami", accounts.NewSessionID(), "", "", 401},
		{"profile with garbage", "GET", "/v1/profile", "../../etc", "", "", 401},
	} {
		status, h, b := do(t, srv, tt.method, tt.target, tt.token, tt.ct, tt.body)
		var p server.Problem
		if status != tt.status || h.Get("Content-Type") != server.MIMEProblemJSON || json.Unmarshal(b, &p) != nil ||
			p.Status != tt.status || p.Detail == "" || p.Code == "" {
			t.Errorf("%s: %d %s %s, want %d with a problem body", tt.name, status, h.Get("Content-Type"), b, tt.status)
		}
		if tt.name == "wrong password" {
			example(t, "problem.json", b)
		}
	}
}

func TestExamplesDecode(t *testing.T) {
	t.Parallel()
	apitest.Decode(t, filepath.Join("testdata", "session.json"), &api.SessionResponse{})
	apitest.Decode(t, filepath.Join("testdata", "whoami.json"), &api.Whoami{})
	apitest.Decode(t, filepath.Join("testdata", "profile.json"), &api.Customer{})
	apitest.Decode(t, filepath.Join("testdata", "problem.json"), &server.Problem{})
}

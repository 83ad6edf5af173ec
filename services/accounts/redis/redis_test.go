package redis_test

import (
	"context"
	"errors"
	"net"
	"testing"
	"time"

	goredis "github.com/redis/go-redis/v9"

	"github.com/inlay-dev/inlay/services/accounts"
	accountsredis "github.com/inlay-dev/inlay/services/accounts/redis"
	"github.com/inlay-dev/inlay/services/kit/kittest"
)

func TestSessions(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	rdb, keys := kittest.Redis(t)
	s := accountsredis.NewSessions(rdb, keys, time.Hour)

	a, err := s.NewSession(ctx, "c-1")
	if err != nil {
		t.Fatal(err)
	}
	b, err := s.NewSession(ctx, "c-1")
	if err != nil {
		t.Fatal(err)
	}
	if a.ID == b.ID || !accounts.ValidSessionID(a.ID) {
		t.Fatalf("session ids %q, %q", a.ID, b.ID)
	}
	got, err := s.Session(ctx, a.ID)
	if err != nil || got.CustomerID != "c-1" {
		t.Fatalf("Session = %+v, %v", got, err)
	}
	// The id itself is not a key: a copy of the keys holds no usable session.
	n, err := rdb.Exists(ctx, keys.Key("session", a.ID)).Result()
	if err != nil || n != 0 {
		t.Errorf("the raw session id is a key (%d, %v)", n, err)
	}
	if err := s.DeleteSession(ctx, a.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Session(ctx, a.ID); !errors.Is(err, accounts.ErrNoSession) {
		t.Errorf("ended session: %v", err)
	}
	if _, err := s.Session(ctx, b.ID); err != nil {
		t.Errorf("the other session ended too: %v", err)
	}
	for _, forged := range []string{"", "x", accounts.NewSessionID(), a.ID + "A", "../../etc/passwd"} {
		if _, err := s.Session(ctx, forged); !errors.Is(err, accounts.ErrNoSession) {
			t.Errorf("Session(%q) = %v", forged, err)
		}
	}
}

// TestSessionExpirySlides: reading a session pushes its expiry back to the full idle time.
func TestSessionExpirySlides(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	rdb, keys := kittest.Redis(t)
	s := accountsredis.NewSessions(rdb, keys, time.Hour)
	sess, err := s.NewSession(ctx, "c-1")
	if err != nil {
		t.Fatal(err)
	}
	var key string
	iter := rdb.Scan(ctx, 0, keys.Key("session", "*"), 10).Iterator()
	for iter.Next(ctx) {
		key = iter.Val()
	}
	if key == "" {
		t.Fatal("no session key")
	}
	if err := rdb.Expire(ctx, key, time.Minute).Err(); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Session(ctx, sess.ID); err != nil {
		t.Fatal(err)
	}
	ttl, err := rdb.TTL(ctx, key).Result()
	if err != nil || ttl <= 30*time.Minute {
		t.Errorf("TTL after use %v (%v), want about an hour", ttl, err)
	}
}

// TestThrottle: ten failures a minute per key; the eleventh attempt is refused, for that key only.
func TestThrottle(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	rdb, keys := kittest.Redis(t)
	th := accountsredis.NewThrottle(rdb, keys, accountsredis.SignInLimit)
	for i := range 10 {
		if err := th.Allowed(ctx, "email:a@example.com", "client:10.0.0.1"); err != nil {
			t.Fatalf("attempt %d refused: %v", i+1, err)
		}
		if err := th.Failed(ctx, "email:a@example.com", "client:10.0.0.1"); err != nil {
			t.Fatal(err)
		}
	}
	if err := th.Allowed(ctx, "email:a@example.com", "client:10.0.0.2"); !errors.Is(err, accounts.ErrThrottled) {
		t.Errorf("11th attempt for the e-mail: %v, want ErrThrottled", err)
	}
	if err := th.Allowed(ctx, "email:b@example.com", "client:10.0.0.1"); !errors.Is(err, accounts.ErrThrottled) {
		t.Errorf("11th attempt from the client: %v, want ErrThrottled", err)
	}
	if err := th.Allowed(ctx, "email:b@example.com", "client:10.0.0.2"); err != nil {
		t.Errorf("other e-mail and client refused: %v", err)
	}
	// Every key lives under the context's prefix.
	var n int
	iter := rdb.Scan(ctx, 0, string(keys)+"signin:*", 100).Iterator()
	for iter.Next(ctx) {
		n++
	}
	if n != 2 {
		t.Errorf("%d throttle keys under the prefix, want 2", n)
	}
}

// closedPort returns a loopback address nothing listens on.
func closedPort(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	return addr
}

// TestThrottleFailsClosed: with Redis unreachable, sign-in is refused as unavailable.
func TestThrottleFailsClosed(t *testing.T) {
	t.Parallel()
	rdb := goredis.NewClient(&goredis.Options{Addr: closedPort(t), DialTimeout: time.Second, MaxRetries: -1})
	defer rdb.Close()
	th := accountsredis.NewThrottle(rdb, "accounts:", accountsredis.SignInLimit)
	err := th.Allowed(context.Background(), "email:a@example.com")
	if accounts.ErrorCode(err) != accounts.Unavailable {
		t.Fatalf("Allowed with Redis down = %v, want Unavailable", err)
	}
}

func TestFlashes(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	rdb, keys := kittest.Redis(t)
	f := accountsredis.NewFlashes(rdb, keys)
	fl := accountsredis.Flash{Values: map[string]string{"email": "a@example.com"}, Errors: accounts.FieldErrors{"": "no"}}
	if err := f.Put(ctx, "sign-in", "tok", fl); err != nil {
		t.Fatal(err)
	}
	if _, ok, _ := f.Take(ctx, "sign-in", "other"); ok {
		t.Error("another visitor's flash")
	}
	got, ok, err := f.Take(ctx, "sign-in", "tok")
	if err != nil || !ok || got.Values["email"] != "a@example.com" || got.Errors[""] != "no" {
		t.Fatalf("Take = %+v, %v, %v", got, ok, err)
	}
	if _, ok, _ := f.Take(ctx, "sign-in", "tok"); ok {
		t.Error("a flash is read twice")
	}
}

package accounts_test

import (
	"context"
	"errors"
	"fmt"
	"net"
	"strconv"
	"testing"
	"time"

	"github.com/go-redis/redis_rate/v10"
	"github.com/jackc/pgx/v5/pgxpool"
	goredis "github.com/redis/go-redis/v9"

	"github.com/inlay-dev/inlay/services/accounts"
	"github.com/inlay-dev/inlay/services/accounts/argon2id"
	"github.com/inlay-dev/inlay/services/accounts/postgres"
	accountsredis "github.com/inlay-dev/inlay/services/accounts/redis"
	"github.com/inlay-dev/inlay/services/kit/events"
	"github.com/inlay-dev/inlay/services/kit/kittest"
)

// testLimit is SignInLimit's burst with a refill so slow that no test depends on its own speed.
var testLimit = redis_rate.Limit{Rate: 1, Burst: accountsredis.SignInLimit.Burst, Period: time.Hour}

// testEmailLimit (an e-mail from anywhere) and testClientLimit (an address with any e-mail) are
// above testLimit (an e-mail from one address), as in accountsd, and as slow.
var (
	testEmailLimit  = redis_rate.Limit{Rate: 1, Burst: 2 * accountsredis.SignInLimit.Burst, Period: time.Hour}
	testClientLimit = redis_rate.Limit{Rate: 1, Burst: 3 * accountsredis.SignInLimit.Burst, Period: time.Hour}
)

type env struct {
	svc       *accounts.Service
	customers *postgres.Customers
	sessions  *accountsredis.Sessions
	pool      *pgxpool.Pool
}

// newService wires a Service on a fresh database and Redis prefix; rdb, when not nil, replaces the
// throttle's Redis (to point it at a closed port).
func newService(t *testing.T, throttleRedis goredis.Scripter) env {
	t.Helper()
	pool := kittest.Postgres(t, postgres.Migrations())
	if err := events.Migrate(context.Background(), pool); err != nil {
		t.Fatal(err)
	}
	rdb, keys := kittest.Redis(t)
	// The floor of the parameters (argon2id.Minimum): the tests are about the service, not the hash's cost,
	// and run under the race detector on two cores.
	h, err := argon2id.New(argon2id.Minimum)
	if err != nil {
		t.Fatal(err)
	}
	var tr goredis.Scripter = rdb
	if throttleRedis != nil {
		tr = throttleRedis
	}
	e := env{pool: pool, customers: postgres.NewCustomers(pool), sessions: accountsredis.NewSessions(rdb, keys, 0)}
	e.svc, err = accounts.NewService(accounts.ServiceOptions{Customers: e.customers, Sessions: e.sessions,
		Throttle: accountsredis.NewThrottle(tr, keys, testLimit).WithLimit(accountsredis.EmailKeyPrefix, testEmailLimit).
			WithLimit(accountsredis.ClientKeyPrefix, testClientLimit), Hasher: h})
	if err != nil {
		t.Fatal(err)
	}
	return e
}

func mustRegister(t *testing.T, e env, email string) (accounts.Customer, accounts.Session) {
	t.Helper()
	c, s, err := e.svc.Register(context.Background(), accounts.Registration{Name: "Ada Lovelace", Email: email, Password: "analytical engine"}, "client-of-"+email, "")
	if err != nil {
		t.Fatal(err)
	}
	return c, s
}

// TestSignInRotatesSessions: every sign-in gets a new session id, the one the request came with
// ends, and sign-out ends the session server-side.
func TestSignInRotatesSessions(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	e := newService(t, nil)
	c, first := mustRegister(t, e, " Ada@Example.com ")
	if c.Email != "ada@example.com" {
		t.Errorf("e-mail stored as %q", c.Email)
	}
	got, _, err := e.svc.Whoami(ctx, first.ID)
	if err != nil || got.ID != c.ID || got.Name != "Ada Lovelace" {
		t.Fatalf("Whoami after register = %+v, %v", got, err)
	}
	_, second, err := e.svc.SignIn(ctx, accounts.Credentials{Email: "ADA@example.com", Password: "analytical engine"}, "10.0.0.1", first.ID)
	if err != nil {
		t.Fatal(err)
	}
	if second.ID == first.ID {
		t.Fatal("sign-in kept the session id")
	}
	if _, _, err := e.svc.Whoami(ctx, first.ID); !errors.Is(err, accounts.ErrNoSession) {
		t.Errorf("the previous session still resolves: %v", err)
	}
	if err := e.svc.SignOut(ctx, second.ID); err != nil {
		t.Fatal(err)
	}
	if _, _, err := e.svc.Whoami(ctx, second.ID); !errors.Is(err, accounts.ErrNoSession) {
		t.Errorf("signed-out session still resolves: %v", err)
	}
}

func TestRegisterBadInput(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	e := newService(t, nil)
	mustRegister(t, e, "ada@example.com")
	for _, r := range []accounts.Registration{
		{Name: "", Email: "b@example.com", Password: "12345678"},
		{Name: "B", Email: "not-an-email", Password: "12345678"},
		{Name: "B", Email: "b@example.com", Password: "1234567"},
		{Name: "B", Email: "b@example.com", Password: string(make([]byte, 129))},
	} {
		if _, _, err := e.svc.Register(ctx, r, "10.0.0.2", ""); accounts.ErrorCode(err) != accounts.Invalid {
			t.Errorf("Register(%+v) = %v, want Invalid", r, err)
		}
	}
	if _, _, err := e.svc.Register(ctx, accounts.Registration{Name: "B", Email: "ADA@EXAMPLE.COM", Password: "12345678"}, "10.0.0.2", ""); !errors.Is(err, accounts.ErrEmailTaken) {
		t.Errorf("duplicate e-mail: %v", err)
	}
	if _, err := e.customers.CustomerByEmail(ctx, "b@example.com"); !errors.Is(err, accounts.ErrCustomerNotFound) {
		t.Errorf("a refused registration stored a customer: %v", err)
	}
}

// TestRegisterThrottledAndRotates: registering while signed in ends the session the request came
// with; the 11th registration from one client within the throttle's window is refused (and stores
// nothing), whether its e-mail is new or taken, so the "already an account" answer cannot be asked
// about many addresses; another client is not affected.
func TestRegisterThrottledAndRotates(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	e := newService(t, nil)
	_, old := mustRegister(t, e, "ada@example.com")
	_, fresh, err := e.svc.Register(ctx, accounts.Registration{Name: "Bob", Email: "bob@example.com", Password: "analytical engine"}, "10.0.0.9", old.ID)
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := e.svc.Whoami(ctx, old.ID); !errors.Is(err, accounts.ErrNoSession) {
		t.Errorf("the session the registration came with still resolves: %v", err)
	}
	if _, _, err := e.svc.Whoami(ctx, fresh.ID); err != nil {
		t.Errorf("the new session: %v", err)
	}
	for i := range 9 { // the 10.0.0.9's first was bob@
		email := fmt.Sprintf("c%d@example.com", i)
		if i%2 == 1 {
			email = "ada@example.com"
		}
		_, _, err := e.svc.Register(ctx, accounts.Registration{Name: "C", Email: email, Password: "analytical engine"}, "10.0.0.9", "")
		if err != nil && !errors.Is(err, accounts.ErrEmailTaken) {
			t.Fatalf("registration %d: %v", i+2, err)
		}
	}
	for _, email := range []string{"ada@example.com", "new@example.com"} {
		_, _, err := e.svc.Register(ctx, accounts.Registration{Name: "D", Email: email, Password: "analytical engine"}, "10.0.0.9", "")
		if !errors.Is(err, accounts.ErrRegisterThrottled) {
			t.Errorf("11th registration from the client (%s): %v, want ErrRegisterThrottled", email, err)
		}
	}
	if _, err := e.customers.CustomerByEmail(ctx, "new@example.com"); !errors.Is(err, accounts.ErrCustomerNotFound) {
		t.Errorf("a throttled registration stored a customer: %v", err)
	}
	if _, _, err := e.svc.Register(ctx, accounts.Registration{Name: "E", Email: "new@example.com", Password: "analytical engine"}, "10.0.0.10", ""); err != nil {
		t.Errorf("another client: %v", err)
	}
}

// TestThrottling: a wrong password and an unknown e-mail get the same answer and both count. An
// e-mail that has used its failures from one address (10) is refused there even with the right
// password, but its owner still signs in from elsewhere; an e-mail that has used its failures from
// everywhere (20 here) is refused everywhere; an address that has used its own (30 here: many
// shoppers may share one) is refused with any e-mail, while one shopper's failures there do not lock
// out the others.
func TestThrottling(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	e := newService(t, nil)
	mustRegister(t, e, "ada@example.com")
	mustRegister(t, e, "bob@example.com")
	signIn := func(email, password, client string) error {
		_, _, err := e.svc.SignIn(ctx, accounts.Credentials{Email: email, Password: password}, client, "")
		return err
	}
	// Someone fails 10 times with ada@'s e-mail from 10.0.0.1 (an unknown e-mail once in between).
	for i := range 11 {
		email := "ada@example.com"
		if i == 5 {
			email = "nobody@example.com"
		}
		if err := signIn(email, "wrong password", "10.0.0.1"); !errors.Is(err, accounts.ErrBadCredentials) || err.Error() != accounts.ErrBadCredentials.Error() {
			t.Fatalf("attempt %d (%s): %v, want exactly ErrBadCredentials", i+1, email, err)
		}
	}
	if err := signIn("ada@example.com", "analytical engine", "10.0.0.1"); !errors.Is(err, accounts.ErrThrottled) {
		t.Errorf("11th attempt for the e-mail from the address: %v, want ErrThrottled", err)
	}
	// Ada herself, elsewhere, is not locked out by it; nor is Bob behind the same address.
	if err := signIn("ada@example.com", "analytical engine", "10.0.9.1"); err != nil {
		t.Errorf("the e-mail's owner from another address: %v", err)
	}
	if err := signIn("bob@example.com", "analytical engine", "10.0.0.1"); err != nil {
		t.Errorf("another shopper behind the same address: %v", err)
	}
	// 10 more failures for ada@, one from each of 10 addresses: the e-mail's budget is used up.
	for i := range 10 {
		if err := signIn("ada@example.com", "wrong password", "10.0.1."+strconv.Itoa(i+1)); !errors.Is(err, accounts.ErrBadCredentials) {
			t.Fatalf("failure %d from another address: %v", i+1, err)
		}
	}
	if err := signIn("ada@example.com", "analytical engine", "10.0.2.1"); !errors.Is(err, accounts.ErrThrottled) {
		t.Errorf("after 20 failures from everywhere, from a fresh address: %v, want ErrThrottled", err)
	}
	// One address trying many e-mails uses up the address's budget: then it is refused whatever the
	// e-mail and password.
	for i := range 30 {
		if err := signIn("user"+strconv.Itoa(i)+"@example.com", "wrong password", "10.0.4.1"); !errors.Is(err, accounts.ErrBadCredentials) {
			t.Fatalf("spray %d: %v", i+1, err)
		}
	}
	if err := signIn("bob@example.com", "analytical engine", "10.0.4.1"); !errors.Is(err, accounts.ErrThrottled) {
		t.Errorf("31st attempt from the address: %v, want ErrThrottled", err)
	}
	// Someone else, elsewhere, is not affected.
	if err := signIn("bob@example.com", "analytical engine", "10.0.3.1"); err != nil {
		t.Errorf("other customer: %v", err)
	}
	// An IPv6 client is counted by its /64: its next address shares the budget it used up.
	for i := range 30 {
		if err := signIn("v6user"+strconv.Itoa(i)+"@example.com", "wrong password", "2001:db8:1:2::"+strconv.FormatInt(int64(i+1), 16)); !errors.Is(err, accounts.ErrBadCredentials) {
			t.Fatalf("IPv6 spray %d: %v", i+1, err)
		}
	}
	if err := signIn("bob@example.com", "analytical engine", "2001:db8:1:2:ffff::1"); !errors.Is(err, accounts.ErrThrottled) {
		t.Errorf("another address of the same /64: %v, want ErrThrottled", err)
	}
	if err := signIn("bob@example.com", "analytical engine", "2001:db8:1:3::1"); err != nil {
		t.Errorf("another /64: %v", err)
	}
}

// TestSignInFailsClosed: with the throttle's Redis unreachable, sign-in is refused (Unavailable),
// even with the right password, and so is a registration, before it stores anything.
func TestSignInFailsClosed(t *testing.T) {
	t.Parallel()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	down := goredis.NewClient(&goredis.Options{Addr: addr, DialTimeout: time.Second, MaxRetries: -1})
	t.Cleanup(func() { down.Close() })
	e := newService(t, down)
	_, _, err = e.svc.Register(context.Background(), accounts.Registration{Name: "Bob", Email: "bob@example.com", Password: "analytical engine"}, "10.0.0.1", "")
	if accounts.ErrorCode(err) != accounts.Unavailable {
		t.Errorf("Register with Redis down = %v, want Unavailable", err)
	}
	if _, err := e.customers.CustomerByEmail(context.Background(), "bob@example.com"); !errors.Is(err, accounts.ErrCustomerNotFound) {
		t.Errorf("a registration refused for the throttle stored a customer: %v", err)
	}
	h, err := argon2id.New(argon2id.Minimum)
	if err != nil {
		t.Fatal(err)
	}
	hash, err := h.Hash("analytical engine")
	if err != nil {
		t.Fatal(err)
	}
	if err := e.customers.Create(context.Background(), accounts.Customer{ID: accounts.NewID(), Email: "ada@example.com",
		Name: "Ada", PasswordHash: hash, CreatedAt: time.Now().UTC()}); err != nil {
		t.Fatal(err)
	}
	_, _, err = e.svc.SignIn(context.Background(), accounts.Credentials{Email: "ada@example.com", Password: "analytical engine"}, "10.0.0.1", "")
	if accounts.ErrorCode(err) != accounts.Unavailable {
		t.Fatalf("SignIn with Redis down = %v, want Unavailable", err)
	}
}

// TestWhoamiDeletedCustomer: a session whose customer is gone resolves to nobody and ends.
func TestWhoamiDeletedCustomer(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	e := newService(t, nil)
	c, s := mustRegister(t, e, "ada@example.com")
	// Delete the row as an operator would.
	if _, err := e.pool.Exec(ctx, `DELETE FROM customers WHERE id = $1`, c.ID); err != nil {
		t.Fatal(err)
	}
	if _, _, err := e.svc.Whoami(ctx, s.ID); !errors.Is(err, accounts.ErrNoSession) {
		t.Fatalf("Whoami for a deleted customer = %v", err)
	}
	if _, err := e.sessions.Session(ctx, s.ID); !errors.Is(err, accounts.ErrNoSession) {
		t.Errorf("the session of a deleted customer was kept: %v", err)
	}
	for _, forged := range []string{"", "forged", accounts.NewSessionID()} {
		if _, _, err := e.svc.Whoami(ctx, forged); !errors.Is(err, accounts.ErrNoSession) {
			t.Errorf("Whoami(%q) = %v", forged, err)
		}
	}
}

func TestChangeAddress(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	e := newService(t, nil)
	c, _ := mustRegister(t, e, "ada@example.com")
	if _, err := e.svc.ChangeAddress(ctx, c.ID, accounts.Address{Street: "x"}); accounts.ErrorCode(err) != accounts.Invalid {
		t.Errorf("incomplete address: %v", err)
	}
	a := accounts.Address{Street: " Main Street 1", City: "Springfield", Postcode: "12345", Country: "US"}
	got, err := e.svc.ChangeAddress(ctx, c.ID, a)
	if err != nil || got.Address.Street != "Main Street 1" {
		t.Fatalf("ChangeAddress = %+v, %v", got, err)
	}
}

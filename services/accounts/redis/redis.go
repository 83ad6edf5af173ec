// Package redis is the accounts service's Redis adapter, every key under its prefix ("accounts:"):
// sessions (keyed by the SHA-256 of the session id, so a copy of the keys holds no usable session;
// the expiry slides on every use), the sign-in throttle (github.com/go-redis/redis_rate, a GCRA
// limiter kept in Redis) and the short-lived form flashes that carry a refused form's values and
// errors across the redirect back to its page.
package redis

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/go-redis/redis_rate/v10"
	goredis "github.com/redis/go-redis/v9"

	"github.com/inlay-dev/inlay/services/accounts"
	"github.com/inlay-dev/inlay/services/kit/redisdb"
)

// Sessions keeps sessions: session:<sha256(id)> holds the customer id and expires SessionIdle after
// its last use.
type Sessions struct {
	rdb  goredis.UniversalClient
	keys redisdb.Keys
	idle time.Duration
	now  func() time.Time
}

var _ accounts.SessionStore = (*Sessions)(nil)

// NewSessions returns the session store; idle is the sliding expiry (accounts.SessionIdle when 0).
func NewSessions(rdb goredis.UniversalClient, keys redisdb.Keys, idle time.Duration) *Sessions {
	if idle <= 0 {
		idle = accounts.SessionIdle
	}
	return &Sessions{rdb: rdb, keys: keys, idle: idle, now: time.Now}
}

func (s *Sessions) key(id string) string {
	sum := sha256.Sum256([]byte(id))
	return s.keys.Key("session", hex.EncodeToString(sum[:]))
}

// NewSession stores a session of customerID under a fresh 256-bit random id.
func (s *Sessions) NewSession(ctx context.Context, customerID string) (accounts.Session, error) {
	id := accounts.NewSessionID()
	ok, err := s.rdb.SetNX(ctx, s.key(id), customerID, s.idle).Result()
	if err != nil {
		return accounts.Session{}, fmt.Errorf("new session: %w", err)
	}
	if !ok { // 2^-256: a store that answers this is broken
		return accounts.Session{}, errors.New("new session: id collision")
	}
	return accounts.Session{ID: id, CustomerID: customerID, Expires: s.now().Add(s.idle)}, nil
}

// Session returns the session id and slides its expiry; accounts.ErrNoSession when it does not
// exist (never did, expired or ended).
func (s *Sessions) Session(ctx context.Context, id string) (accounts.Session, error) {
	if !accounts.ValidSessionID(id) {
		return accounts.Session{}, accounts.ErrNoSession
	}
	customer, err := s.rdb.GetEx(ctx, s.key(id), s.idle).Result()
	if errors.Is(err, goredis.Nil) {
		return accounts.Session{}, accounts.ErrNoSession
	}
	if err != nil {
		return accounts.Session{}, fmt.Errorf("read session: %w", err)
	}
	return accounts.Session{ID: id, CustomerID: customer, Expires: s.now().Add(s.idle)}, nil
}

// DeleteSession ends the session id.
func (s *Sessions) DeleteSession(ctx context.Context, id string) error {
	if !accounts.ValidSessionID(id) {
		return nil
	}
	if err := s.rdb.Del(ctx, s.key(id)).Err(); err != nil {
		return fmt.Errorf("end session: %w", err)
	}
	return nil
}

// The sign-in throttle counts each failure under three keys (accounts.Service.SignIn), each with its
// own limit (GCRA: a burst refilled at a steady rate), and refuses while any of them is used up:
//
//   - an e-mail from one client address ("pair:<address> <e-mail>"): SignInLimit, 10 then one a
//     minute — guessing one account's password from one place stays slow;
//   - an e-mail from anywhere ("email:<e-mail>", EmailKeyPrefix): EmailSignInLimit, 50 then one a
//     minute — guessing from many places stays bounded, and whoever fails 10 times with someone
//     else's e-mail locks out only themselves, not its owner signing in from elsewhere;
//   - a client address, whatever the e-mails ("client:<address>", ClientKeyPrefix; an IPv6 address
//     by its /64):
//     ClientSignInLimit, 100 then 10 a minute — one address trying a password on many accounts stays
//     slow, while the shoppers who share an address (an office, a carrier's NAT) are not locked out
//     by one another's typos.
var (
	SignInLimit       = redis_rate.Limit{Rate: 1, Burst: 10, Period: time.Minute}
	EmailSignInLimit  = redis_rate.Limit{Rate: 1, Burst: 50, Period: time.Minute}
	ClientSignInLimit = redis_rate.Limit{Rate: 10, Burst: 100, Period: time.Minute}
)

// Key prefixes of the throttle's keys that WithLimit gives limits of their own.
const (
	EmailKeyPrefix  = "email:"
	ClientKeyPrefix = "client:"
)

// Throttle counts failed sign-ins with redis_rate. It fails closed: when Redis cannot be asked, it
// answers accounts.ErrSignInUnavailable.
type Throttle struct {
	limiter *redis_rate.Limiter
	limit   redis_rate.Limit
	// byPrefix are the limits of keys that start with a prefix (WithLimit).
	byPrefix map[string]redis_rate.Limit
}

var _ accounts.Throttle = (*Throttle)(nil)

// NewThrottle returns a throttle with limit whose keys live under keys' prefix.
func NewThrottle(rdb goredis.Scripter, keys redisdb.Keys, limit redis_rate.Limit) *Throttle {
	return &Throttle{limiter: redis_rate.NewLimiter(prefixed{Scripter: rdb, prefix: keys.Key("signin") + ":"}), limit: limit}
}

// WithLimit gives the keys that start with prefix (EmailKeyPrefix, ClientKeyPrefix) a limit of their own and returns t.
func (t *Throttle) WithLimit(prefix string, l redis_rate.Limit) *Throttle {
	if t.byPrefix == nil {
		t.byPrefix = map[string]redis_rate.Limit{}
	}
	t.byPrefix[prefix] = l
	return t
}

// limitOf is key's limit.
func (t *Throttle) limitOf(key string) redis_rate.Limit {
	for p, l := range t.byPrefix {
		if strings.HasPrefix(key, p) {
			return l
		}
	}
	return t.limit
}

// Allowed peeks at every key without counting (redis_rate with n = 0) and returns
// accounts.ErrThrottled when one has no failure left.
func (t *Throttle) Allowed(ctx context.Context, keys ...string) error {
	for _, k := range keys {
		res, err := t.limiter.AllowN(ctx, k, t.limitOf(k), 0)
		if err != nil {
			return &accounts.Error{Code: accounts.Unavailable, Message: accounts.ErrSignInUnavailable.Message,
				Err: fmt.Errorf("sign-in throttle: %w", err)}
		}
		if res.Remaining < 1 {
			return accounts.ErrThrottled
		}
	}
	return nil
}

// Failed counts one failure for every key.
func (t *Throttle) Failed(ctx context.Context, keys ...string) error {
	for _, k := range keys {
		if _, err := t.limiter.Allow(ctx, k, t.limitOf(k)); err != nil {
			return fmt.Errorf("count failed sign-in: %w", err)
		}
	}
	return nil
}

// prefixed puts the service's prefix before the keys redis_rate uses ("rate:<key>"), so its keys too
// start with "accounts:" like every key the context owns.
type prefixed struct {
	goredis.Scripter
	prefix string
}

func (p prefixed) fix(keys []string) []string {
	out := make([]string, len(keys))
	for i, k := range keys {
		out[i] = p.prefix + strings.TrimPrefix(k, "rate:")
	}
	return out
}

func (p prefixed) Eval(ctx context.Context, script string, keys []string, args ...any) *goredis.Cmd {
	return p.Scripter.Eval(ctx, script, p.fix(keys), args...)
}

func (p prefixed) EvalSha(ctx context.Context, sha1 string, keys []string, args ...any) *goredis.Cmd {
	return p.Scripter.EvalSha(ctx, sha1, p.fix(keys), args...)
}

func (p prefixed) EvalRO(ctx context.Context, script string, keys []string, args ...any) *goredis.Cmd {
	return p.Scripter.EvalRO(ctx, script, p.fix(keys), args...)
}

func (p prefixed) EvalShaRO(ctx context.Context, sha1 string, keys []string, args ...any) *goredis.Cmd {
	return p.Scripter.EvalShaRO(ctx, sha1, p.fix(keys), args...)
}

// Del is what redis_rate's Reset calls; the throttle never resets, but the method must exist.
func (p prefixed) Del(ctx context.Context, keys ...string) *goredis.IntCmd {
	cmd := goredis.NewIntCmd(ctx)
	cmd.SetErr(errors.New("sign-in throttle: reset is not allowed"))
	return cmd
}

// Flash is a refused form's typed values and errors (accounts.Flash).
type Flash = accounts.Flash

// FlashTTL is how long a flash waits to be shown.
const FlashTTL = 5 * time.Minute

// Flashes keeps flashes under flash:<form>:<sha256(owner)>, where owner is the visitor's CSRF token
// (the one per-browser secret a guest has); each is read once.
type Flashes struct {
	rdb  goredis.Cmdable
	keys redisdb.Keys
}

// NewFlashes returns the flash store.
func NewFlashes(rdb goredis.Cmdable, keys redisdb.Keys) *Flashes {
	return &Flashes{rdb: rdb, keys: keys}
}

func (f *Flashes) key(form, owner string) string {
	sum := sha256.Sum256([]byte(owner))
	return f.keys.Key("flash", form, hex.EncodeToString(sum[:]))
}

// Put keeps fl for form and owner; an empty owner keeps nothing.
func (f *Flashes) Put(ctx context.Context, form, owner string, fl Flash) error {
	if owner == "" {
		return nil
	}
	b, err := json.Marshal(fl)
	if err != nil {
		return fmt.Errorf("flash %s: %w", form, err)
	}
	if err := f.rdb.Set(ctx, f.key(form, owner), b, FlashTTL).Err(); err != nil {
		return fmt.Errorf("flash %s: %w", form, err)
	}
	return nil
}

// Take returns and removes the flash of form and owner; ok is false when there is none.
func (f *Flashes) Take(ctx context.Context, form, owner string) (Flash, bool, error) {
	if owner == "" {
		return Flash{}, false, nil
	}
	b, err := f.rdb.GetDel(ctx, f.key(form, owner)).Bytes()
	if errors.Is(err, goredis.Nil) {
		return Flash{}, false, nil
	}
	if err != nil {
		return Flash{}, false, fmt.Errorf("take flash %s: %w", form, err)
	}
	var fl Flash
	if err := json.Unmarshal(b, &fl); err != nil {
		return Flash{}, false, fmt.Errorf("take flash %s: %w", form, err)
	}
	return fl, true, nil
}

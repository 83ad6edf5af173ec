package embed

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"net/url"
	"regexp"
	"strings"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
)

//go:embed migrations/*.sql
var migrations embed.FS

// Migrations returns the goose migrations of embed's database (inlay_embed).
func Migrations() fs.FS {
	sub, err := fs.Sub(migrations, "migrations")
	if err != nil {
		panic(err) // "migrations" is a valid path
	}
	return sub
}

// Partner is a site that may embed fragments.
type Partner struct {
	ID   int64
	Name string
	// Origins are the browser origins ("https://shop.example") its publishable key works from.
	Origins []string
	// Fragments are the fragments it may embed, "context/name" ("decide/product-card").
	Fragments []string
	// RatePerMinute bounds its requests per key.
	RatePerMinute int
	Revoked       bool
}

// Allows reports whether the partner may embed context/name.
func (p Partner) Allows(context, name string) bool {
	for _, f := range p.Fragments {
		if f == context+"/"+name {
			return true
		}
	}
	return false
}

// AllowsOrigin reports whether origin is one of the partner's.
func (p Partner) AllowsOrigin(origin string) bool {
	for _, o := range p.Origins {
		if o == origin {
			return true
		}
	}
	return false
}

// KeyKind says how a key may be used.
type KeyKind int

// Key kinds.
const (
	Publishable KeyKind = iota + 1 // in browsers, with an allowed Origin
	Secret                         // from servers, never in a browser request
)

func (k KeyKind) String() string {
	if k == Secret {
		return "secret"
	}
	return "publishable"
}

// Keys are a new partner's keys, shown once.
type Keys struct {
	Publishable, Secret string
}

// Key prefixes tell the kinds apart at a glance.
const (
	publishablePrefix = "pk_"
	secretPrefix      = "sk_"
)

func hashKey(key string) []byte {
	sum := sha256.Sum256([]byte(key))
	return sum[:]
}

var (
	partnerName  = regexp.MustCompile(`^[a-z0-9][a-z0-9._-]{0,62}$`)
	fragmentName = regexp.MustCompile(`^[a-z][a-z0-9-]{0,62}/[a-z][a-z0-9-]{0,62}$`)
)

// ErrUnknownKey is returned for a key that no partner holds, or a revoked partner's.
var ErrUnknownKey = errors.New("embed: unknown or revoked key")

// Store keeps the partners in PostgreSQL.
type Store struct {
	db *pgxpool.Pool
}

// NewStore returns the partner store on embed's database.
func NewStore(db *pgxpool.Pool) *Store { return &Store{db: db} }

// NewPartner is what Add needs.
type NewPartner struct {
	Name          string
	Origins       []string
	Fragments     []string
	RatePerMinute int
}

func (n NewPartner) validate() error {
	if !partnerName.MatchString(n.Name) {
		return fmt.Errorf("partner name %q: lower-case letters, digits, '.', '_' and '-'", n.Name)
	}
	for _, o := range n.Origins {
		u, err := url.Parse(o)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.Path != "" || u.RawQuery != "" || u.User != nil || o != u.Scheme+"://"+u.Host {
			return fmt.Errorf("origin %q: want scheme://host[:port]", o)
		}
	}
	if len(n.Fragments) == 0 {
		return errors.New("a partner needs at least one fragment (context/name)")
	}
	for _, f := range n.Fragments {
		if !fragmentName.MatchString(f) {
			return fmt.Errorf("fragment %q: want context/name", f)
		}
	}
	if n.RatePerMinute <= 0 || n.RatePerMinute > 1_000_000 {
		return fmt.Errorf("rate %d per minute: want 1 … 1000000", n.RatePerMinute)
	}
	return nil
}

// Add stores a partner with fresh keys and returns them: they are not stored, only their hashes.
func (s *Store) Add(ctx context.Context, n NewPartner) (Keys, error) {
	if err := n.validate(); err != nil {
		return Keys{}, err
	}
	if n.Origins == nil {
		n.Origins = []string{} // a server-only partner; NULL is not an empty list
	}
	k := Keys{Publishable: publishablePrefix + rand.Text(), Secret: secretPrefix + rand.Text()}
	_, err := s.db.Exec(ctx, `INSERT INTO partners (name, origins, fragments, rate_per_minute, publishable_hash, secret_hash)
		VALUES ($1, $2, $3, $4, $5, $6)`, n.Name, n.Origins, n.Fragments, n.RatePerMinute, hashKey(k.Publishable), hashKey(k.Secret))
	if err != nil {
		return Keys{}, fmt.Errorf("add partner %s: %w", n.Name, err)
	}
	return k, nil
}

// List returns every partner, revoked ones included, by name.
func (s *Store) List(ctx context.Context) ([]Partner, error) {
	rows, err := s.db.Query(ctx, `SELECT id, name, origins, fragments, rate_per_minute, revoked_at IS NOT NULL
		FROM partners ORDER BY name`)
	if err != nil {
		return nil, fmt.Errorf("list partners: %w", err)
	}
	ps, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (Partner, error) {
		var p Partner
		err := r.Scan(&p.ID, &p.Name, &p.Origins, &p.Fragments, &p.RatePerMinute, &p.Revoked)
		return p, err
	})
	if err != nil {
		return nil, fmt.Errorf("list partners: %w", err)
	}
	return ps, nil
}

// Revoke revokes the named partner's keys; it reports whether there was such a partner.
func (s *Store) Revoke(ctx context.Context, name string) (bool, error) {
	tag, err := s.db.Exec(ctx, `UPDATE partners SET revoked_at = coalesce(revoked_at, now()) WHERE name = $1`, name)
	if err != nil {
		return false, fmt.Errorf("revoke partner %s: %w", name, err)
	}
	return tag.RowsAffected() == 1, nil
}

// ByKey returns the partner holding key and the key's kind, or ErrUnknownKey.
func (s *Store) ByKey(ctx context.Context, key string) (Partner, KeyKind, error) {
	if !strings.HasPrefix(key, publishablePrefix) && !strings.HasPrefix(key, secretPrefix) || len(key) > 64 {
		return Partner{}, 0, ErrUnknownKey
	}
	h := hashKey(key)
	var p Partner
	var secret bool
	err := s.db.QueryRow(ctx, `SELECT id, name, origins, fragments, rate_per_minute, secret_hash = $1
		FROM partners WHERE (publishable_hash = $1 OR secret_hash = $1) AND revoked_at IS NULL`, h).
		Scan(&p.ID, &p.Name, &p.Origins, &p.Fragments, &p.RatePerMinute, &secret)
	if errors.Is(err, pgx.ErrNoRows) {
		return Partner{}, 0, ErrUnknownKey
	}
	if err != nil {
		return Partner{}, 0, fmt.Errorf("look up partner key: %w", err)
	}
	if secret {
		return p, Secret, nil
	}
	return p, Publishable, nil
}

// KeyCache remembers ByKey's answers, found or not, for TTL, so a revoked key stops working on every
// instance within TTL (the README promises 5 s) without a database query per request.
type KeyCache struct {
	store *Store
	ttl   time.Duration
	now   func() time.Time

	mu sync.Mutex
	m  map[[sha256.Size]byte]cachedKey
}

type cachedKey struct {
	p    Partner
	kind KeyKind
	err  error
	at   time.Time
}

// maxCachedKeys bounds the cache; it is emptied when full (a flood of made-up keys).
const maxCachedKeys = 10000

// NewKeyCache returns a cache of store's keys.
func NewKeyCache(store *Store, ttl time.Duration, now func() time.Time) *KeyCache {
	if now == nil {
		now = time.Now
	}
	return &KeyCache{store: store, ttl: ttl, now: now, m: map[[sha256.Size]byte]cachedKey{}}
}

// ByKey is Store.ByKey, remembered for the cache's TTL. Errors other than ErrUnknownKey are not
// remembered.
func (c *KeyCache) ByKey(ctx context.Context, key string) (Partner, KeyKind, error) {
	h := sha256.Sum256([]byte(key))
	now := c.now()
	c.mu.Lock()
	e, ok := c.m[h]
	c.mu.Unlock()
	if ok && now.Sub(e.at) < c.ttl {
		return e.p, e.kind, e.err
	}
	p, kind, err := c.store.ByKey(ctx, key)
	if err != nil && !errors.Is(err, ErrUnknownKey) {
		return Partner{}, 0, err
	}
	c.mu.Lock()
	if len(c.m) >= maxCachedKeys {
		c.m = map[[sha256.Size]byte]cachedKey{}
	}
	c.m[h] = cachedKey{p: p, kind: kind, err: err, at: now}
	c.mu.Unlock()
	return p, kind, err
}

package compose

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/maphash"
	"log/slog"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/inlay-dev/inlay/services/kit/redisdb"
)

// Cache holds public fragments in process and, when given a Redis client, in Redis shared by every
// shell replica. Entries are fresh for max-age, may be served stale (and revalidated in the
// background) for stale-while-revalidate, and are kept afterwards as the last good copy for
// fallbacks until evicted.
type Cache struct {
	opts   CacheOptions
	seed   maphash.Seed
	shards [cacheShards]cacheShard
	purges purgeLog

	// own counts this process's purge messages not yet heard back on the channel while Subscribe
	// runs: it already purged itself, and a second local purge could drop a copy fetched since.
	ownMu      sync.Mutex
	own        map[string]int
	subscribed bool

	// outage keeps a failing Redis out of the pages' way for a moment: the cache is then this
	// process's memory alone, and no page waits on Redis's timeout again until the window ends.
	outage redisdb.Outage
}

// publish sends a purge message to the other replicas, noting it as this process's own.
func (c *Cache) publish(ctx context.Context, payload string) error {
	c.ownMu.Lock()
	if c.subscribed {
		c.own[payload]++
	}
	c.ownMu.Unlock()
	err := c.opts.Redis.Publish(ctx, c.opts.Prefix+purgeChannel, payload).Err()
	if err != nil {
		c.ownMu.Lock()
		if c.own[payload] > 0 {
			c.own[payload]--
		}
		c.ownMu.Unlock()
	}
	return err
}

// echo reports whether a message heard on the channel is one of this process's own, and forgets it.
func (c *Cache) echo(payload string) bool {
	c.ownMu.Lock()
	defer c.ownMu.Unlock()
	if c.own[payload] == 0 {
		return false
	}
	c.own[payload]--
	if c.own[payload] == 0 {
		delete(c.own, payload)
	}
	return true
}

// purgeLog remembers this process's recent purges (its own and other replicas'), so that a fetch
// that was in flight when one happened does not store what the purge was meant to drop: the team
// may have answered it from before the change (a price committed while the fragment was rendered).
type purgeLog struct {
	mu       sync.Mutex
	seq      uint64 // one more for every purge
	tags     map[string]purgeMark
	prefixes []prefixMark
	pruned   time.Time
}

type purgeMark struct {
	seq uint64
	at  time.Time // wall clock, for forgetting old marks
}

type prefixMark struct {
	prefix string
	purgeMark
}

// purgeMemory is how long a purge is remembered: longer than any fetch may take (a fragment's
// deadline is at most 30 s).
const purgeMemory = time.Minute

// generation is the purge count to pass to purgedSince once a fetch's answer is in.
func (c *Cache) generation() uint64 {
	c.purges.mu.Lock()
	defer c.purges.mu.Unlock()
	return c.purges.seq
}

// purgedSince reports whether a purge since generation gen covered key (by a prefix of it) or one
// of tags: a copy fetched since then must not be stored.
func (c *Cache) purgedSince(gen uint64, key string, tags []string) bool {
	l := &c.purges
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.seq == gen {
		return false
	}
	for _, t := range tags {
		if m, ok := l.tags[t]; ok && m.seq > gen {
			return true
		}
	}
	for _, p := range l.prefixes {
		if p.seq > gen && strings.HasPrefix(key, p.prefix) {
			return true
		}
	}
	return false
}

// markPurged notes a purge by tag (prefix false) or by key prefix, forgetting marks older than
// purgeMemory.
func (c *Cache) markPurged(s string, prefix bool) {
	l := &c.purges
	now := time.Now()
	l.mu.Lock()
	defer l.mu.Unlock()
	l.seq++
	m := purgeMark{seq: l.seq, at: now}
	if prefix {
		l.prefixes = append(l.prefixes, prefixMark{prefix: s, purgeMark: m})
	} else {
		if l.tags == nil {
			l.tags = map[string]purgeMark{}
		}
		l.tags[s] = m
	}
	if now.Sub(l.pruned) < purgeMemory/4 {
		return
	}
	l.pruned = now
	for t, m := range l.tags {
		if now.Sub(m.at) > purgeMemory {
			delete(l.tags, t)
		}
	}
	l.prefixes = slices.DeleteFunc(l.prefixes, func(p prefixMark) bool { return now.Sub(p.at) > purgeMemory })
}

const cacheShards = 32

type cacheShard struct {
	mu sync.RWMutex
	m  map[string]*entry
}

// CacheOptions configures NewCache.
type CacheOptions struct {
	// Redis, when not nil, is the shared second level; keys start with Prefix.
	Redis  *redis.Client
	Prefix string
	// MaxEntries bounds the in-process level [10000].
	MaxEntries int
	// KeepLastGood is how long an expired entry is kept in Redis as a last good copy [1h].
	KeepLastGood time.Duration
	// RedisTimeout bounds each Redis call [50ms]; a slow Redis is a miss, never a slow page.
	RedisTimeout time.Duration
	// Now is the clock [time.Now].
	Now func() time.Time
	Log *slog.Logger
}

// entry is one cached fragment. It is immutable once stored; a revalidation stores a new one.
type entry struct {
	body    []byte
	etag    string
	stored  time.Time
	maxAge  time.Duration
	swr     time.Duration
	version string   // the team's manifest version when stored
	tags    []string // the fragment's cache tags (fragments.TagsHeader), for purges by tag
	title   string   // what the fragment says a page it is the primary of shows (fragments.TitleHeader)
	tmpl    *Template
	// pass marks a key whose last answer was not cacheable ("hit for pass"): while it is fresh,
	// requests go straight to the team, without Redis or request coalescing. Never in Redis.
	pass bool
}

// cacheControl is the entry's policy as a Cache-Control header at now: public, with the freshness
// and stale-while-revalidate time left.
func (e *entry) cacheControl(now time.Time) string {
	age := now.Sub(e.stored)
	fresh := max(e.maxAge-age, 0)
	swr := e.swr
	if fresh == 0 {
		swr = max(e.maxAge+e.swr-age, 0)
	}
	return "public, max-age=" + strconv.Itoa(int(fresh/time.Second)) + ", stale-while-revalidate=" + strconv.Itoa(int(swr/time.Second))
}

// passTTL is how long a not-cacheable answer makes its key skip the cache.
const passTTL = 30 * time.Second

// freshness of an entry at a moment.
type freshness int

const (
	fresh   freshness = iota // within max-age
	stale                    // within stale-while-revalidate: serve and revalidate
	expired                  // only a last good copy
)

func (e *entry) freshness(now time.Time) freshness {
	age := now.Sub(e.stored)
	switch {
	case age < e.maxAge:
		return fresh
	case age < e.maxAge+e.swr:
		return stale
	default:
		return expired
	}
}

// NewCache builds a cache.
func NewCache(opts CacheOptions) *Cache {
	if opts.MaxEntries <= 0 {
		opts.MaxEntries = 10000
	}
	if opts.KeepLastGood <= 0 {
		opts.KeepLastGood = time.Hour
	}
	if opts.RedisTimeout <= 0 {
		opts.RedisTimeout = 50 * time.Millisecond
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.Log == nil {
		opts.Log = slog.New(slog.DiscardHandler)
	}
	c := &Cache{opts: opts, seed: maphash.MakeSeed()}
	for i := range c.shards {
		c.shards[i].m = map[string]*entry{}
	}
	return c
}

func (c *Cache) shard(key string) *cacheShard {
	return &c.shards[maphash.String(c.seed, key)%cacheShards]
}

// local returns the in-process entry for key.
func (c *Cache) local(key string) *entry {
	s := c.shard(key)
	s.mu.RLock()
	e := s.m[key]
	s.mu.RUnlock()
	return e
}

// get returns the entry for key from process memory, else from Redis (then kept in memory).
func (c *Cache) get(ctx context.Context, key string) *entry {
	if e := c.local(key); e != nil {
		return e
	}
	if c.opts.Redis == nil || c.outage.Down() {
		return nil
	}
	ctx, cancel := context.WithTimeout(ctx, c.opts.RedisTimeout)
	defer cancel()
	b, err := c.opts.Redis.Get(ctx, c.opts.Prefix+key).Bytes()
	if err != nil {
		if c.outage.Record(err) {
			c.opts.Log.Warn("fragment cache read; the shared level is skipped for a moment", "key", key, "error", err.Error())
		}
		return nil
	}
	e, err := decodeEntry(b)
	if err != nil {
		c.opts.Log.Warn("fragment cache decode", "key", key, "error", err.Error())
		return nil
	}
	c.putLocal(key, e)
	return e
}

// put stores e in memory and in Redis.
func (c *Cache) put(ctx context.Context, key string, e *entry) {
	c.putLocal(key, e)
	if c.opts.Redis == nil || e.pass || c.outage.Down() {
		return
	}
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), c.opts.RedisTimeout)
	defer cancel()
	ttl := e.maxAge + e.swr + c.opts.KeepLastGood
	_, err := c.opts.Redis.Pipelined(ctx, func(p redis.Pipeliner) error {
		p.Set(ctx, c.opts.Prefix+key, encodeEntry(e), ttl)
		// Each tag's set of keys, for a purge by tag from any replica; it lives as long as its last
		// entry (entries differ in lifetime by their max-age only: past it, one is a last good copy).
		for _, tag := range e.tags {
			p.SAdd(ctx, c.tagKey(tag), key)
			p.Expire(ctx, c.tagKey(tag), ttl)
		}
		return nil
	})
	if c.outage.Record(err) {
		c.opts.Log.Warn("fragment cache write; the shared level is skipped for a moment", "key", key, "error", err.Error())
	}
}

func (c *Cache) tagKey(tag string) string { return c.opts.Prefix + "tag:" + tag }

// tagPurge marks a purge by tag on the purge channel, whose other messages are key prefixes (which
// start with a context name, never with this).
const tagPurge = "#tag "

// PurgeTag removes every entry tagged tag (fragments.TagsHeader) from this process and from Redis;
// other replicas learn of it by the purge channel when Subscribe runs.
func (c *Cache) PurgeTag(ctx context.Context, tag string) (int, error) {
	n := c.purgeLocalTag(tag)
	if c.opts.Redis == nil {
		return n, nil
	}
	ctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	keys, err := c.opts.Redis.SMembers(ctx, c.tagKey(tag)).Result()
	if err != nil {
		return n, fmt.Errorf("purge tag %q: %w", tag, err)
	}
	del := []string{c.tagKey(tag)}
	for _, k := range keys {
		del = append(del, c.opts.Prefix+k)
	}
	if err := c.opts.Redis.Unlink(ctx, del...).Err(); err != nil {
		return n, fmt.Errorf("purge tag %q: %w", tag, err)
	}
	if err := c.publish(ctx, tagPurge+tag); err != nil {
		return n, fmt.Errorf("purge tag %q: publish: %w", tag, err)
	}
	return max(n, len(keys)), nil
}

func (c *Cache) purgeLocalTag(tag string) int {
	c.markPurged(tag, false)
	n := 0
	for i := range c.shards {
		s := &c.shards[i]
		s.mu.Lock()
		for k, e := range s.m {
			if slices.Contains(e.tags, tag) {
				delete(s.m, k)
				n++
			}
		}
		s.mu.Unlock()
	}
	return n
}

func (c *Cache) putLocal(key string, e *entry) {
	s := c.shard(key)
	limit := c.opts.MaxEntries/cacheShards + 1
	s.mu.Lock()
	if _, ok := s.m[key]; !ok && len(s.m) >= limit {
		// Evict expired entries first, then any one (map order is random).
		now := c.opts.Now()
		for k, old := range s.m {
			if old.freshness(now) == expired {
				delete(s.m, k)
			}
		}
		for k := range s.m {
			if len(s.m) < limit {
				break
			}
			delete(s.m, k)
		}
	}
	s.m[key] = e
	s.mu.Unlock()
}

// Purge removes every entry whose key starts with prefix ("decide/product?id=7" or "decide/") from
// this process and from Redis. Other replicas learn of it by PurgeChannel when Subscribe runs.
func (c *Cache) Purge(ctx context.Context, prefix string) (int, error) {
	n := c.purgeLocal(prefix)
	if c.opts.Redis == nil {
		return n, nil
	}
	ctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	iter := c.opts.Redis.Scan(ctx, 0, c.opts.Prefix+escapeGlob(prefix)+"*", 500).Iterator()
	var keys []string
	for iter.Next(ctx) {
		keys = append(keys, iter.Val())
	}
	if err := iter.Err(); err != nil {
		return n, fmt.Errorf("purge %q: scan: %w", prefix, err)
	}
	if len(keys) > 0 {
		if err := c.opts.Redis.Unlink(ctx, keys...).Err(); err != nil {
			return n, fmt.Errorf("purge %q: %w", prefix, err)
		}
	}
	if err := c.publish(ctx, prefix); err != nil {
		return n, fmt.Errorf("purge %q: publish: %w", prefix, err)
	}
	if len(keys) > n {
		n = len(keys)
	}
	return n, nil
}

const purgeChannel = "purge"

func (c *Cache) purgeLocal(prefix string) int {
	c.markPurged(prefix, true)
	n := 0
	for i := range c.shards {
		s := &c.shards[i]
		s.mu.Lock()
		for k := range s.m {
			if strings.HasPrefix(k, prefix) {
				delete(s.m, k)
				n++
			}
		}
		s.mu.Unlock()
	}
	return n
}

// Subscribe purges this process's entries when another replica purges, until ctx is done.
func (c *Cache) Subscribe(ctx context.Context) error {
	if c.opts.Redis == nil {
		<-ctx.Done()
		return ctx.Err()
	}
	sub := c.opts.Redis.Subscribe(ctx, c.opts.Prefix+purgeChannel)
	defer sub.Close()
	// Subscribed once Redis confirms: from then on this process's messages come back to it.
	if _, err := sub.Receive(ctx); err != nil {
		return fmt.Errorf("fragment cache: subscribe: %w", err)
	}
	c.ownMu.Lock()
	c.subscribed, c.own = true, map[string]int{}
	c.ownMu.Unlock()
	defer func() {
		c.ownMu.Lock()
		c.subscribed, c.own = false, nil
		c.ownMu.Unlock()
	}()
	ch := sub.Channel()
	for {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case m, ok := <-ch:
			if !ok {
				return fmt.Errorf("fragment cache: purge subscription closed")
			}
			if c.echo(m.Payload) {
				continue // purged here already
			}
			if tag, ok := strings.CutPrefix(m.Payload, tagPurge); ok {
				c.purgeLocalTag(tag)
			} else {
				c.purgeLocal(m.Payload)
			}
		}
	}
}

func escapeGlob(s string) string {
	if !strings.ContainsAny(s, `*?[]\`) {
		return s
	}
	var b strings.Builder
	for _, r := range s {
		if strings.ContainsRune(`*?[]\`, r) {
			b.WriteByte('\\')
		}
		b.WriteRune(r)
	}
	return b.String()
}

// Encoding in Redis: magic, stored (unix ns), max-age and swr (ns), then length-prefixed etag,
// version, tags (space-separated) and title, then the body. An entry of the version before
// (entryMagicV2: no title), written by a shell of the release before during a rolling deploy, is
// still read, and gets its title at its next revalidation (fetchAndStore). The other way round, a
// shell of the release before does not read this version's entries: while both run, each takes the
// other's entries for misses (the old one logs a decode warning), fetches and stores its own — some
// more requests to the teams for the few minutes of the rollout (copies live seconds to minutes),
// never a wrong page: both write under the same keys, so a purge removes either.
const (
	entryMagic   = "IF3"
	entryMagicV2 = "IF2"
)

func encodeEntry(e *entry) []byte {
	b := make([]byte, 0, len(entryMagic)+8*3+4*4+len(e.etag)+len(e.version)+len(e.title)+len(e.body)+16*len(e.tags))
	b = append(b, entryMagic...)
	b = binary.BigEndian.AppendUint64(b, uint64(e.stored.UnixNano()))
	b = binary.BigEndian.AppendUint64(b, uint64(e.maxAge))
	b = binary.BigEndian.AppendUint64(b, uint64(e.swr))
	b = binary.BigEndian.AppendUint32(b, uint32(len(e.etag)))
	b = append(b, e.etag...)
	b = binary.BigEndian.AppendUint32(b, uint32(len(e.version)))
	b = append(b, e.version...)
	tags := strings.Join(e.tags, " ")
	b = binary.BigEndian.AppendUint32(b, uint32(len(tags)))
	b = append(b, tags...)
	b = binary.BigEndian.AppendUint32(b, uint32(len(e.title)))
	b = append(b, e.title...)
	return append(b, e.body...)
}

func decodeEntry(b []byte) (*entry, error) {
	v2 := bytes.HasPrefix(b, []byte(entryMagicV2))
	if !(v2 || bytes.HasPrefix(b, []byte(entryMagic))) || len(b) < len(entryMagic)+8*3+4 {
		return nil, errors.New("not a cache entry")
	}
	b = b[len(entryMagic):]
	e := &entry{
		stored: time.Unix(0, int64(binary.BigEndian.Uint64(b))),
		maxAge: time.Duration(binary.BigEndian.Uint64(b[8:])),
		swr:    time.Duration(binary.BigEndian.Uint64(b[16:])),
	}
	b = b[24:]
	var s string
	var err error
	if s, b, err = readString(b); err != nil {
		return nil, err
	}
	e.etag = s
	if s, b, err = readString(b); err != nil {
		return nil, err
	}
	e.version = s
	if s, b, err = readString(b); err != nil {
		return nil, err
	}
	e.tags = strings.Fields(s)
	if !v2 {
		if s, b, err = readString(b); err != nil {
			return nil, err
		}
		e.title = s
	}
	e.body = b
	e.tmpl = parseFragment(b)
	return e, nil
}

func readString(b []byte) (string, []byte, error) {
	if len(b) < 4 {
		return "", nil, errors.New("truncated cache entry")
	}
	n := int(binary.BigEndian.Uint32(b))
	if len(b) < 4+n {
		return "", nil, errors.New("truncated cache entry")
	}
	return string(b[4 : 4+n]), b[4+n:], nil
}

// cachePolicy is what a response's Cache-Control allows.
type cachePolicy struct {
	ok     bool // may be stored in a shared cache
	maxAge time.Duration
	swr    time.Duration
}

// parseCacheControl reads the directives the shell honours: public, private, no-store, no-cache,
// max-age, s-maxage and stale-while-revalidate.
func parseCacheControl(v string) cachePolicy {
	var p cachePolicy
	if v == "" {
		return p
	}
	maxAge, sMaxAge := -1, -1
	private := false
	for _, d := range strings.Split(v, ",") {
		d = strings.TrimSpace(d)
		k, val, _ := strings.Cut(d, "=")
		k = strings.ToLower(strings.TrimSpace(k))
		val = strings.Trim(strings.TrimSpace(val), `"`)
		switch k {
		case "private", "no-store", "no-cache":
			private = true
		case "max-age":
			maxAge = atoiOr(val, -1)
		case "s-maxage":
			sMaxAge = atoiOr(val, -1)
		case "stale-while-revalidate":
			if n := atoiOr(val, 0); n > 0 {
				p.swr = time.Duration(n) * time.Second
			}
		}
	}
	if sMaxAge >= 0 {
		maxAge = sMaxAge
	}
	if private || maxAge <= 0 {
		return cachePolicy{}
	}
	p.ok = true
	p.maxAge = time.Duration(maxAge) * time.Second
	return p
}

func atoiOr(s string, def int) int {
	n, err := strconv.Atoi(s)
	if err != nil || n < 0 {
		return def
	}
	return n
}

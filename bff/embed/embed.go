// Package embed is the backend-for-frontend for third-party pages that embed Inlay fragments
// (docs/fragments.md, "Embedding on other sites"):
//
//	GET /embed/v1/{context}/{fragment}?{params}   one fragment, nested fragments resolved
//	GET /embed/v1/loader.js                       the <inlay-fragment> Web Component
//
// A request names a partner by a key: a publishable key (query parameter key, from browsers, checked
// with the Origin; CORS answers only the partner's origins) or a secret key (header
// Inlay-Partner-Secret, from servers such as nginx SSI or Varnish ESI; refused in a browser's
// request). The partner must be allowed the fragment, and each key has a rate limit in Redis. The
// fragment is then composed by the shell's engine (shell/compose: the same client, deadlines,
// breakers and cache policy) with a guest Inlay-Context signed by embed's own key (key id "embed"),
// and its links and assets are made absolute URLs of the storefront. It imports no team package.
package embed

import (
	"bytes"
	"context"
	"crypto/sha256"
	_ "embed" // loader.js
	"encoding/hex"
	"errors"
	"fmt"
	"html"
	"log/slog"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/gofiber/fiber/v2"
	"github.com/redis/go-redis/v9"
	"github.com/sony/gobreaker/v2"
	"go.opentelemetry.io/otel/trace"

	"github.com/inlay-dev/inlay/fragments"
	"github.com/inlay-dev/inlay/services/kit/clientip"
	"github.com/inlay-dev/inlay/services/kit/errs"
	"github.com/inlay-dev/inlay/services/kit/localrate"
	"github.com/inlay-dev/inlay/services/kit/redisdb"
	"github.com/inlay-dev/inlay/services/kit/server"
	"github.com/inlay-dev/inlay/services/kit/tracing"
	"github.com/inlay-dev/inlay/shell/compose"
)

// SecretHeader carries a partner's secret key from its servers.
const SecretHeader = "Inlay-Partner-Secret" //nolint:gosec // G101: a header name, not a credential

// contextTTL is how long a signed guest context is valid.
const contextTTL = 5 * time.Minute

// Partners finds the partner holding a key (KeyCache, Store).
type Partners interface {
	ByKey(ctx context.Context, key string) (Partner, KeyKind, error)
}

// Options configures New.
type Options struct {
	// Teams is the team registry (INLAY_TEAMS): context → its instances' base URLs.
	Teams fragments.Teams
	// DNSRefresh is how often the registry's host names are resolved again (INLAY_DNS_REFRESH; zero:
	// never, the dialer resolves them).
	DNSRefresh time.Duration
	// Storefront is the storefront's public URL ("https://tractor.example"): the fragments' links and
	// assets are made absolute under it.
	Storefront string
	// Signer signs the partners' guest contexts with embed's key.
	Signer   *fragments.Signer
	Partners Partners
	// Redis holds the rate limits (under Keys) and the fragment cache's shared level.
	Redis *redis.Client
	Keys  redisdb.Keys
	// FragmentTimeout is a fragment's deadline when its manifest names none [500ms].
	FragmentTimeout time.Duration
	// Cache turns the fragment cache on.
	Cache bool
	// Locales are the store's (INLAY_LOCALES), which a visitor's Accept-Language is matched against:
	// the cache is keyed by these alone. Empty: fragments.DefaultLocale.
	Locales []string
	// Proxies are the proxies in front of embed (INLAY_TRUSTED_PROXIES): only when a request comes
	// from one is its client address (what a publishable key's per-client limit counts) taken from
	// X-Forwarded-For. None: the connection's peer.
	Proxies clientip.Proxies
	Log     *slog.Logger
	// Tracer, when not nil, makes a span of every fragment and fragment request.
	Tracer trace.TracerProvider
}

// Embed serves the embedding endpoints.
type Embed struct {
	opts       Options
	storefront string
	client     *fragments.Client
	teams      *compose.Teams
	cache      *compose.Cache
	engine     *compose.Engine
	limiter    *leaser
	limits     localrate.Shared // the rate limits' fallback while Redis cannot be asked
}

// New builds the gateway: the fragments client, the teams (their manifests read once; Run keeps
// them fresh), the cache and the engine.
func New(ctx context.Context, opts Options) (*Embed, error) {
	u, err := url.Parse(opts.Storefront)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.RawQuery != "" || u.Fragment != "" {
		return nil, fmt.Errorf("storefront URL %q: want an absolute http(s) URL", opts.Storefront)
	}
	if opts.Log == nil {
		opts.Log = slog.New(slog.DiscardHandler)
	}
	e := &Embed{opts: opts, storefront: strings.TrimSuffix(u.String(), "/"), limiter: newLeaser(opts.Redis, nil),
		limits: localrate.Shared{Log: opts.Log}}
	e.client, err = fragments.NewClient(fragments.ClientOptions{
		Teams:      opts.Teams,
		DNSRefresh: opts.DNSRefresh,
		Timeout:    2 * time.Second,
		Tracer:     opts.Tracer,
		OnStateChange: func(team string, from, to gobreaker.State) {
			opts.Log.Warn("circuit breaker", "team", team, "from", from.String(), "to", to.String())
		},
		OnEject: func(inst *fragments.Instance, until time.Time) {
			opts.Log.Warn("instance ejected", "team", inst.Team, "instance", inst.Base, "until", until.Format(time.RFC3339Nano))
		},
	})
	if err != nil {
		return nil, fmt.Errorf("INLAY_TEAMS: %w", err)
	}
	e.teams = compose.NewTeams(e.client, opts.Teams, opts.Log)
	if err := e.teams.Refresh(ctx, 2*time.Second); err != nil {
		opts.Log.Warn("manifests not all read; retrying in the background", "error", err.Error())
	}
	if opts.Cache {
		e.cache = compose.NewCache(compose.CacheOptions{Redis: opts.Redis, Prefix: string(opts.Keys) + "fragments:", Log: opts.Log})
	}
	copts := compose.Options{Teams: e.teams, Client: e.client, Cache: e.cache, Log: opts.Log,
		DefaultTimeout: opts.FragmentTimeout}
	if opts.Tracer != nil {
		copts.Tracer = opts.Tracer.Tracer(tracing.ScopeName)
	}
	e.engine = compose.New(copts)
	return e, nil
}

// Run keeps the manifests fresh, and the teams' instances that are not ready out of rotation, until
// ctx is done.
func (e *Embed) Run(ctx context.Context) error {
	go func() { _ = e.client.Instances().Run(ctx, fragments.HealthInterval) }()
	if e.cache != nil {
		go func() {
			if err := e.cache.Subscribe(ctx); err != nil && ctx.Err() == nil {
				e.opts.Log.Warn("cache purge subscription", "error", err.Error())
			}
		}()
	}
	err := e.teams.Run(ctx, 15*time.Second, 2*time.Second)
	if errors.Is(err, context.Canceled) {
		return nil
	}
	return err
}

// Close releases the client's connections.
func (e *Embed) Close() { e.client.Close() }

// Mount adds the routes to app.
func (e *Embed) Mount(app *fiber.App) {
	app.Get("/embed/v1/loader.js", e.loader)
	app.Options("/embed/v1/:context/:fragment", e.preflight)
	app.Get("/embed/v1/:context/:fragment", e.fragment)
}

var name = regexp.MustCompile(`^[a-z][a-z0-9-]{0,62}$`)

// target checks the path's context and fragment: lower-case names of a registered team. Anything
// else (a URL, a traversal, an encoded dot) is 404, before any key is looked at.
func (e *Embed) target(c *fiber.Ctx) (string, string, error) {
	ctxName, frag := c.Params("context"), c.Params("fragment")
	if !name.MatchString(ctxName) || !name.MatchString(frag) {
		return "", "", errs.Errorf(errs.ENOTFOUND, "no such fragment")
	}
	if _, ok := e.teams.Team(ctxName); !ok {
		return "", "", errs.Errorf(errs.ENOTFOUND, "no such fragment")
	}
	return strings.Clone(ctxName), strings.Clone(frag), nil
}

// browser reports a request a browser made: it names its Origin or its fetch metadata.
func browser(c *fiber.Ctx) bool {
	return c.Get(fiber.HeaderOrigin) != "" || c.Get("Sec-Fetch-Mode") != "" || c.Get("Sec-Fetch-Site") != "" ||
		c.Get("Sec-Fetch-Dest") != ""
}

// caller is the partner a request speaks for, and with which key.
type caller struct {
	partner Partner
	kind    KeyKind
	key     string // the key's hash, hex: its rate limit's name
	origin  string // the allowed Origin of a publishable key's request
	client  string // a publishable key's request: its client's limit key (clientip.Key)
}

// authenticate finds the request's partner: 401 without a valid key, 403 for a secret key in a
// browser's request or a publishable key from an origin not the partner's.
func (e *Embed) authenticate(c *fiber.Ctx) (caller, error) {
	if secret := c.Get(SecretHeader); secret != "" {
		if browser(c) {
			return caller{}, errs.Errorf(errs.EFORBIDDEN, "a secret key is for servers, never a browser")
		}
		p, kind, err := e.opts.Partners.ByKey(c.UserContext(), secret)
		if err != nil || kind != Secret {
			return caller{}, keyError(err)
		}
		return caller{partner: p, kind: Secret, key: keyName(secret)}, nil
	}
	key := c.Query("key")
	if key == "" {
		return caller{}, errs.Errorf(errs.EUNAUTHORIZED, "a partner key is required")
	}
	p, kind, err := e.opts.Partners.ByKey(c.UserContext(), key)
	if err != nil || kind != Publishable {
		return caller{}, keyError(err)
	}
	origin := c.Get(fiber.HeaderOrigin)
	if origin == "" || !p.AllowsOrigin(origin) {
		return caller{}, errs.Errorf(errs.EFORBIDDEN, "this key is not for this origin")
	}
	return caller{partner: p, kind: Publishable, key: keyName(key), origin: strings.Clone(origin),
		client: clientip.Key(server.ClientAddr(c, e.opts.Proxies))}, nil
}

// ClientRate is how many requests a minute one client address (an IPv6 one by its /64) may make
// with a publishable key allowed perMinute: a tenth, at least 30 (at most half the key's), so that
// nobody can spend a partner's whole budget, taking its widgets down for all its visitors, from one
// address. A partner's own servers (its secret key) are one client and have the whole rate.
func ClientRate(perMinute int) int {
	return max(perMinute/10, min(perMinute/2, 30), 1)
}

func keyError(err error) error {
	if err == nil || errors.Is(err, ErrUnknownKey) {
		return errs.Errorf(errs.EUNAUTHORIZED, "unknown or revoked key")
	}
	return fmt.Errorf("partner key: %w", err)
}

func keyName(key string) string {
	sum := sha256.Sum256([]byte(key))
	return hex.EncodeToString(sum[:12])
}

// limit spends one request of the caller's rate (leased from Redis, see leaser): 429 with
// Retry-After when none is left.
func (e *Embed) limit(c *fiber.Ctx, who caller) error {
	ctx, cancel := context.WithTimeout(c.UserContext(), 200*time.Millisecond)
	defer cancel()
	refuse := func(retry time.Duration, why string) error {
		c.Set(fiber.HeaderRetryAfter, strconv.Itoa(max(1, int((retry+time.Second-1)/time.Second))))
		return errs.Errorf(errs.ERATELIMIT, "%s", why)
	}
	// The client's share first: what it is refused does not spend the key's budget.
	if who.kind == Publishable {
		ok, retry := e.allow(ctx, e.opts.Keys.Key("rate", who.key, "client", who.client), ClientRate(who.partner.RatePerMinute))
		if !ok {
			return refuse(retry, "too many requests from this address for this key")
		}
	}
	ok, retry := e.allow(ctx, e.opts.Keys.Key("rate", who.key), who.partner.RatePerMinute)
	if !ok {
		return refuse(retry, "too many requests for this key")
	}
	return nil
}

// allow spends one of key's perMinute requests in Redis (leased, shared by every instance), or in
// this process while Redis cannot be asked (localrate.Shared).
func (e *Embed) allow(ctx context.Context, key string, perMinute int) (bool, time.Duration) {
	return e.limits.Allow(ctx, key, perMinute, func(ctx context.Context) (bool, time.Duration, error) {
		return e.limiter.allow(ctx, key, perMinute)
	})
}

func (e *Embed) preflight(c *fiber.Ctx) error {
	if _, _, err := e.target(c); err != nil {
		return err
	}
	who, err := e.authenticate(c)
	if err != nil {
		return err
	}
	if who.kind != Publishable {
		return errs.Errorf(errs.EFORBIDDEN, "a secret key needs no preflight")
	}
	setCORS(c, who.origin)
	c.Set(fiber.HeaderAccessControlAllowMethods, "GET")
	c.Set(fiber.HeaderAccessControlAllowHeaders, "Accept-Language")
	c.Set(fiber.HeaderAccessControlMaxAge, "600")
	return c.SendStatus(fiber.StatusNoContent)
}

func setCORS(c *fiber.Ctx, origin string) {
	c.Set(fiber.HeaderAccessControlAllowOrigin, origin)
	c.Append(fiber.HeaderVary, "Origin")
}

// fragment serves GET /embed/v1/{context}/{fragment}: check, limit, compose, make absolute.
func (e *Embed) fragment(c *fiber.Ctx) error {
	ctxName, frag, err := e.target(c)
	if err != nil {
		return err
	}
	who, err := e.authenticate(c)
	if err != nil {
		return err
	}
	if who.kind == Publishable {
		setCORS(c, who.origin)
	}
	if !who.partner.Allows(ctxName, frag) {
		return errs.Errorf(errs.EFORBIDDEN, "this partner may not embed %s/%s", ctxName, frag)
	}
	if loaded, why := e.notEmbeddable(ctxName, frag); !loaded {
		// What the fragment is cannot be told yet: not served until it can (as the shell treats it),
		// but answered as a team that is down is, with the fallback.
		c.Set(fiber.HeaderContentType, fiber.MIMETextHTMLCharsetUTF8)
		c.Set(fiber.HeaderCacheControl, "no-store")
		c.Set(fiber.HeaderRetryAfter, "5")
		return c.Status(fiber.StatusServiceUnavailable).Send(e.absolute([]byte(e.fallback(ctxName, frag))))
	} else if why != "" {
		return errs.Errorf(errs.EFORBIDDEN, "%s/%s cannot be embedded: %s", ctxName, frag, why)
	}
	if err := e.limit(c, who); err != nil {
		return err
	}

	vals := url.Values{}
	for k, v := range c.Request().URI().QueryArgs().All() {
		if string(k) != "key" {
			vals.Add(string(k), string(v))
		}
	}
	src := ctxName + "/" + frag
	if q := vals.Encode(); q != "" {
		src += "?" + q
	}
	loc := fragments.Locale(c.Get(fiber.HeaderAcceptLanguage), e.opts.Locales)
	fwd := fragments.Forwarded{AcceptLanguage: clip(c.Get(fiber.HeaderAcceptLanguage), 256),
		UserAgent: clip(c.Get(fiber.HeaderUserAgent), 512), RequestID: clip(c.Get(fiber.HeaderXRequestID), 128)}
	sign := func() string {
		h, err := e.opts.Signer.Sign(fragments.Context{Locale: loc, Expires: time.Now().Add(contextTTL)})
		if err != nil {
			e.opts.Log.Error("sign embed context", "error", err.Error())
		}
		return h
	}
	tmpl := compose.Parse([]byte(`<inlay-fragment src="` + html.EscapeString(src) + `" primary></inlay-fragment>`))
	comp := e.engine.Start(context.WithoutCancel(c.UserContext()), tmpl, compose.Request{Forwarded: fwd, Sign: sign, Locale: loc})
	out := comp.Outcome()
	c.Set(fiber.HeaderContentType, fiber.MIMETextHTMLCharsetUTF8)
	c.Set(fiber.HeaderXContentTypeOptions, "nosniff")
	if out.Status >= 400 && out.Status <= 499 && out.Status != fiber.StatusNotFound {
		// The team refused the partner's parameters: the partner's error to fix, not an outage.
		comp.Cancel()
		c.Set(fiber.HeaderCacheControl, "no-store")
		return errs.Errorf(errs.EINVALID, "%s/%s refused these parameters (status %d): see the fragment's documentation", ctxName, frag, out.Status)
	}
	if out.Status != fiber.StatusOK && out.Status != fiber.StatusNotFound {
		comp.Cancel()
		c.Set(fiber.HeaderCacheControl, "no-store")
		return c.Status(fiber.StatusServiceUnavailable).Send(e.absolute([]byte(e.fallback(ctxName, frag))))
	}
	var buf bytes.Buffer
	if err := comp.WriteTo(flushless{&buf}); err != nil {
		return fmt.Errorf("compose %s: %w", src, err)
	}
	body := e.absolute(buf.Bytes())
	cc := out.CacheControl
	switch {
	case cc == "" || comp.FellBack():
		// A part took its fallback: let the partner's cache try again soon.
		cc = "public, max-age=5"
	}
	if who.kind == Secret {
		// Answered for a secret key: a shared cache in front of embed (a CDN) must not serve it to a
		// request without that key (past the key check, the allowlist, the rate limit and
		// revocation). The partner's own cache, which adds the key itself, keeps it as it may.
		c.Vary(SecretHeader)
	}
	c.Set(fiber.HeaderCacheControl, cc)
	sum := sha256.Sum256(body)
	etag := `"` + hex.EncodeToString(sum[:16]) + `"`
	c.Set(fiber.HeaderETag, etag)
	if out.Status == fiber.StatusOK && c.Get(fiber.HeaderIfNoneMatch) == etag {
		return c.SendStatus(fiber.StatusNotModified)
	}
	return c.Status(out.Status).Send(body)
}

// notEmbeddable says why the team's manifest keeps context/name from other sites (why is "" when
// nothing does): a private fragment is one visitor's (another site's visitor has no customer or cart
// here), and one that renders a form a guest posts (Fragment.CSRF) would post to the storefront from
// another site, which the shell refuses. Whatever a partner was allowed, neither is served. loaded
// is false while the team's manifest has not been read: then nothing is known of the fragment.
func (e *Embed) notEmbeddable(ctxName, frag string) (loaded bool, why string) {
	t, ok := e.teams.Team(ctxName)
	if !ok {
		return true, "" // not a team: the composition answers 404
	}
	m, ok := t.Manifest()
	if !ok {
		return false, ""
	}
	switch f := m.Fragments[frag]; {
	case f.Cache == fragments.Private:
		return true, "it is private to a visitor of the storefront"
	case f.CSRF:
		return true, "it renders a form that posts to the storefront"
	}
	return true, ""
}

// fallback is the manifest's fallback of context/name, or a plain one.
func (e *Embed) fallback(ctxName, frag string) string {
	if t, ok := e.teams.Team(ctxName); ok {
		if m, ok := t.Manifest(); ok && m.Fragments[frag].Fallback != "" {
			return m.Fragments[frag].Fallback
		}
	}
	return `<p data-boundary="` + html.EscapeString(ctxName) + `" data-testid="embed-fallback">This content is not available right now.</p>`
}

// absolute makes the fragment's links and assets absolute URLs of the storefront: a value of an
// href, src, action or poster attribute that is a path of the storefront ("/product/…",
// "/static/…"), not another host's ("//host/…", "/\host/…"), gets the storefront in front. It is
// a scan for `="/` and `='/`, not a regular expression: it runs on every answer.
func (e *Embed) absolute(b []byte) []byte {
	var out []byte
	done := 0                                      // b[:done] is in out
	dq, sq := next(b, 0, `="/`), next(b, 0, `='/`) // the next of each, or len(b)
	for dq < len(b) || sq < len(b) {
		eq := min(dq, sq)
		i := eq + 3
		if eq == dq {
			dq = next(b, i, `="/`)
		} else {
			sq = next(b, i, `='/`)
		}
		if i >= len(b) || b[i] == '/' || b[i] == '\\' || !urlAttribute(b[:eq]) {
			continue
		}
		if out == nil {
			out = make([]byte, 0, len(b)+8*len(e.storefront))
		}
		out = append(append(out, b[done:eq+2]...), e.storefront...)
		done = eq + 2
	}
	if out == nil {
		return b
	}
	return append(out, b[done:]...)
}

// next is the index of the first sep in b from i on, or len(b).
func next(b []byte, i int, sep string) int {
	if i < len(b) {
		if j := bytes.Index(b[i:], []byte(sep)); j >= 0 {
			return i + j
		}
	}
	return len(b)
}

// urlAttribute reports whether b ends with whitespace and the name of an attribute holding a URL.
func urlAttribute(b []byte) bool {
	for _, a := range [...]string{"href", "src", "action", "poster"} {
		if n := len(b) - len(a); n > 0 && string(b[n:]) == a {
			switch b[n-1] {
			case ' ', '\t', '\n', '\r', '\f':
				return true
			}
		}
	}
	return false
}

// flushless is a FlushWriter over a buffer: the answer goes out whole.
type flushless struct{ *bytes.Buffer }

func (flushless) Flush() error { return nil }

func clip(s string, n int) string {
	if len(s) > n {
		s = s[:n]
	}
	return strings.Clone(s)
}

//go:embed loader.js
var loaderSource string

// loaderJS is loader.js without its comment lines and indentation, as it is served.
var loaderJS = func() []byte {
	var b []byte
	for _, line := range strings.Split(loaderSource, "\n") {
		if t := strings.TrimSpace(line); t != "" && !strings.HasPrefix(t, "//") {
			b = append(append(b, t...), '\n')
		}
	}
	return b
}()

// LoaderSize is the size of loader.js as served, in bytes.
func LoaderSize() int { return len(loaderJS) }

// loader serves the Web Component.
func (e *Embed) loader(c *fiber.Ctx) error {
	c.Set(fiber.HeaderContentType, "text/javascript; charset=utf-8")
	c.Set(fiber.HeaderCacheControl, "public, max-age=300")
	c.Set(fiber.HeaderAccessControlAllowOrigin, "*")
	c.Set(fiber.HeaderXContentTypeOptions, "nosniff")
	return c.Send(loaderJS)
}

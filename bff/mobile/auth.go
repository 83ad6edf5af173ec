package mobile

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/danielgtaylor/huma/v2"
	"github.com/danielgtaylor/huma/v2/adapters/humafiber"
	"github.com/go-redis/redis_rate/v10"

	"github.com/inlay-dev/inlay/fragments"
	"github.com/inlay-dev/inlay/services/kit/clientip"
	"github.com/inlay-dev/inlay/services/kit/server"
)

// contextTTL is how long an Inlay-Context the BFF signs is valid: one screen's calls.
const contextTTL = time.Minute

// requestContext is what the BFF knows of a request: who asks (after authenticate), from where, in
// which language. Every string is a copy, never fasthttp's buffer, so the team calls may use it.
type requestContext struct {
	client    string // the client's address
	locale    string
	language  string // Accept-Language, clipped
	userAgent string
	requestID string
	token     string // the bearer token, or ""
	customer  string // the token's customer, once authenticated
	signed    string // the signed Inlay-Context
	// start is when the request arrived: each team's deadline counts from it, so the screen answers
	// within its slowest part's deadline whatever the BFF spent before asking (rate limit, token).
	start  time.Time
	signer *fragments.Signer
}

type requestContextKey struct{}

func reqCtx(ctx context.Context) *requestContext {
	rc, _ := ctx.Value(requestContextKey{}).(*requestContext)
	if rc == nil {
		return &requestContext{}
	}
	return rc
}

// sign signs rc's Inlay-Context: the customer (when authenticated), the locale and the client
// address, with the BFF's key.
func (rc *requestContext) sign() error {
	if rc.signer == nil {
		return errors.New("no signer")
	}
	h, err := rc.signer.Sign(fragments.Context{CustomerID: rc.customer, Locale: rc.locale,
		Client: rc.client, Expires: time.Now().Add(contextTTL)})
	if err != nil {
		return err
	}
	rc.signed = h
	return nil
}

func (rc *requestContext) forwarded() fragments.Forwarded {
	return fragments.Forwarded{AcceptLanguage: rc.language, UserAgent: rc.userAgent, RequestID: rc.requestID,
		Context: rc.signed}
}

// rateLimit builds the request's context and spends one request of the client address's rate, and
// of the bearer token's when there is one: 429 with Retry-After when either is spent.
func (b *BFF) rateLimit(ctx huma.Context, next func(huma.Context)) {
	fc := humafiber.Unwrap(ctx)
	rc := &requestContext{
		client:    server.ClientAddr(fc, b.opts.Proxies),
		language:  clip(fc.Get("Accept-Language"), 256),
		userAgent: clip(fc.Get("User-Agent"), 512),
		requestID: strings.Clone(server.RequestID(fc)),
		token:     bearer(fc.Get("Authorization")),
		signer:    b.opts.Signer,
		start:     fc.Context().Time(),
	}
	rc.locale = fragments.Locale(rc.language, b.opts.Locales)
	// An IPv6 client is limited by its /64, not by each of its addresses.
	keys := []string{b.opts.Keys.Key("rate", "addr", clientip.Key(rc.client))}
	if rc.token != "" {
		keys = append(keys, b.opts.Keys.Key("rate", "token", tokenName(rc.token)))
	}
	limitCtx, cancel := context.WithTimeout(ctx.Context(), 200*time.Millisecond)
	defer cancel()
	for _, key := range keys {
		ok, retry := b.limits.Allow(limitCtx, key, b.opts.RatePerMinute, func(ctx context.Context) (bool, time.Duration, error) {
			res, err := b.limiter.Allow(ctx, key, redis_rate.PerMinute(b.opts.RatePerMinute))
			if err != nil {
				return false, 0, err
			}
			return res.Allowed > 0, res.RetryAfter, nil
		})
		if !ok {
			ctx.SetHeader("Retry-After", strconv.Itoa(max(1, int((retry+time.Second-1)/time.Second))))
			_ = huma.WriteErr(b.api, ctx, http.StatusTooManyRequests, "too many requests; try again later")
			return
		}
	}
	next(huma.WithValue(ctx, requestContextKey{}, rc))
}

// authenticate resolves the bearer token of an operation that requires one (its Security names
// "bearer") to its customer with accounts: 401 without a valid token. Then it signs the request's
// Inlay-Context.
func (b *BFF) authenticate(ctx huma.Context, next func(huma.Context)) {
	rc := reqCtx(ctx.Context())
	if requiresBearer(ctx.Operation()) {
		if rc.token == "" {
			ctx.SetHeader("WWW-Authenticate", `Bearer realm="inlay"`)
			_ = huma.WriteErr(b.api, ctx, http.StatusUnauthorized, "a bearer token is required (POST /v1/session)")
			return
		}
		customer, err := b.tokens.customer(ctx.Context(), rc)
		if err != nil {
			ctx.SetHeader("Retry-After", "5")
			_ = huma.WriteErr(b.api, ctx, http.StatusServiceUnavailable, "sign-in cannot be checked right now; try again shortly")
			return
		}
		if customer == "" {
			ctx.SetHeader("WWW-Authenticate", `Bearer realm="inlay", error="invalid_token"`)
			_ = huma.WriteErr(b.api, ctx, http.StatusUnauthorized, "the bearer token is unknown, expired or signed out")
			return
		}
		rc.customer = customer
	}
	if err := rc.sign(); err != nil {
		b.opts.Log.ErrorContext(ctx.Context(), "sign Inlay-Context", "error", err.Error())
		_ = huma.WriteErr(b.api, ctx, http.StatusInternalServerError, "internal error")
		return
	}
	next(ctx)
}

func requiresBearer(op *huma.Operation) bool {
	for _, req := range op.Security {
		if _, ok := req["bearer"]; ok {
			return true
		}
	}
	return false
}

// bearer returns the token of "Bearer <token>", copied, or "".
func bearer(h string) string {
	if len(h) < 7 || !strings.EqualFold(h[:7], "bearer ") {
		return ""
	}
	t := strings.TrimSpace(h[7:])
	if len(t) > 256 {
		return ""
	}
	return strings.Clone(t)
}

// tokenName is a token's name in Redis keys and the cache: never the token itself.
func tokenName(token string) string {
	sum := sha256.Sum256([]byte(token))
	return hex.EncodeToString(sum[:16])
}

// tokens resolves bearer tokens to customer ids with accounts' GET /v1/whoami (as the shell resolves
// its session cookie), remembering each answer for ttl (a refused token too) and an accounts failure
// for a second. A sign-out through the BFF forgets its token at once.
type tokens struct {
	b   *BFF
	ttl time.Duration

	mu sync.Mutex
	m  map[string]tokenEntry
}

type tokenEntry struct {
	customer string
	until    time.Time
}

// tokenCacheSize bounds the remembered tokens.
const tokenCacheSize = 10000

func newTokens(b *BFF, ttl time.Duration) *tokens {
	return &tokens{b: b, ttl: ttl, m: map[string]tokenEntry{}}
}

// customer returns rc.token's customer id, "" for a token accounts refuses, or an error when
// accounts cannot say.
func (t *tokens) customer(ctx context.Context, rc *requestContext) (string, error) {
	name := tokenName(rc.token)
	now := time.Now()
	t.mu.Lock()
	e, ok := t.m[name]
	t.mu.Unlock()
	if ok && now.Before(e.until) {
		return e.customer, nil
	}
	var who whoami
	err := t.b.do(ctx, rc, call{team: teamAccounts, path: "/v1/whoami", auth: "Bearer " + rc.token}, &who)
	var te *teamError
	switch {
	case err == nil && who.CustomerID != "" && len(who.CustomerID) <= 64:
	case errors.As(err, &te) && te.status == http.StatusUnauthorized:
		who.CustomerID = ""
	case err == nil:
		return "", errors.New("whoami: no valid customer id")
	default:
		return "", err
	}
	t.mu.Lock()
	if len(t.m) >= tokenCacheSize {
		clear(t.m)
	}
	t.m[name] = tokenEntry{customer: who.CustomerID, until: now.Add(t.ttl)}
	t.mu.Unlock()
	return who.CustomerID, nil
}

// forget drops what is remembered of token.
func (t *tokens) forget(token string) {
	t.mu.Lock()
	delete(t.m, tokenName(token))
	t.mu.Unlock()
}

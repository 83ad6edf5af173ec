package fragments

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/gofiber/fiber/v2"
)

// ContextHeader carries the signed request context from the shell (or a BFF) to a fragment server.
const ContextHeader = "Inlay-Context"

// MaxContextHeaderLen bounds the header a verifier is willing to decode; a real context is a few
// hundred bytes, so anything longer is rejected before any base64 or JSON work.
const MaxContextHeaderLen = 4096

// maxFieldLen bounds each string field of a Context.
const maxFieldLen = 256

// Context is what the shell tells a fragment about the request: who is asking (and from which
// address), in which cart, in which language, the CSRF token the fragment's forms must carry, and
// until when this is valid.
// The zero Context is an anonymous guest.
type Context struct {
	CustomerID string
	CartID     string
	Locale     string
	CSRF       string
	// Client is the visitor's network address as the shell saw it (from the connection, or from
	// X-Forwarded-For when the peer is a trusted proxy): what per-client limits count by.
	Client  string
	Expires time.Time
}

// payload is the JSON form of a Context inside the header. Field names are short because the header
// travels with every fragment request; Expires is in Unix seconds.
type payload struct {
	CustomerID string `json:"sub,omitempty"`
	CartID     string `json:"cart,omitempty"`
	Locale     string `json:"loc,omitempty"`
	CSRF       string `json:"csrf,omitempty"`
	Client     string `json:"ip,omitempty"`
	Expires    int64  `json:"exp"`
	// KeyID names the signer's key in the verifier's KeySet; empty means KeyShell.
	KeyID string `json:"kid,omitempty"`
}

// Key ids: each signer of Inlay-Context has its own Ed25519 key, named in the payload's "kid", so
// each key can be rotated or revoked on its own. A context signed with KeyEmbed never carries a
// customer: bff/embed speaks for a partner's anonymous visitors only.
const (
	KeyShell  = "shell"
	KeyMobile = "mobile"
	KeyEmbed  = "embed"
)

// KeySet maps a key id to the public key a verifier accepts contexts of that signer with. A signer
// without a key in the set is refused.
type KeySet map[string]ed25519.PublicKey

// ParseKeySet reads a key set from base64 public keys by key id (see ParsePublicKey); an empty value
// leaves that signer out. The error names the key id.
func ParseKeySet(keys map[string]string) (KeySet, error) {
	set := KeySet{}
	for kid, s := range keys {
		pub, err := ParsePublicKey(s)
		if err != nil {
			return nil, fmt.Errorf("key %q: %w", kid, err)
		}
		if pub != nil {
			set[kid] = pub
		}
	}
	return set, nil
}

// Errors returned by Verifier.Verify. Middleware answers 401 for ErrMissingContext and
// ErrForgedContext and 403 for ErrExpiredContext.
var (
	// ErrMissingContext means the request carried no Inlay-Context and unsigned requests are not allowed.
	ErrMissingContext = errors.New("missing " + ContextHeader)
	// ErrForgedContext means the header is malformed or its signature does not verify with the key.
	ErrForgedContext = errors.New("invalid " + ContextHeader)
	// ErrExpiredContext means the header verified but its expiry has passed.
	ErrExpiredContext = errors.New("expired " + ContextHeader)
)

// b64 is strict so that each header has exactly one encoding.
var b64 = base64.RawURLEncoding.Strict()

// Signer signs contexts with one signer's Ed25519 private key. It is safe for concurrent use.
type Signer struct {
	key ed25519.PrivateKey
	kid string // "" is the shell, whose headers carry no kid
}

// NewSigner returns the shell's Signer for key, which must be a full ed25519.PrivateKey (see
// ParsePrivateKey).
func NewSigner(key ed25519.PrivateKey) *Signer {
	return &Signer{key: key}
}

// NewKeySigner returns a Signer whose contexts name key id kid (KeyMobile, KeyEmbed), which the
// verifiers look up in their KeySet.
func NewKeySigner(kid string, key ed25519.PrivateKey) *Signer {
	if kid == KeyShell {
		kid = ""
	}
	return &Signer{key: key, kid: kid}
}

// PublicKey returns the public half of the signer's key, for the verifiers.
func (s *Signer) PublicKey() ed25519.PublicKey {
	if len(s.key) != ed25519.PrivateKeySize {
		return nil
	}
	return s.key.Public().(ed25519.PublicKey) //nolint:forcetypeassert // documented to be ed25519.PublicKey
}

// Sign returns the header value for c: base64url(JSON payload) "." base64url(signature over the
// encoded payload). c.Expires must be set (a context that never expires is a bug); it travels in
// whole seconds.
func (s *Signer) Sign(c Context) (string, error) {
	if len(s.key) != ed25519.PrivateKeySize {
		return "", fmt.Errorf("sign %s: no valid private key (%d bytes)", ContextHeader, len(s.key))
	}
	if c.Expires.IsZero() {
		return "", fmt.Errorf("sign %s: expiry not set", ContextHeader)
	}
	if err := c.validate(); err != nil {
		return "", fmt.Errorf("sign %s: %w", ContextHeader, err)
	}
	if s.kid == KeyEmbed && c.CustomerID != "" {
		return "", fmt.Errorf("sign %s: a context signed with key %q carries no customer", ContextHeader, KeyEmbed)
	}
	body, err := json.Marshal(payload{
		CustomerID: c.CustomerID,
		CartID:     c.CartID,
		Locale:     c.Locale,
		CSRF:       c.CSRF,
		Client:     c.Client,
		Expires:    c.Expires.Unix(),
		KeyID:      s.kid,
	})
	if err != nil {
		return "", fmt.Errorf("sign %s: %w", ContextHeader, err)
	}
	enc := b64.EncodeToString(body)
	sig := ed25519.Sign(s.key, []byte(enc))
	h := enc + "." + b64.EncodeToString(sig)
	if len(h) > MaxContextHeaderLen {
		return "", fmt.Errorf("sign %s: header of %d bytes exceeds %d", ContextHeader, len(h), MaxContextHeaderLen)
	}
	return h, nil
}

// Verifier checks Inlay-Context headers with its KeySet: the key named by the header's kid (the
// shell's when it names none). It is safe for concurrent use.
//
// An Ed25519 verification costs tens of microseconds, and the shell sends one header to all of a
// page's fragments, so the Verifier remembers the headers it verified (exact string → Context) in a
// bounded two-generation cache; a remembered header is still checked for expiry on every use.
type Verifier struct {
	keys          KeySet
	allowUnsigned bool
	// local is a key made for this Verifier alone, whose private half never leaves the process: it
	// signs the guest context of the process's own warm-up requests (WarmUp), which never cross a
	// network.
	local ed25519.PrivateKey

	mu        sync.Mutex
	cur, prev map[string]Context
}

// verifiedCacheSize is how many headers one cache generation holds; two are kept.
const verifiedCacheSize = 4096

func (v *Verifier) cached(h string) (Context, bool) {
	v.mu.Lock()
	defer v.mu.Unlock()
	if c, ok := v.cur[h]; ok {
		return c, true
	}
	c, ok := v.prev[h]
	return c, ok
}

func (v *Verifier) remember(h string, c Context) {
	v.mu.Lock()
	defer v.mu.Unlock()
	if len(v.cur) >= verifiedCacheSize || v.cur == nil {
		v.prev, v.cur = v.cur, make(map[string]Context)
	}
	// Clone: Fiber's c.Get returns a string over fasthttp's request buffer, which the next request on
	// the connection overwrites; a map key must own its bytes.
	v.cur[strings.Clone(h)] = c
}

// NewVerifier returns a Verifier that accepts the shell's contexts only, signed with pub (nil: no
// key). See NewKeySetVerifier.
func NewVerifier(pub ed25519.PublicKey, allowUnsigned bool) *Verifier {
	var keys KeySet
	if pub != nil {
		keys = KeySet{KeyShell: pub}
	}
	return NewKeySetVerifier(keys, allowUnsigned)
}

// NewKeySetVerifier returns a Verifier for the signers' public keys: a header is verified with the
// key its kid names, and refused when the set has none for it; a header signed with KeyEmbed's key
// that carries a customer is refused.
//
// allowUnsigned is for dev mode only: a request without the header is then an anonymous guest, and,
// when keys is empty (no key configured), a present header is decoded without checking its signature.
// With allowUnsigned false and no keys, every request is rejected: production fails closed.
func NewKeySetVerifier(keys KeySet, allowUnsigned bool) *Verifier {
	_, local, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		panic(fmt.Sprintf("fragments.NewVerifier: %v", err)) // crypto/rand never fails
	}
	own := make(KeySet, len(keys))
	for kid, pub := range keys {
		if len(pub) == ed25519.PublicKeySize {
			own[kid] = pub
		}
	}
	return &Verifier{keys: own, allowUnsigned: allowUnsigned, local: local}
}

// verifyLocal reports whether sig is the local key's signature of a bare guest context (no cart, no
// CSRF token, no customer).
func (v *Verifier) verifyLocal(encPayload string, sig []byte, c Context) bool {
	if len(v.local) != ed25519.PrivateKeySize || c != (Context{Expires: c.Expires}) {
		return false // the local key signs only the bare guest context of WarmUp
	}
	return ed25519.Verify(v.local.Public().(ed25519.PublicKey), []byte(encPayload), sig) //nolint:forcetypeassert // documented to be ed25519.PublicKey
}

// localGuest returns a guest context valid for a minute, signed with the Verifier's local key.
func (v *Verifier) localGuest() (string, error) {
	return NewSigner(v.local).Sign(Context{Expires: time.Now().Add(time.Minute)})
}

// Verify decodes and checks header h at time now. It returns ErrMissingContext, ErrForgedContext or
// ErrExpiredContext (wrapped, test with errors.Is). An empty h in dev mode yields the zero Context.
func (v *Verifier) Verify(h string, now time.Time) (Context, error) {
	if h == "" {
		if v.allowUnsigned {
			return Context{}, nil
		}
		return Context{}, ErrMissingContext
	}
	if len(v.keys) == 0 && !v.allowUnsigned {
		return Context{}, fmt.Errorf("%w: no verification key configured", ErrForgedContext)
	}
	c, ok := v.cached(h)
	if !ok {
		var encPayload, kid string
		var sig []byte
		var err error
		c, kid, encPayload, sig, err = decodeHeader(h)
		if err != nil {
			return Context{}, err
		}
		if kid == KeyEmbed && !c.Guest() {
			return Context{}, fmt.Errorf("%w: a context signed by %s carries a customer", ErrForgedContext, KeyEmbed)
		}
		if len(v.keys) > 0 {
			pub := v.keys[kid]
			if (pub == nil || !ed25519.Verify(pub, []byte(encPayload), sig)) && !(kid == KeyShell && v.verifyLocal(encPayload, sig, c)) {
				return Context{}, fmt.Errorf("%w: bad signature or unknown key %q", ErrForgedContext, kid)
			}
		}
		v.remember(h, c)
	}
	if !now.Before(c.Expires) {
		return Context{}, fmt.Errorf("%w: at %s", ErrExpiredContext, c.Expires.UTC().Format(time.RFC3339))
	}
	return c, nil
}

// decodeHeader splits and decodes h without checking the signature. It returns the Context, the key
// id (KeyShell when the header names none), the encoded payload (what was signed) and the raw
// signature.
func decodeHeader(h string) (Context, string, string, []byte, error) {
	if len(h) > MaxContextHeaderLen {
		return Context{}, "", "", nil, fmt.Errorf("%w: %d bytes", ErrForgedContext, len(h))
	}
	encPayload, encSig, ok := strings.Cut(h, ".")
	if !ok || encPayload == "" || strings.Contains(encSig, ".") {
		return Context{}, "", "", nil, fmt.Errorf("%w: not payload.signature", ErrForgedContext)
	}
	sig, err := b64.DecodeString(encSig)
	if err != nil || len(sig) != ed25519.SignatureSize {
		return Context{}, "", "", nil, fmt.Errorf("%w: bad signature encoding", ErrForgedContext)
	}
	body, err := b64.DecodeString(encPayload)
	if err != nil {
		return Context{}, "", "", nil, fmt.Errorf("%w: bad payload encoding", ErrForgedContext)
	}
	var p payload
	dec := json.NewDecoder(bytes.NewReader(body))
	if err := dec.Decode(&p); err != nil {
		return Context{}, "", "", nil, fmt.Errorf("%w: bad payload: %w", ErrForgedContext, err)
	}
	if dec.More() {
		return Context{}, "", "", nil, fmt.Errorf("%w: trailing data after payload", ErrForgedContext)
	}
	if p.Expires <= 0 {
		return Context{}, "", "", nil, fmt.Errorf("%w: no expiry", ErrForgedContext)
	}
	c := Context{
		CustomerID: p.CustomerID,
		CartID:     p.CartID,
		Locale:     p.Locale,
		CSRF:       p.CSRF,
		Client:     p.Client,
		Expires:    time.Unix(p.Expires, 0).UTC(),
	}
	if err := c.validate(); err != nil {
		return Context{}, "", "", nil, fmt.Errorf("%w: %w", ErrForgedContext, err)
	}
	kid := p.KeyID
	if kid == "" {
		kid = KeyShell
	}
	if len(kid) > 32 {
		return Context{}, "", "", nil, fmt.Errorf("%w: key id too long", ErrForgedContext)
	}
	return c, kid, encPayload, sig, nil
}

// validate bounds the fields' sizes and keeps control characters out of them, so a context value can
// be logged or echoed into a header safely.
func (c Context) validate() error {
	for _, f := range [...]struct{ name, v string }{
		{"customer id", c.CustomerID}, {"cart id", c.CartID}, {"locale", c.Locale}, {"csrf", c.CSRF}, {"client", c.Client},
	} {
		if len(f.v) > maxFieldLen {
			return fmt.Errorf("%s longer than %d bytes", f.name, maxFieldLen)
		}
		for _, r := range f.v {
			if r < 0x20 || r == 0x7f {
				return fmt.Errorf("%s holds a control character", f.name)
			}
		}
	}
	return nil
}

// Guest reports whether the context has no customer.
func (c Context) Guest() bool { return c.CustomerID == "" }

type contextKey struct{}

// WithContext returns ctx carrying c; Middleware does this for each request, and handler tests can
// use it directly.
func WithContext(ctx context.Context, c Context) context.Context {
	return context.WithValue(ctx, contextKey{}, c)
}

// ContextFrom returns the Context stored in ctx by Middleware, or the zero (guest) Context.
func ContextFrom(ctx context.Context) Context {
	c, _ := ctx.Value(contextKey{}).(Context)
	return c
}

// Middleware verifies the Inlay-Context header of every request and stores the Context in
// c.UserContext() (read it with ContextFrom). It answers 401 for a missing or forged header and 403
// for an expired one, as *fiber.Error so the app's error handler writes the response. The manifest
// (ManifestPath) is public and passes without a context.
func Middleware(v *Verifier) fiber.Handler {
	return func(c *fiber.Ctx) error {
		if c.Path() == ManifestPath {
			return c.Next()
		}
		fc, err := v.Verify(c.Get(ContextHeader), time.Now())
		switch {
		case errors.Is(err, ErrExpiredContext):
			return fiber.NewError(fiber.StatusForbidden, "expired "+ContextHeader)
		case err != nil:
			// The cause stays out of the response: a prober learns nothing about why.
			return fiber.NewError(fiber.StatusUnauthorized, "missing or invalid "+ContextHeader)
		}
		c.SetUserContext(WithContext(c.UserContext(), fc))
		return c.Next()
	}
}

// ParsePrivateKey reads an Ed25519 private key from a base64 value (standard or URL alphabet, padded
// or not) holding either the 32-byte seed or the 64-byte private key, as in INLAY_SHELL_PRIVATE_KEY.
func ParsePrivateKey(s string) (ed25519.PrivateKey, error) {
	b, err := decodeKey(s)
	if err != nil {
		return nil, fmt.Errorf("private key: %w", err)
	}
	switch len(b) {
	case ed25519.SeedSize:
		return ed25519.NewKeyFromSeed(b), nil
	case ed25519.PrivateKeySize:
		k := ed25519.NewKeyFromSeed(b[:ed25519.SeedSize])
		if !bytes.Equal(k, b) {
			return nil, errors.New("private key: public half does not match the seed")
		}
		return k, nil
	default:
		return nil, fmt.Errorf("private key: %d bytes, want %d (seed) or %d", len(b), ed25519.SeedSize, ed25519.PrivateKeySize)
	}
}

// ParsePublicKey reads an Ed25519 public key from a base64 value, as in INLAY_SHELL_PUBLIC_KEY.
// An empty (or all-blank) value means no key is configured and returns nil, nil; pass the result to
// NewVerifier, which then accepts unsigned requests only in dev mode.
func ParsePublicKey(s string) (ed25519.PublicKey, error) {
	if strings.TrimSpace(s) == "" {
		return nil, nil
	}
	b, err := decodeKey(s)
	if err != nil {
		return nil, fmt.Errorf("public key: %w", err)
	}
	if len(b) != ed25519.PublicKeySize {
		return nil, fmt.Errorf("public key: %d bytes, want %d", len(b), ed25519.PublicKeySize)
	}
	return ed25519.PublicKey(b), nil
}

func decodeKey(s string) ([]byte, error) {
	s = strings.TrimRight(strings.TrimSpace(s), "=")
	if s == "" {
		return nil, errors.New("empty")
	}
	if b, err := base64.RawStdEncoding.DecodeString(s); err == nil {
		return b, nil
	}
	b, err := base64.RawURLEncoding.DecodeString(s)
	if err != nil {
		return nil, fmt.Errorf("not base64: %w", err)
	}
	return b, nil
}

// GenerateKey returns a new random key pair, for dev setups and tests (EncodePrivateKey and
// EncodePublicKey turn it into the environment's form).
func GenerateKey() (ed25519.PublicKey, ed25519.PrivateKey, error) {
	pub, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		return nil, nil, fmt.Errorf("generate key: %w", err)
	}
	return pub, priv, nil
}

// EncodePrivateKey returns the base64 seed of key, the form ParsePrivateKey and
// INLAY_SHELL_PRIVATE_KEY take.
func EncodePrivateKey(key ed25519.PrivateKey) string {
	return base64.StdEncoding.EncodeToString(key.Seed())
}

// EncodePublicKey returns the base64 form of pub that ParsePublicKey and INLAY_SHELL_PUBLIC_KEY take.
func EncodePublicKey(pub ed25519.PublicKey) string {
	return base64.StdEncoding.EncodeToString(pub)
}

// KeySetVerifier returns the Verifier of a fragment server configured with keys (base64 public keys
// by key id, config.FragmentServer.PublicKeys): outside dev mode the shell's key is required, and a
// key that does not parse is an error naming its variable (INLAY_<KID>_PUBLIC_KEY).
func KeySetVerifier(keys map[string]string, dev bool) (*Verifier, error) {
	set := KeySet{}
	for kid, s := range keys {
		pub, err := ParsePublicKey(s)
		if err != nil {
			return nil, fmt.Errorf("INLAY_%s_PUBLIC_KEY: %w", strings.ToUpper(kid), err)
		}
		if pub != nil {
			set[kid] = pub
		}
	}
	if set[KeyShell] == nil && !dev {
		return nil, errors.New("INLAY_SHELL_PUBLIC_KEY must be set outside dev mode")
	}
	return NewKeySetVerifier(set, dev), nil
}

// Package server wires the shell process: page routes composed by the engine (templ layouts and page
// template files), the shell's own assets, the proxy to the teams' /ui/ and /static/, the cache purge
// API, and the signed Inlay-Context every team receives. shelld's main only loads the configuration,
// starts the kit and calls New.
package server

import (
	"bufio"
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"mime"
	"net/url"
	"path"
	"strings"
	"sync"
	"sync/atomic"
	"time"
	"unicode/utf8"

	"github.com/gofiber/fiber/v2"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/redis/go-redis/v9"
	"github.com/sony/gobreaker/v2"
	"github.com/valyala/bytebufferpool"
	"github.com/valyala/fasthttp"
	"go.opentelemetry.io/otel/trace"
	"go.opentelemetry.io/otel/trace/noop"

	"github.com/inlay-dev/inlay/fragments"
	"github.com/inlay-dev/inlay/fragments/assets"
	"github.com/inlay-dev/inlay/fragments/ui"
	"github.com/inlay-dev/inlay/services/kit/clientip"
	kitserver "github.com/inlay-dev/inlay/services/kit/server"
	"github.com/inlay-dev/inlay/services/kit/tracing"
	"github.com/inlay-dev/inlay/shell"
	"github.com/inlay-dev/inlay/shell/compose"
	"github.com/inlay-dev/inlay/shell/layout"
	"github.com/inlay-dev/inlay/static"
)

// Cookies the shell reads. Each is owned by one team (Set-Cookie passes only from its owner) or by
// the shell itself (the CSRF cookie). Outside dev the browser holds each under the __Host- prefix
// (cookieNames): a sibling subdomain or a plain-HTTP answer cannot plant one (a guest cart of the
// attacker's, whose orders the victim would then place), and the shell renames the teams' Set-Cookie
// to it, forwarding the team's own name to the team.
const (
	CartCookie    = "inlay_cart"    // owned by checkout
	SessionCookie = "inlay_session" // owned by accounts
	// CSRFCookie is set by the shell; its value is the signed CSRF token in Inlay-Context. Outside
	// dev it is SecureCSRFCookie: the __Host- prefix makes browsers refuse it unless it is Secure,
	// for Path=/ and set by this host (no sibling domain can plant it).
	CSRFCookie       = "inlay_csrf"
	SecureCSRFCookie = "__Host-inlay_csrf"
)

// sessionOwner is the team that owns sessions: the shell resolves the session cookie with it and
// forwards the cookie to its /ui endpoints (and to nobody else), so it can end or rotate a session.
const sessionOwner = "accounts"

// FormBodyLimit bounds the body of a form post (URL-encoded or multipart) proxied to a team; other
// bodies are bound by INLAY_BODY_LIMIT.
const FormBodyLimit = 64 << 10

// CookieOwners maps each cookie a team may set to the team that owns it. Set-Cookie for any other
// name, or from any other team, is dropped by the proxy.
var CookieOwners = map[string]string{CartCookie: "checkout", SessionCookie: "accounts"}

// Options configures New.
type Options struct {
	Config Config
	Log    *slog.Logger
	// Pages are the templ-layout pages (shell/pages.All()).
	Pages []shell.Page
	// NotFound, when its Layout is set, is the page composed (with status 404) for a GET no route
	// serves and for a page whose primary fragment answers a bare 404; else the shell's own page.
	NotFound shell.Page
	// Redis, when not nil, is the fragment cache's shared level; keys start with RedisPrefix.
	Redis       *redis.Client
	RedisPrefix string
	// Registry, when not nil, receives the shell's metrics.
	Registry *prometheus.Registry
	// Tracer, when not nil, makes the page's span, its fragments' and the fragment requests'.
	Tracer trace.TracerProvider
}

// Shell is the shell's HTTP surface, mounted on a kit server's Fiber app.
type Shell struct {
	cfg      Config
	log      *slog.Logger
	pages    []shell.Page
	notFound shell.Page
	files    map[string]*compose.Template
	assets   map[string]asset
	ui       *assets.Assets // the pattern library's, at ui.AssetPrefix
	client   *fragments.Client
	// instances is the rotation of the teams' instances the client, the proxy and the sessions share.
	instances *fragments.Instances
	teams     *compose.Teams
	cache     *compose.Cache
	engine    *compose.Engine
	signer    *fragments.Signer
	csrf      *fragments.CSRFTokens
	sigs      *signatures
	started   time.Time
	ready     atomic.Bool
	proxy     *proxy
	metrics   *metrics
	sessions  *sessions
	proxies   clientip.Proxies
	cookies   cookieNames // the browser's names for the cookies the shell reads
	tracer    trace.Tracer
	// slots holds a token per page being composed (Config.MaxPages); nil when there is no limit.
	slots chan struct{}
}

type asset struct {
	body        []byte
	contentType string
}

// New builds the shell from its configuration: the team registry and client, the first read of every
// manifest (a team that is down is retried by Run), the signer, the page template files and the
// shell's assets.
func New(ctx context.Context, opts Options) (*Shell, error) {
	cfg := opts.Config
	s := &Shell{cfg: cfg, cookies: newCookieNames(cfg.Dev()), log: opts.Log, pages: opts.Pages, notFound: opts.NotFound, assets: map[string]asset{},
		sigs: newSignatures(), started: time.Now()}
	s.metrics = newMetrics(opts.Registry)
	if cfg.MaxPages < 0 {
		return nil, fmt.Errorf("INLAY_MAX_PAGES: %d, want 0 (no limit) or more", cfg.MaxPages)
	}
	if cfg.MaxPages > 0 {
		s.slots = make(chan struct{}, cfg.MaxPages)
	}
	if opts.Tracer == nil {
		opts.Tracer = noop.NewTracerProvider()
	}
	s.tracer = opts.Tracer.Tracer(tracing.ScopeName)

	teams, err := fragments.ParseTeams(cfg.Teams)
	if err != nil {
		return nil, fmt.Errorf("INLAY_TEAMS: %w", err)
	}
	if s.instances, err = fragments.NewInstancesWith(teams, fragments.InstancesOptions{DNSRefresh: cfg.DNSRefresh}); err != nil {
		return nil, fmt.Errorf("INLAY_TEAMS: %w", err)
	}
	s.client, err = fragments.NewClient(fragments.ClientOptions{
		Teams:     teams,
		Instances: s.instances,
		Timeout:   2 * time.Second,
		Tracer:    opts.Tracer,
		OnStateChange: func(team string, from, to gobreaker.State) {
			s.log.Warn("circuit breaker", "team", team, "from", from.String(), "to", to.String())
			s.metrics.breaker(team, to)
		},
		OnEject: func(inst *fragments.Instance, until time.Time) {
			s.log.Warn("instance ejected", "team", inst.Team, "instance", inst.Base, "until", until.Format(time.RFC3339Nano))
			s.metrics.ejected(inst.Team)
		},
	})
	if err != nil {
		return nil, fmt.Errorf("INLAY_TEAMS: %w", err)
	}
	for name := range teams {
		// Reported from the start, so a dashboard and an alert see every team's breaker, not only
		// those that have moved since the shell started.
		s.metrics.breaker(name, gobreaker.StateClosed)
	}
	s.teams = compose.NewTeams(s.client, teams, s.log)
	if err := s.teams.Refresh(ctx, 2*time.Second); err != nil {
		s.log.Warn("manifests not all read; retrying in the background", "error", err.Error())
	}

	key, err := signingKey(cfg, s.log)
	if err != nil {
		return nil, err
	}
	s.signer = fragments.NewSigner(key)
	s.csrf = fragments.NewCSRFTokens(key.Seed())

	if cfg.Cache {
		s.cache = compose.NewCache(compose.CacheOptions{Redis: opts.Redis, Prefix: opts.RedisPrefix + "fragments:", Log: s.log})
	}
	if s.ui, err = ui.Assets(ui.AssetPrefix); err != nil {
		return nil, err
	}
	patternCSS, err := s.ui.URL(ui.Stylesheet)
	if err != nil {
		return nil, err
	}
	composer, err := fs.ReadFile(static.FS, "composer.js")
	if err != nil {
		return nil, fmt.Errorf("composer script: %w", err)
	}
	s.engine = compose.New(compose.Options{
		Teams: s.teams, Client: s.client, Cache: s.cache, Log: s.log,
		DefaultTimeout: cfg.FragmentTimeout,
		ComposerScript: compactScript(composer),
		Stylesheets:    []string{patternCSS},
		Observe:        s.metrics.observe,
		Tracer:         s.tracer,
	})

	if err := fs.WalkDir(static.FS, ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || path.Ext(p) == ".go" {
			return err
		}
		b, err := fs.ReadFile(static.FS, p)
		if err != nil {
			return fmt.Errorf("read asset %s: %w", p, err)
		}
		s.assets[p] = asset{body: b, contentType: mime.TypeByExtension(path.Ext(p))}
		return nil
	}); err != nil {
		return nil, err
	}
	if cfg.PagesDir != "" {
		if s.files, err = readPageFiles(cfg.PagesDir); err != nil {
			return nil, err
		}
	}
	if s.proxies, err = clientip.Parse(cfg.TrustedProxies); err != nil {
		return nil, err
	}
	s.sessions = newSessions(s.instances, sessionOwner, s.log)
	s.proxy = newProxy(s.instances, teams, proxyOptions{sign: s.signContext, locales: cfg.Locales, bodyLimit: cfg.BodyLimit, errorPage: s.proxyError,
		cookies: s.cookies, dev: cfg.Dev(),
		sessionChanged: s.sessions.forget, unavailable: func(team string) bool {
			st, ok := s.client.BreakerState(team)
			return ok && st == gobreaker.StateOpen
		}})
	return s, nil
}

// signingKey reads INLAY_SHELL_PRIVATE_KEY; in dev, when it is unset, it makes an ephemeral key and
// logs both halves so teams can be started with the public one.
func signingKey(cfg Config, log *slog.Logger) (ed25519.PrivateKey, error) {
	if strings.TrimSpace(cfg.PrivateKey) != "" {
		key, err := fragments.ParsePrivateKey(cfg.PrivateKey)
		if err != nil {
			return nil, fmt.Errorf("INLAY_SHELL_PRIVATE_KEY: %w", err)
		}
		return key, nil
	}
	if !cfg.Dev() {
		return nil, errors.New("INLAY_SHELL_PRIVATE_KEY must be set outside dev")
	}
	pub, key, err := fragments.GenerateKey()
	if err != nil {
		return nil, err
	}
	log.Warn("INLAY_SHELL_PRIVATE_KEY unset: using an ephemeral signing key (dev only)",
		"INLAY_SHELL_PRIVATE_KEY", fragments.EncodePrivateKey(key), "INLAY_SHELL_PUBLIC_KEY", fragments.EncodePublicKey(pub))
	return key, nil
}

// compactScript drops the comment lines of the composer script before it is inlined.
func compactScript(b []byte) []byte {
	var out []byte
	for _, line := range strings.Split(string(b), "\n") {
		t := strings.TrimSpace(line)
		if t == "" || strings.HasPrefix(t, "//") {
			continue
		}
		out = append(out, t...)
		out = append(out, '\n')
	}
	return out
}

// Engine returns the composition engine.
func (s *Shell) Engine() *compose.Engine { return s.engine }

// Teams returns the team registry.
func (s *Shell) Teams() *compose.Teams { return s.teams }

// Cache returns the fragment cache, or nil when it is off.
func (s *Shell) Cache() *compose.Cache { return s.cache }

// Mount adds the shell's public routes to app: assets, pages (templ layouts first, then page
// files), then the proxy for every registered context. Operators' routes are on MountAdmin's app.
func (s *Shell) Mount(app *fiber.App) {
	// A composed page (~20 KB) and its headers then leave in one write instead of three.
	if srv := app.Server(); srv != nil && srv.WriteBufferSize < pageWriteBuffer {
		srv.WriteBufferSize = pageWriteBuffer
	}
	app.Get("/static/shell/*", s.serveAsset)
	// Browsers ask for /favicon.ico whatever the page links: the site's icon, not a 404 per visit.
	app.Get("/favicon.ico", func(c *fiber.Ctx) error { return s.sendAsset(c, "favicon.svg") })
	app.Get(ui.AssetPrefix+"/*", s.ui.Handler())
	pageRoutes := make([]string, 0, len(s.pages)+len(s.files))
	for _, p := range s.pages {
		app.Get(p.Route, s.layoutPage(p))
		pageRoutes = append(pageRoutes, p.Route)
	}
	for name, t := range s.files {
		app.Get("/"+name, s.filePage(name, t))
		pageRoutes = append(pageRoutes, "/"+name)
	}
	// A page is only read: another method on its address is 405 with Allow (RFC 9110, 15.5.6), not
	// the not-found page. Wildcard routes (the storefront's not-found page) are left to NotFound.
	for _, route := range pageRoutes {
		if strings.Contains(route, "*") {
			continue
		}
		for _, m := range []string{fiber.MethodPost, fiber.MethodPut, fiber.MethodPatch, fiber.MethodDelete, fiber.MethodOptions, fiber.MethodTrace} {
			app.Add(m, route, pageMethodNotAllowed)
		}
	}
	for _, team := range s.teams.Names() {
		app.All("/static/"+team+"/*", s.proxy.static(team))
		app.All("/"+team+"/*", s.proxy.ui(team))
	}
}

// MountAdmin adds the operators' routes to the admin listener's app: the cache purge API.
func (s *Shell) MountAdmin(admin *fiber.App) {
	admin.Post("/_inlay/purge", s.purge)
}

// Ready is the shell's readiness check: it fails until every team's manifest has been read once
// (or answered that it has none), so a new shell takes no traffic before it knows every team's
// fragments, their deadlines and their assets. After ReadyWait it passes anyway, naming the teams
// still missing in the log: a team that is down must not keep the shell out of rotation.
func (s *Shell) Ready(ctx context.Context) error {
	if s.ready.Load() {
		return nil
	}
	missing := s.teams.Unread()
	if len(missing) == 0 {
		s.ready.Store(true)
		return nil
	}
	if time.Since(s.started) >= s.cfg.ReadyWait {
		s.log.Warn("ready without every manifest", "missing", missing, "waited", s.cfg.ReadyWait.String())
		s.ready.Store(true)
		return nil
	}
	return fmt.Errorf("manifests not read yet: %s", strings.Join(missing, ", "))
}

// pageWriteBuffer is the connection write buffer the shell asks its server for.
const pageWriteBuffer = 32 << 10

// Run re-reads the manifests periodically and follows other replicas' purges until ctx is done.
func (s *Shell) Run(ctx context.Context) error {
	if s.cache != nil {
		go func() {
			if err := s.cache.Subscribe(ctx); err != nil && ctx.Err() == nil {
				s.log.Warn("purge subscription", "error", err.Error())
			}
		}()
	}
	go func() { _ = s.instances.Run(ctx, fragments.HealthInterval) }()
	err := s.teams.Run(ctx, s.cfg.ManifestRefresh, 2*time.Second)
	if errors.Is(err, context.Canceled) {
		return nil
	}
	return err
}

// Close releases the shell's connections.
func (s *Shell) Close() { s.client.Close() }

func (s *Shell) serveAsset(c *fiber.Ctx) error { return s.sendAsset(c, c.Params("*")) }

func (s *Shell) sendAsset(c *fiber.Ctx, name string) error {
	a, ok := s.assets[name]
	if !ok {
		return fiber.ErrNotFound
	}
	c.Set(fiber.HeaderContentType, a.contentType)
	c.Set(fiber.HeaderCacheControl, "public, max-age=300")
	c.Set(fiber.HeaderXContentTypeOptions, "nosniff")
	return c.Send(a.body)
}

// layoutPage serves a templ-layout page: the layout renders into a pooled buffer, which is parsed and
// composed.
func (s *Shell) layoutPage(p shell.Page) fiber.Handler {
	return func(c *fiber.Ctx) error { return s.renderLayout(c, p, 0) }
}

// renderLayout composes p for c; status, when not zero, replaces a successful page's status.
func (s *Shell) renderLayout(c *fiber.Ctx, p shell.Page, status int) error {
	leave, ok := s.admit(c)
	if !ok {
		return nil
	}
	rc := s.requestContext(c)
	var params map[string]string
	if names := c.Route().Params; len(names) > 0 {
		params = make(map[string]string, len(names))
		for _, k := range names {
			// As the visitor typed it: /product/%C3%A9 is the id "é" (a team gets it query-escaped
			// again, once); an escape that does not decode to text stays as it came.
			v := c.Params(k)
			if d, err := url.PathUnescape(v); err == nil && utf8.ValidString(d) {
				v = d
			}
			params[k] = v
		}
	}
	q, _ := url.ParseQuery(string(c.Request().URI().QueryString()))
	req := shell.PageRequest{Path: c.Path(), Params: params, Query: q, Locale: rc.locale, Nonce: rc.nonce}
	buf := bytebufferpool.Get()
	if err := p.Layout(req).Render(c.UserContext(), buf); err != nil {
		bytebufferpool.Put(buf)
		if leave != nil {
			leave()
		}
		return fmt.Errorf("render page %s: %w", p.Name, err)
	}
	rc.status, rc.title = status, p.Title
	return s.serve(c, rc, compose.Parse(buf.B), func() { bytebufferpool.Put(buf) }, leave)
}

// filePage serves a page template file, parsed once.
func (s *Shell) filePage(name string, t *compose.Template) fiber.Handler {
	return func(c *fiber.Ctx) error {
		leave, ok := s.admit(c)
		if !ok {
			return nil
		}
		return s.serve(c, s.requestContext(c), t, nil, leave)
	}
}

// admit takes a slot for c's page (Config.MaxPages), waiting up to Config.PageWait for one to end.
// The page gives it back with leave once every fragment has its answer or fallback (a slow client
// reading a streamed page does not hold it), or when it is written or abandoned first; leave is nil
// when there is no limit. When no slot frees in time it answers for c itself — 503, Retry-After, the
// shell's own page, no fragment fetched — and reports false.
func (s *Shell) admit(c *fiber.Ctx) (leave func(), ok bool) {
	if s.slots == nil {
		return nil, true
	}
	select {
	case s.slots <- struct{}{}:
		return s.leave, true
	default:
	}
	start := time.Now()
	t := time.NewTimer(s.cfg.PageWait)
	defer t.Stop()
	select {
	case s.slots <- struct{}{}:
		return s.leave, true
	case <-t.C:
	}
	s.metrics.page(c.Route().Path, pageShed, time.Since(start))
	c.Set(fiber.HeaderRetryAfter, "1")
	if err := errorPage(c, requestContext{nonce: newNonce()}, fiber.StatusServiceUnavailable, "We're busy",
		"More visitors than we can serve are in our store at this moment. Please try again in a few seconds."); err != nil {
		s.log.Debug("shed page", "error", err.Error())
	}
	return nil, false
}

func (s *Shell) leave() { <-s.slots }

// requestContext is what a page needs of the request, copied before anything streams.
type requestContext struct {
	nonce  string
	locale string
	debug  bool
	fwd    fragments.Forwarded
	sign   func() string // the signed Inlay-Context, made on first use
	// signBare is the context for fragments that do not ask for the CSRF token: a guest's without
	// it (shared by every guest of one address and language, so signed and verified once), a
	// customer's the same as sign's.
	signBare func() string
	csrf     string // the visitor's CSRF token, for the fragments that render forms
	status   int    // when not zero, replaces a successful page's status (the 404 page)
	// title, when set, makes the page's title from its primary's (shell.Page.Title).
	title func(primary string) string
}

func (s *Shell) requestContext(c *fiber.Ctx) requestContext {
	// Fiber's strings alias the request's buffers, which are reused after the handler returns while
	// the page (and a background revalidation) may still use them: every string kept is cloned.
	rc := requestContext{nonce: newNonce(), locale: fragments.Locale(c.Get(fiber.HeaderAcceptLanguage), s.cfg.Locales)}
	rc.debug = c.Query("debug") == "fragments"
	rc.fwd = fragments.Forwarded{
		AcceptLanguage: strings.Clone(clip(c.Get(fiber.HeaderAcceptLanguage), 256)),
		UserAgent:      strings.Clone(clip(c.Get(fiber.HeaderUserAgent), 512)),
		Traceparent:    strings.Clone(clip(c.Get("traceparent"), 128)),
		RequestID:      strings.Clone(kitserver.RequestID(c)),
	}
	key := s.contextKey(c, rc.locale)
	rc.sign = func() string { return s.sign(key) }
	rc.signBare = func() string { return s.sign(key.bare()) }
	rc.csrf = key.csrf
	return rc
}

// serve composes t for c: it waits for the primary's status, then writes the page in one piece when
// every fragment is already there, or streams it. release, when set, runs once the page is written or
// abandoned; leave (admit's), when set, once its fragments have settled or it ended, whichever
// comes first.
func (s *Shell) serve(c *fiber.Ctx, rc requestContext, t *compose.Template, release, leave func()) error {
	if leave != nil {
		leave = sync.OnceFunc(leave)
	}
	// The page's span and metric cover the composition, which outlives the handler when it streams.
	route := c.Route().Path
	ctx, span := s.tracer.Start(context.WithoutCancel(c.UserContext()), "page")
	if span.IsRecording() { // named once it records: an unsampled page builds no names
		span.SetName("page " + route)
	}
	start := time.Now()
	outcome := pageRedirect
	var comp *compose.Composition
	done := func() {
		if leave != nil {
			leave()
		}
		if release != nil {
			release()
		}
		if outcome == pageOK && comp.FellBack() {
			outcome = pageDegraded
		}
		s.metrics.page(route, outcome, time.Since(start))
		endPageSpan(span, outcome)
	}
	// The composition's context is not the request's either. Every fetch has its own deadline;
	// WriteTo's end (or Cancel) ends the composition.
	comp = s.engine.Start(ctx, t, compose.Request{Forwarded: rc.fwd, Sign: rc.sign, SignBare: rc.signBare, CSRF: rc.csrf, Locale: rc.locale, Nonce: rc.nonce, Debug: rc.debug,
		Settled: leave})
	out := comp.Outcome()
	switch {
	case out.Status >= 300 && out.Status <= 399:
		comp.Cancel()
		done()
		return c.Redirect(out.Location, out.Status)
	case out.Status == 404 && out.Empty:
		comp.Cancel()
		outcome = pageNotFound
		done()
		if s.notFound.Layout != nil && rc.status == 0 {
			return s.renderLayout(c, s.notFound, fiber.StatusNotFound)
		}
		return errorPage(c, rc, fiber.StatusNotFound, "Page not found", "There is no such page in our store.")
	case out.Status >= 400 && out.Status <= 499 && out.Status != 404:
		// The primary's team refused the request itself (a bad parameter): the visitor's error, not
		// an outage — its status, not a 503 that says the store is down.
		comp.Cancel()
		outcome = pageClientError
		done()
		title, msg := errorText(out.Status)
		return errorPage(c, rc, out.Status, title, msg)
	case out.Status >= 500:
		comp.Cancel()
		outcome = pageUnavailable
		done()
		c.Set(fiber.HeaderRetryAfter, "5")
		return errorPage(c, rc, fiber.StatusServiceUnavailable, "We'll be right back",
			"Part of this page is not available at the moment. Please try again in a few seconds.")
	}
	outcome = pageOK
	if out.Status == 404 {
		outcome = pageNotFound
	}
	if rc.status != 0 && out.Status == 200 {
		out.Status = rc.status
	}
	if rc.title != nil && out.Title != "" {
		comp.SetTitle(rc.title(out.Title))
	}
	h := &c.Response().Header
	h.SetStatusCode(out.Status)
	h.SetContentType(fiber.MIMETextHTMLCharsetUTF8)
	h.Set(fiber.HeaderCacheControl, "private, no-store")
	h.Set(fiber.HeaderContentSecurityPolicy, csp(rc.nonce))
	h.Set(fiber.HeaderXContentTypeOptions, "nosniff")
	h.Set(fiber.HeaderReferrerPolicy, "strict-origin-when-cross-origin")
	if c.Method() == fiber.MethodHead {
		comp.Cancel()
		done()
		return nil
	}
	if comp.WaitReady(s.cfg.StreamGrace) || !c.Request().Header.IsHTTP11() {
		// Everything is here (cached, or arrived with the primary): one piece, with a
		// Content-Length, no stream. An HTTP/1.0 client knows no chunked encoding (RFC 9112, 6.1):
		// its page is composed whole, within the fragments' own deadlines, and sent in one piece.
		if st := comp.ServerTiming(); st != "" {
			h.Set("Server-Timing", st)
		}
		err := comp.WriteTo(nopFlusher{c.Response().BodyWriter()})
		done()
		return err
	}
	if st := comp.ServerTiming(); st != "" {
		h.Set("Server-Timing", st) // the fragments known now; the rest in the trailer or ?debug=fragments
	}
	log := s.log
	write := func(w *bufio.Writer) {
		// Only what was copied above is used here: the Fiber context is gone by now.
		defer done()
		if err := comp.WriteTo(flushWriter{w}); err != nil {
			log.Debug("page stream ended early", "error", err.Error())
		}
	}
	if !acceptsTrailers(c) {
		c.Context().SetBodyStreamWriter(write)
		return nil
	}
	// The client reads trailers: Server-Timing goes after the body, with every fragment.
	if err := h.AddTrailer("Server-Timing"); err != nil {
		return fmt.Errorf("server-timing trailer: %w", err)
	}
	c.Context().SetBodyStream(&trailerStream{ReadCloser: fasthttp.NewStreamReader(write), last: func() {
		h.Set("Server-Timing", comp.ServerTiming())
	}}, -1)
	return nil
}

// errorPage writes the shell's own error page.
func errorPage(c *fiber.Ctx, rc requestContext, status int, title, msg string) error {
	c.Response().ResetBody() // whatever was written before the error is not part of this page
	c.Status(status)
	c.Set(fiber.HeaderContentType, fiber.MIMETextHTMLCharsetUTF8)
	c.Set(fiber.HeaderCacheControl, "no-store")
	c.Set(fiber.HeaderContentSecurityPolicy, csp(rc.nonce))
	c.Set(fiber.HeaderXContentTypeOptions, "nosniff")
	c.Set(fiber.HeaderReferrerPolicy, "strict-origin-when-cross-origin")
	return layout.ErrorPage(layout.ErrorProps{Status: status, Title: title, Message: msg, Nonce: rc.nonce}).
		Render(c.UserContext(), c.Response().BodyWriter())
}

// proxyError answers for a team's error in the shell's own words: its error page for browsers, a
// JSON error for clients that ask for JSON.
func (s *Shell) proxyError(c *fiber.Ctx, status int) error {
	if status >= 500 {
		status = fiber.StatusServiceUnavailable
		c.Set(fiber.HeaderRetryAfter, "5")
	}
	title, msg := errorText(status)
	if c.Accepts(fiber.MIMETextHTML, fiber.MIMEApplicationJSON) == fiber.MIMEApplicationJSON {
		c.Set(fiber.HeaderCacheControl, "no-store")
		return c.Status(status).JSON(fiber.Map{"error": fiber.Map{"code": kitserver.CodeForStatus(status), "message": msg}})
	}
	return errorPage(c, requestContext{nonce: newNonce()}, status, title, msg)
}

// ErrorPage is the kit server's error page for the shell (kitserver.Options.ErrorPage): a request
// the kit refused before any route ran — headers over the read buffer (431), a body over the limit
// (413), one that never finished arriving (408), text that is not UTF-8 (400) — gets the shell's own
// page, as a browser expects, not the kit's JSON or plain text. The kit's message is not shown: the
// page speaks to a shopper.
func ErrorPage(c *fiber.Ctx, status int, _ string) error {
	title, msg := errorText(status)
	return errorPage(c, requestContext{nonce: newNonce()}, status, title, msg)
}

// errorText is the shell's error page's title and message for an error status.
func errorText(status int) (title, msg string) {
	switch {
	case status == fiber.StatusRequestHeaderFieldsTooLarge || status == fiber.StatusRequestURITooLong:
		return "Request too large", "This address, or the cookies your browser sends us, are too long. Please use a shorter address, or clear this site's cookies."
	case status == fiber.StatusRequestEntityTooLarge:
		return "Too much at once", "What you sent is larger than we accept. Please go back and send less."
	case status == fiber.StatusRequestTimeout:
		return "That took too long", "Your request did not reach us in time. Please try again."
	case status == fiber.StatusNotFound:
		return "Page not found", "There is no page at this address."
	case status == fiber.StatusMethodNotAllowed:
		return "Something went wrong", "This address does not take that kind of request."
	case status == fiber.StatusForbidden || status == fiber.StatusUnauthorized:
		return "Not allowed", "This request was refused: the page may be out of date (after signing in or out in another tab). Please reload it and try again."
	case status == fiber.StatusTooManyRequests:
		return "Too many requests", "Please wait a moment and try again."
	case status == fiber.StatusGatewayTimeout:
		return "That took too long", "Our store did not answer in time. What you sent may have gone through: please look (at your basket, your account) before you send it again."
	case status >= 500:
		return "We'll be right back", "Part of our store is not available at the moment. Please try again in a few seconds."
	default:
		return "Something went wrong", "We could not do that. Please go back and try again."
	}
}

// pageMethodNotAllowed answers a method other than GET and HEAD on a page's address.
func pageMethodNotAllowed(c *fiber.Ctx) error {
	c.Set(fiber.HeaderAllow, "GET, HEAD")
	title, msg := errorText(fiber.StatusMethodNotAllowed)
	return errorPage(c, requestContext{nonce: newNonce()}, fiber.StatusMethodNotAllowed, title, msg)
}

// NotFound answers routes nobody serves with 404: the NotFound page for a GET when there is one,
// else the shell's own page. Mount it last.
func (s *Shell) NotFound(c *fiber.Ctx) error {
	if s.notFound.Layout != nil && (c.Method() == fiber.MethodGet || c.Method() == fiber.MethodHead) {
		return s.renderLayout(c, s.notFound, fiber.StatusNotFound)
	}
	return errorPage(c, requestContext{nonce: newNonce()}, fiber.StatusNotFound, "Page not found",
		"There is no page at this address.")
}

// flushWriter gives fasthttp's stream writer the Flush the engine (and templ) need.
type flushWriter struct{ w *bufio.Writer }

func (f flushWriter) Write(p []byte) (int, error) { return f.w.Write(p) }
func (f flushWriter) Flush() error                { return f.w.Flush() }

type nopFlusher struct {
	w interface{ Write([]byte) (int, error) }
}

func (n nopFlusher) Write(p []byte) (int, error) { return n.w.Write(p) }
func (n nopFlusher) Flush() error                { return nil }

// csp is the pages' Content-Security-Policy: scripts only from the shell's origin or with the
// response's nonce.
func csp(nonce string) string {
	return "default-src 'self'; script-src 'self' 'nonce-" + nonce + "'; style-src 'self' 'unsafe-inline'; " +
		"img-src 'self' data:; object-src 'none'; base-uri 'self'; form-action 'self'; frame-ancestors 'none'"
}

func newNonce() string {
	var b [16]byte
	_, _ = rand.Read(b[:]) // crypto/rand.Read never fails
	return base64.RawURLEncoding.EncodeToString(b[:])
}

func clip(s string, n int) string {
	if len(s) > n {
		return s[:n]
	}
	return s
}

// signContext returns the signed Inlay-Context for c (see contextKey and sign).
func (s *Shell) signContext(c *fiber.Ctx, loc string) string { return s.sign(s.contextKey(c, loc)) }

// contextKey reads what the context carries from c: the customer from the session cookie (resolved
// with accounts), the cart from checkout's cookie, the CSRF token from the shell's cookie (set now
// when missing), the client's address, the locale.
func (s *Shell) contextKey(c *fiber.Ctx, loc string) sigKey {
	session := c.Cookies(s.cookies.session)
	if !validToken(session) {
		session = ""
	}
	// The CSRF cookie must carry a token this shell signed for this session: a value an attacker
	// planted, or one issued before a sign-in, is replaced (and then fails the team's check).
	name := s.cookies.csrf
	csrf := c.Cookies(name)
	if !s.csrf.Valid(csrf, session) {
		csrf = s.csrf.Issue(session)
		c.Cookie(&fiber.Cookie{Name: name, Value: csrf, Path: "/", HTTPOnly: true, Secure: !s.cfg.Dev(),
			SameSite: fiber.CookieSameSiteLaxMode})
	}
	cart := c.Cookies(s.cookies.cart)
	if !validToken(cart) {
		cart = ""
	}
	var customer string
	if session != "" {
		customer = s.sessions.customer(c.UserContext(), session)
	}
	// Cookie values alias fasthttp's buffers: copy them, the key outlives the handler.
	return sigKey{cart: strings.Clone(cart), csrf: strings.Clone(csrf), locale: strings.Clone(loc), customer: customer,
		client: kitserver.ClientAddr(c, s.proxies)}
}

// sign returns the signed context for key, valid for five minutes. Signatures are reused while
// they have more than two minutes left, so a returning visitor's page costs no Ed25519 signing.
func (s *Shell) sign(key sigKey) string {
	if h, ok := s.sigs.get(key); ok {
		return h
	}
	exp := time.Now().Add(5 * time.Minute)
	h, err := s.signer.Sign(fragments.Context{CustomerID: key.customer, CartID: key.cart, Locale: key.locale,
		CSRF: key.csrf, Client: key.client, Expires: exp})
	if err != nil {
		s.log.Error("sign context", "error", err.Error())
		return ""
	}
	s.sigs.put(key, h, exp)
	return h
}

// hostPrefix makes a cookie this host's alone: browsers take it only Secure, with Path=/ and no
// Domain, and only from an HTTPS answer of this host.
const hostPrefix = "__Host-"

// cookieNames are the names the browser holds the shell's and the teams' cookies under: as they are
// in dev, __Host- prefixed outside it (where pages are served over HTTPS). Made once, not per request.
type cookieNames struct{ cart, session, csrf string }

func newCookieNames(dev bool) cookieNames {
	if dev {
		return cookieNames{cart: CartCookie, session: SessionCookie, csrf: CSRFCookie}
	}
	return cookieNames{cart: hostPrefix + CartCookie, session: hostPrefix + SessionCookie, csrf: SecureCSRFCookie}
}

// browser is the browser's name for a team's cookie (a CookieOwners name).
func (n cookieNames) browser(team string) string {
	if team == SessionCookie {
		return n.session
	}
	return n.cart
}

func validToken(s string) bool {
	if s == "" || len(s) > 128 {
		return false
	}
	for i := 0; i < len(s); i++ {
		ch := s[i]
		if !(ch >= 'a' && ch <= 'z' || ch >= 'A' && ch <= 'Z' || ch >= '0' && ch <= '9' || ch == '-' || ch == '_') {
			return false
		}
	}
	return true
}

type sigKey struct{ cart, csrf, locale, customer, client string }

// bare is k for a fragment that does not ask for the CSRF token (fragments.Fragment.CSRF): a
// guest's context without the token; a customer's context always carries it (the account menu's
// sign-out form), and is the visitor's own anyway.
func (k sigKey) bare() sigKey {
	if k.customer == "" {
		k.csrf = ""
	}
	return k
}

type sig struct {
	header  string
	expires time.Time
}

// signatures remembers recent signed contexts, bounded.
type signatures struct {
	mu sync.Mutex
	m  map[sigKey]sig
}

func newSignatures() *signatures { return &signatures{m: map[sigKey]sig{}} }

func (s *signatures) get(k sigKey) (string, bool) {
	s.mu.Lock()
	v, ok := s.m[k]
	s.mu.Unlock()
	if !ok || time.Until(v.expires) < 2*time.Minute {
		return "", false
	}
	return v.header, true
}

func (s *signatures) put(k sigKey, h string, exp time.Time) {
	s.mu.Lock()
	if len(s.m) >= 10000 {
		clear(s.m)
	}
	s.m[k] = sig{header: h, expires: exp}
	s.mu.Unlock()
}

package server

import (
	"bytes"
	"crypto/tls"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/gofiber/fiber/v2"
	"github.com/valyala/fasthttp"
	"go.opentelemetry.io/otel/trace"

	"github.com/inlay-dev/inlay/fragments"
	"github.com/inlay-dev/inlay/services/kit/errs"
	kitserver "github.com/inlay-dev/inlay/services/kit/server"
	"github.com/inlay-dev/inlay/services/kit/tracing"
)

// proxy forwards /{context}/... to the team's /ui/... and /static/{context}/... to its /static/....
// Requests carry only allowlisted headers and the signed context, never the browser's cookies;
// responses pass Set-Cookie only for cookies the team owns (CookieOwners).
type proxy struct {
	teams     map[string]*proxyTeam
	instances *fragments.Instances
	opts      proxyOptions
	kept      *keptAssets
}

type proxyOptions struct {
	// sign returns the signed Inlay-Context for c.
	sign func(c *fiber.Ctx, locale string) string
	// locales are the store's (INLAY_LOCALES), which a visitor's Accept-Language is matched against.
	locales []string
	// bodyLimit bounds a request body other than a form post's (FormBodyLimit).
	bodyLimit int
	// errorPage answers in place of a team's error whose body is not the team's HTML (a team's
	// plain-text or JSON error, which may name its internal routes).
	errorPage func(c *fiber.Ctx, status int) error
	// unavailable, when set, reports whether a team's breaker is open (its fragments have been failing):
	// the proxy then answers at once — with the asset it kept, or 503 — instead of waiting its own
	// timeout for a team that hangs, which would hold a page's stylesheet, or an add-to-cart, 10 s.
	unavailable func(team string) bool
	// cookies are the browser's names for the teams' cookies; dev keeps the teams' own names there
	// (outside dev they are __Host- prefixed).
	cookies cookieNames
	dev     bool
	// sessionChanged, when set, hears of the session cookie a request came with when the session's
	// owner answered it with a new (or cleared) session cookie: a sign-in or sign-out.
	sessionChanged func(old string)
}

// proxyTeam is a team's instances, each with its connection pool.
type proxyTeam struct {
	name      string
	instances *fragments.Instances

	mu    sync.RWMutex
	pools map[*fragments.Instance]*proxyInstance // made at an instance's first request
}

type proxyInstance struct {
	scheme, host, prefix string
	client               *fasthttp.HostClient
}

const proxyTimeout = 10 * time.Second

// staticTimeout bounds a team's static asset: a stylesheet or a script a page waits on, small, and
// kept by the shell (immutable ones) — a team that cannot send one within it is as good as down, and
// the page gets the kept copy (or its 503) now rather than after proxyTimeout.
const staticTimeout = 3 * time.Second

// newProxy builds the proxy to the instances of every team, taking each request's instance from
// their rotation.
func newProxy(instances *fragments.Instances, teams fragments.Teams, opts proxyOptions) *proxy {
	p := &proxy{teams: map[string]*proxyTeam{}, instances: instances, opts: opts, kept: newKeptAssets(keptAssetBytes)}
	for name := range teams {
		p.teams[name] = &proxyTeam{name: name, instances: instances, pools: map[*fragments.Instance]*proxyInstance{}}
	}
	return p
}

// pool is inst's connection pool; the first request to an instance makes it and drops the pools of
// instances that have left the team (an address its name no longer resolves to).
func (t *proxyTeam) pool(inst *fragments.Instance) *proxyInstance {
	t.mu.RLock()
	pi, ok := t.pools[inst]
	t.mu.RUnlock()
	if ok {
		return pi
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	if pi, ok := t.pools[inst]; ok {
		return pi
	}
	current := t.instances.All(t.name)
	for old, pi := range t.pools {
		if !slices.Contains(current, old) {
			pi.client.CloseIdleConnections()
			delete(t.pools, old)
		}
	}
	pi = &proxyInstance{scheme: inst.Scheme(), host: inst.Host(), prefix: inst.Prefix(),
		client: &fasthttp.HostClient{Addr: inst.Addr(), IsTLS: inst.Scheme() == "https", MaxConns: 256,
			MaxConnWaitTimeout: time.Second, MaxIdleConnDuration: 30 * time.Second, ReadTimeout: proxyTimeout,
			WriteTimeout: proxyTimeout, NoDefaultUserAgentHeader: true, DisablePathNormalizing: true,
			MaxResponseBodySize: 16 << 20}}
	if pi.client.IsTLS {
		pi.client.TLSConfig = &tls.Config{ServerName: inst.TLSName(), MinVersion: tls.VersionTLS12}
	}
	t.pools[inst] = pi
	return pi
}

// do sends req to the team's next instance in rotation. A request whose connection was refused
// never reached the team and goes once more to another instance; so does a GET or HEAD whose
// connection was reset before any byte of the answer (an instance stopping), and a GET or HEAD of
// an asset the instance does not have (404 under /static/): during a rolling deploy a page of the
// new version may ask an instance of the old one for the new version's assets, and the other way
// round.
func (p *proxy) do(c *fiber.Ctx, t *proxyTeam, path string, req *fasthttp.Request, resp *fasthttp.Response) error {
	safe := c.Method() == fiber.MethodGet || c.Method() == fiber.MethodHead
	tried := 0
	var last *fragments.Instance
	for {
		inst := p.instances.Pick(t.name, last)
		if inst == nil {
			inst = last
		}
		pi := t.pool(inst)
		uri := req.URI()
		uri.SetScheme(pi.scheme)
		uri.SetHost(pi.host)
		uri.SetPath(pi.prefix + path)
		timeout := proxyTimeout
		if safe && strings.HasPrefix(path, "/static/") {
			timeout = staticTimeout
		}
		err := pi.client.DoTimeout(req, resp, timeout)
		tried++
		retry := false
		switch {
		case err != nil && fragments.Refused(err):
			p.instances.Down(inst)
			retry = errors.Is(err, syscall.ECONNREFUSED) || safe
		case err == nil && safe && resp.StatusCode() == fiber.StatusNotFound && strings.HasPrefix(path, "/static/"):
			retry = true
		}
		if !retry || tried >= len(p.instances.All(t.name)) || (err != nil && tried >= 2) {
			return err
		}
		last = inst
		resp.Reset()
	}
}

// keptAssetBytes bounds the assets the proxy keeps for teams' instances that are gone.
const keptAssetBytes = 32 << 20

// keptAsset is a content-hashed asset a team served, kept by the shell.
type keptAsset struct {
	body                      []byte
	contentType, cacheControl string
}

// keptAssets holds the immutable (content-hashed) assets the teams served, so a page of a version
// whose last instance has just stopped still gets its stylesheets and scripts during a rolling
// deploy ("the shell keeps the last version's assets"). Bounded in bytes; the oldest go first.
type keptAssets struct {
	mu    sync.Mutex
	max   int
	size  int
	m     map[string]keptAsset
	order []string
}

func newKeptAssets(max int) *keptAssets { return &keptAssets{max: max, m: map[string]keptAsset{}} }

func (k *keptAssets) get(key string) (keptAsset, bool) {
	k.mu.Lock()
	defer k.mu.Unlock()
	a, ok := k.m[key]
	return a, ok
}

func (k *keptAssets) put(key string, a keptAsset) {
	if len(a.body) > k.max/16 {
		return
	}
	k.mu.Lock()
	defer k.mu.Unlock()
	if _, ok := k.m[key]; ok {
		return
	}
	for k.size+len(a.body) > k.max && len(k.order) > 0 {
		old := k.order[0]
		k.order = k.order[1:]
		k.size -= len(k.m[old].body)
		delete(k.m, old)
	}
	k.m[key] = a
	k.order = append(k.order, key)
	k.size += len(a.body)
}

// sendKept answers with an asset the shell kept.
func sendKept(c *fiber.Ctx, a keptAsset) error {
	c.Set(fiber.HeaderContentType, a.contentType)
	c.Set(fiber.HeaderCacheControl, a.cacheControl)
	c.Set(fiber.HeaderXContentTypeOptions, "nosniff")
	return c.Send(a.body)
}

// keep records an immutable asset a team answered with, and returns the kept copy when the team
// has none to give (an error, 404 or 5xx).
func (p *proxy) keep(key string, c *fiber.Ctx, resp *fasthttp.Response, err error) (keptAsset, bool) {
	if c.Method() != fiber.MethodGet && c.Method() != fiber.MethodHead {
		return keptAsset{}, false
	}
	if err == nil && resp.StatusCode() == fiber.StatusOK {
		cc := string(resp.Header.Peek(fiber.HeaderCacheControl))
		if c.Method() == fiber.MethodGet && strings.Contains(cc, "immutable") {
			p.kept.put(key, keptAsset{body: bytes.Clone(resp.Body()), contentType: string(resp.Header.ContentType()), cacheControl: cc})
		}
		return keptAsset{}, false
	}
	if err == nil && resp.StatusCode() != fiber.StatusNotFound && resp.StatusCode() < 500 {
		return keptAsset{}, false
	}
	return p.kept.get(key)
}

// Request headers a team may see from the browser, besides the signed context.
var proxyRequestHeaders = []string{
	"Accept", "Accept-Language", "Content-Type", "User-Agent", "traceparent", "Origin", "Sec-Fetch-Site",
	fragments.CSRFHeader,
	"If-None-Match", "If-Modified-Since",
	"HX-Request", "HX-Target", "HX-Trigger", "HX-Trigger-Name", "HX-Current-URL", "HX-Boosted", "HX-Prompt",
}

// Response headers never passed back (hop-by-hop, or the shell's own).
var proxyDroppedResponseHeaders = map[string]bool{
	"Connection": true, "Keep-Alive": true, "Transfer-Encoding": true, "Content-Length": true,
	"Server": true, "Date": true, "Set-Cookie": true, "Upgrade": true, "Proxy-Authenticate": true,
	"Trailer": true, "Te": true,
}

// proxiedCSP is the Content-Security-Policy of team HTML the shell proxies: like a page's, without
// a nonce (such HTML runs only the scripts it loads from the storefront's origin).
const proxiedCSP = "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; " +
	"object-src 'none'; base-uri 'self'; form-action 'self'; frame-ancestors 'none'"

// body returns the request body to forward, refusing one over its limit with 413. The shell's server
// does not stream request bodies: fasthttp has already refused a body over INLAY_BODY_LIMIT (a
// declared length before reading it, a chunked one at the limit), so what is left here is the tighter
// FormBodyLimit of form posts.
func (p *proxy) body(c *fiber.Ctx) ([]byte, error) {
	limit := p.opts.bodyLimit
	if limit <= 0 {
		limit = 1 << 20
	}
	ct := bytes.ToLower(c.Request().Header.ContentType())
	if bytes.HasPrefix(ct, []byte(fiber.MIMEApplicationForm)) || bytes.HasPrefix(ct, []byte(fiber.MIMEMultipartForm)) {
		limit = min(limit, FormBodyLimit)
	}
	if b := c.Request().Body(); len(b) <= limit {
		return b, nil
	}
	c.Context().SetConnectionClose()
	return nil, errs.Errorf(errs.ETOOLARGE, "The request body is larger than %d bytes.", limit)
}

// ui forwards /{team}/rest to the team's /ui/rest, with the signed context.
func (p *proxy) ui(team string) fiber.Handler {
	t := p.teams[team]
	prefix := "/" + team + "/"
	return func(c *fiber.Ctx) error {
		rest := c.Path()[len(prefix)-1:] // "/rest"
		return p.forward(c, t, "/ui"+rest, true)
	}
}

// static forwards /static/{team}/rest to the team's /static/rest: GET and HEAD only, no context.
func (p *proxy) static(team string) fiber.Handler {
	t := p.teams[team]
	prefix := "/static/" + team + "/"
	return func(c *fiber.Ctx) error {
		if c.Method() != fiber.MethodGet && c.Method() != fiber.MethodHead {
			c.Set(fiber.HeaderAllow, "GET, HEAD")
			return fiber.ErrMethodNotAllowed
		}
		rest := c.Path()[len(prefix)-1:]
		return p.forward(c, t, "/static"+rest, false)
	}
}

// plainPath reports whether a path the proxy passes on holds no dot segment and no encoded dot,
// slash or backslash: a team routes on the path as it comes, so /ui/../v1/cart reaches nothing today,
// but a hop that normalises paths (a sidecar, an ingress) would take it to the team's API.
func plainPath(path string) bool {
	for seg := range strings.SplitSeq(path, "/") {
		if seg == "." || seg == ".." {
			return false
		}
	}
	if strings.IndexByte(path, '\\') >= 0 {
		return false
	}
	for i := strings.IndexByte(path, '%'); i >= 0; i = strings.IndexByte(path, '%') {
		if len(path) >= i+3 {
			switch strings.ToLower(path[i+1 : i+3]) {
			case "2e", "2f", "5c", "25":
				return false
			}
		}
		path = path[i+1:]
	}
	return true
}

func (p *proxy) forward(c *fiber.Ctx, t *proxyTeam, path string, withContext bool) error {
	if !plainPath(path) {
		return fiber.ErrNotFound
	}
	if withContext {
		// A state-changing request from another site never reaches a team (the team checks again,
		// and checks the CSRF token).
		if err := fragments.CheckOrigin(c, string(c.Request().Host())); err != nil {
			return errs.Wrap(errs.EFORBIDDEN, err, "This request did not come from our store's pages.")
		}
	}
	body, err := p.body(c)
	if err != nil {
		return err
	}
	if p.opts.unavailable != nil && p.opts.unavailable(t.name) {
		if a, ok := p.kept.get(t.name + path); ok && !withContext && (c.Method() == fiber.MethodGet || c.Method() == fiber.MethodHead) {
			return sendKept(c, a)
		}
		c.Set(fiber.HeaderRetryAfter, "5")
		return errs.Errorf(errs.EUNAVAILABLE, "%s is not available", t.name)
	}
	req := fasthttp.AcquireRequest()
	resp := fasthttp.AcquireResponse()
	defer fasthttp.ReleaseRequest(req)
	defer fasthttp.ReleaseResponse(resp)

	in := &c.Request().Header
	req.Header.SetMethodBytes(in.Method())
	if q := c.Request().URI().QueryString(); len(q) > 0 {
		req.URI().SetQueryStringBytes(q)
	}
	for _, h := range proxyRequestHeaders {
		if v := in.Peek(h); len(v) > 0 {
			req.Header.SetBytesV(h, v)
		}
	}
	req.Header.Set(fragments.HeaderRequestID, kitserver.RequestID(c))
	// After this the shell has answered 503 and no longer waits: the team refuses the request then.
	req.Header.Set(kitserver.DeadlineHeader, strconv.FormatInt(time.Now().Add(proxyTimeout).UnixMilli(), 10))
	// The team's span continues the shell's request span (or the browser's trace as it came).
	if tp := tracing.Traceparent(trace.SpanContextFromContext(c.UserContext())); tp != "" {
		req.Header.Set(fragments.HeaderTraceparent, tp)
	}
	req.Header.Set("X-Forwarded-For", c.IP())
	req.Header.Set("X-Forwarded-Host", string(c.Request().Host())) // the Host the origin check used, never a client X-Forwarded-Host
	req.Header.Set("X-Forwarded-Proto", c.Protocol())
	var session string
	if withContext {
		if h := p.opts.sign(c, fragments.Locale(c.Get(fiber.HeaderAcceptLanguage), p.opts.locales)); h != "" {
			req.Header.Set(fragments.ContextHeader, h)
		}
		// The session's owner, and only it, gets the session cookie: it ends the session at sign-out
		// and replaces it at sign-in.
		if t.name == sessionOwner {
			if v := c.Cookies(p.opts.cookies.session); validToken(v) {
				session = strings.Clone(v)
				req.Header.SetCookie(SessionCookie, session)
			}
		}
	}
	if len(body) > 0 {
		req.SetBodyRaw(body)
	}
	err = p.do(c, t, path, req, resp)
	if !withContext {
		if a, ok := p.keep(t.name+path, c, resp, err); ok {
			// No instance has this content-hashed asset any more (the last of its version has
			// stopped): the copy the shell kept.
			return sendKept(c, a)
		}
	}
	if err != nil {
		safe := c.Method() == fiber.MethodGet || c.Method() == fiber.MethodHead
		if !safe && !errors.Is(err, syscall.ECONNREFUSED) && (errors.Is(err, fasthttp.ErrTimeout) || fragments.Refused(err)) {
			// The team took the change and its answer was lost: it may have been applied (a cart's
			// add), and sending it again may apply it twice. Say so, rather than "try again".
			return errs.Wrap(errs.ETIMEOUT, fmt.Errorf("proxy to %s: %w", t.name, err),
				t.name+" did not answer in time. Your change may have gone through: please look before you send it again.")
		}
		if errors.Is(err, fasthttp.ErrTimeout) {
			return errs.Wrap(errs.EUNAVAILABLE, err, t.name+" did not answer in time")
		}
		return errs.Wrap(errs.EUNAVAILABLE, fmt.Errorf("proxy to %s: %w", t.name, err), t.name+" is not available")
	}

	status := resp.StatusCode()
	ct := bytes.ToLower(resp.Header.ContentType())
	html := bytes.HasPrefix(ct, []byte(fiber.MIMETextHTML))
	jsonError := bytes.HasPrefix(ct, []byte(fiber.MIMEApplicationJSON)) && status >= 400 && status < 500 &&
		status != fiber.StatusNotFound && status != fiber.StatusMethodNotAllowed
	if status >= 500 || (status >= 400 && !html && !jsonError) {
		// A team's plain-text error (Fiber's "Cannot GET /ui/...") or its routing 404 may name its
		// internal routes, and a 5xx says nothing a shopper can use: the shell answers with its own.
		// A team's HTML 4xx (a form with its errors) and its JSON 4xx for scripts (the kit's
		// {"error":{"code","message"}}, written for users) pass. A 405 keeps the team's Allow.
		if allow := resp.Header.Peek(fiber.HeaderAllow); status == fiber.StatusMethodNotAllowed && len(allow) > 0 {
			c.Set(fiber.HeaderAllow, string(allow))
		}
		return p.opts.errorPage(c, status)
	}
	out := c.Response()
	out.SetStatusCode(status)
	for k, v := range resp.Header.All() {
		if !proxyDroppedResponseHeaders[string(k)] {
			out.Header.SetBytesKV(k, v)
		}
	}
	out.Header.Set(fiber.HeaderXContentTypeOptions, "nosniff")
	if html {
		// The shell's policy applies to every HTML answer it sends, whoever rendered it.
		out.Header.Set(fiber.HeaderContentSecurityPolicy, proxiedCSP)
		out.Header.Set(fiber.HeaderReferrerPolicy, "strict-origin-when-cross-origin")
		out.Header.Set(fiber.HeaderXFrameOptions, "DENY")
	}
	if withContext {
		for name, value := range resp.Header.Cookies() {
			if CookieOwners[string(name)] != t.name {
				continue
			}
			ck := fasthttp.AcquireCookie()
			if ck.ParseBytes(value) == nil && bytes.Equal(ck.Key(), name) {
				if deletesCookie(value) {
					// fasthttp parses Max-Age=0 as no Max-Age: written back as parsed, a cookie the
					// team deletes (sign-out) would stay, empty, until the browser closes.
					ck.SetMaxAge(-1)
				}
				if !p.opts.dev {
					// The browser's name for it, with what the __Host- prefix requires.
					ck.SetKey(p.opts.cookies.browser(string(name)))
					ck.SetSecure(true)
					ck.SetPath("/")
					ck.SetDomain("")
				}
				out.Header.SetCookie(ck)
				if string(name) == SessionCookie && p.opts.sessionChanged != nil {
					p.opts.sessionChanged(session)
				}
			}
			fasthttp.ReleaseCookie(ck)
		}
	}
	out.SetBody(resp.Body())
	return nil
}

// deletesCookie reports whether a Set-Cookie value tells the browser to delete the cookie now: a
// Max-Age of 0 (RFC 6265, 5.2.2; a negative one does not get here: fasthttp refuses to parse it).
func deletesCookie(setCookie []byte) bool {
	for attr := range bytes.SplitSeq(setCookie, []byte(";")) {
		k, v, ok := bytes.Cut(bytes.TrimSpace(attr), []byte("="))
		if !ok || !bytes.EqualFold(bytes.TrimSpace(k), []byte("max-age")) {
			continue
		}
		v = bytes.TrimSpace(v)
		return len(v) > 0 && len(bytes.TrimLeft(v, "0")) == 0
	}
	return false
}

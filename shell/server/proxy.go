package server

import (
	"bytes"
	"errors"
	"fmt"
	"net/url"
	"strings"
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
	teams map[string]*proxyTeam
	opts  proxyOptions
}

type proxyOptions struct {
	// sign returns the signed Inlay-Context for c.
	sign func(c *fiber.Ctx, locale string) string
	// bodyLimit bounds a request body other than a form post's (FormBodyLimit).
	bodyLimit int
	// errorPage answers in place of a team's error whose body is not the team's HTML (a team's
	// plain-text or JSON error, which may name its internal routes).
	errorPage func(c *fiber.Ctx, status int) error
	// sessionChanged, when set, hears of the session cookie a request came with when the session's
	// owner answered it with a new (or cleared) session cookie: a sign-in or sign-out.
	sessionChanged func(old string)
}

type proxyTeam struct {
	name   string
	scheme string
	host   string
	prefix string
	client *fasthttp.HostClient
}

const proxyTimeout = 10 * time.Second

func newProxy(teams map[string]string, opts proxyOptions) *proxy {
	p := &proxy{teams: map[string]*proxyTeam{}, opts: opts}
	for name, base := range teams {
		u, err := url.Parse(base)
		if err != nil {
			continue // ParseTeams and NewClient have validated every URL already
		}
		addr := u.Host
		if u.Port() == "" {
			if u.Scheme == "https" {
				addr += ":443"
			} else {
				addr += ":80"
			}
		}
		p.teams[name] = &proxyTeam{name: name, scheme: u.Scheme, host: u.Host, prefix: u.Path,
			client: &fasthttp.HostClient{Addr: addr, IsTLS: u.Scheme == "https", MaxConns: 256,
				MaxConnWaitTimeout: time.Second, MaxIdleConnDuration: 30 * time.Second, ReadTimeout: proxyTimeout,
				WriteTimeout: proxyTimeout, NoDefaultUserAgentHeader: true, DisablePathNormalizing: true,
				MaxResponseBodySize: 16 << 20}}
	}
	return p
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
			return fiber.ErrMethodNotAllowed
		}
		rest := c.Path()[len(prefix)-1:]
		return p.forward(c, t, "/static"+rest, false)
	}
}

func (p *proxy) forward(c *fiber.Ctx, t *proxyTeam, path string, withContext bool) error {
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
	req := fasthttp.AcquireRequest()
	resp := fasthttp.AcquireResponse()
	defer fasthttp.ReleaseRequest(req)
	defer fasthttp.ReleaseResponse(resp)

	in := &c.Request().Header
	req.Header.SetMethodBytes(in.Method())
	uri := req.URI()
	uri.SetScheme(t.scheme)
	uri.SetHost(t.host)
	uri.SetPath(t.prefix + path)
	if q := c.Request().URI().QueryString(); len(q) > 0 {
		uri.SetQueryStringBytes(q)
	}
	for _, h := range proxyRequestHeaders {
		if v := in.Peek(h); len(v) > 0 {
			req.Header.SetBytesV(h, v)
		}
	}
	req.Header.Set(fragments.HeaderRequestID, kitserver.RequestID(c))
	// The team's span continues the shell's request span (or the browser's trace as it came).
	if tp := tracing.Traceparent(trace.SpanContextFromContext(c.UserContext())); tp != "" {
		req.Header.Set(fragments.HeaderTraceparent, tp)
	}
	req.Header.Set("X-Forwarded-For", c.IP())
	req.Header.Set("X-Forwarded-Host", string(c.Request().Host())) // the Host the origin check used, never a client X-Forwarded-Host
	req.Header.Set("X-Forwarded-Proto", c.Protocol())
	var session string
	if withContext {
		if h := p.opts.sign(c, fragments.Locale(c.Get(fiber.HeaderAcceptLanguage))); h != "" {
			req.Header.Set(fragments.ContextHeader, h)
		}
		// The session's owner, and only it, gets the session cookie: it ends the session at sign-out
		// and replaces it at sign-in.
		if t.name == sessionOwner {
			if v := c.Cookies(SessionCookie); validToken(v) {
				session = strings.Clone(v)
				req.Header.SetCookie(SessionCookie, session)
			}
		}
	}
	if len(body) > 0 {
		req.SetBodyRaw(body)
	}
	if err := t.client.DoTimeout(req, resp, proxyTimeout); err != nil {
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
		// {"error":{"code","message"}}, written for users) pass.
		return p.opts.errorPage(c, status)
	}
	out := c.Response()
	out.SetStatusCode(status)
	resp.Header.VisitAll(func(k, v []byte) {
		if proxyDroppedResponseHeaders[string(k)] {
			return
		}
		out.Header.SetBytesKV(k, v)
	})
	out.Header.Set(fiber.HeaderXContentTypeOptions, "nosniff")
	if html {
		// The shell's policy applies to every HTML answer it sends, whoever rendered it.
		out.Header.Set(fiber.HeaderContentSecurityPolicy, proxiedCSP)
		out.Header.Set(fiber.HeaderReferrerPolicy, "strict-origin-when-cross-origin")
		out.Header.Set(fiber.HeaderXFrameOptions, "DENY")
	}
	if withContext {
		resp.Header.VisitAllCookie(func(name, value []byte) {
			if CookieOwners[string(name)] != t.name {
				return
			}
			ck := fasthttp.AcquireCookie()
			defer fasthttp.ReleaseCookie(ck)
			if ck.ParseBytes(value) == nil && bytes.Equal(ck.Key(), name) {
				out.Header.SetCookie(ck)
				if string(name) == SessionCookie && p.opts.sessionChanged != nil {
					p.opts.sessionChanged(session)
				}
			}
		})
	}
	out.SetBody(resp.Body())
	return nil
}

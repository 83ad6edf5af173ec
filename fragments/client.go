package fragments

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/sony/gobreaker/v2"
	"github.com/valyala/bytebufferpool"
	"github.com/valyala/fasthttp"
	"go.opentelemetry.io/otel/trace"
)

// Errors a fetch may end with, besides the transport's own. Every one of them means: use the fallback.
var (
	// ErrBreakerOpen is returned at once, without a request, while a team's breaker is open.
	ErrBreakerOpen = errors.New("fragments: team circuit breaker open")
	// ErrTimeout is returned when the fragment's deadline passes first.
	ErrTimeout = errors.New("fragments: fragment deadline exceeded")
	// ErrUnknownTeam is returned for a team the client was not given.
	ErrUnknownTeam = errors.New("fragments: unknown team")
)

// Headers a fragment request may carry. Nothing else of the browser's request reaches a team; in
// particular never a cookie. The set is fixed by the Forwarded struct, so a caller cannot add one.
const (
	HeaderAcceptLanguage = "Accept-Language"
	HeaderUserAgent      = "User-Agent"
	HeaderTraceparent    = "traceparent"
	HeaderRequestID      = "X-Request-Id"
)

// Forwarded is the allowlisted part of the browser's request that a team may see, plus the signed
// Inlay-Context. Empty fields are not sent.
type Forwarded struct {
	AcceptLanguage string
	UserAgent      string
	Traceparent    string
	RequestID      string
	// Context is the signed Inlay-Context header value.
	Context string
}

// FetchRequest is one fragment (or manifest) request to a team.
type FetchRequest struct {
	// Team is the context name the client knows the team's base URL by.
	Team string
	// Path is the path on the team's server: "/fragments/header".
	Path string
	// Query is the encoded query string, without "?".
	Query string
	// Forwarded holds the allowlisted headers.
	Forwarded Forwarded
	// Timeout bounds the request; ClientOptions.Timeout when zero. A deadline on ctx that comes
	// earlier wins.
	Timeout time.Duration
	// IfNoneMatch revalidates a cached copy: a 304 answer carries no body.
	IfNoneMatch string
}

// FetchResponse is a team's answer. Body is owned by the caller; a caller that is done with it may
// call Release to let the client reuse its memory.
type FetchResponse struct {
	Status       int
	Body         []byte
	ContentType  string
	CacheControl string
	ETag         string
	Location     string
	Link         string
	Vary         string
	// Duration is how long the request took.
	Duration time.Duration

	buf *bytebufferpool.ByteBuffer // Body's memory, while it is pooled
}

// Release returns Body's memory to the client's pool. Body (and anything that aliases it) must not be
// used afterwards. Calling it is optional: an unreleased response is garbage collected.
func (r *FetchResponse) Release() {
	if r == nil || r.buf == nil {
		return
	}
	bytebufferpool.Put(r.buf)
	r.buf, r.Body = nil, nil
}

// ClientOptions configures NewClient. Zero values take the defaults in brackets.
type ClientOptions struct {
	// Teams maps each team's context to its base URL ("http://127.0.0.1:8101"). URLs come only from
	// configuration, never from a request.
	Teams map[string]string
	// Timeout is the default per-request deadline [1s].
	Timeout time.Duration
	// MaxConnsPerTeam bounds the pooled keep-alive connections per team [512].
	MaxConnsPerTeam int
	// MaxBodySize bounds a response body [2 MiB]; a larger body is an error.
	MaxBodySize int
	// BreakerFailures is how many consecutive failures (errors, timeouts, 5xx) open a team's
	// breaker [5].
	BreakerFailures uint32
	// BreakerOpen is how long a breaker stays open before it lets one trial request through
	// (half-open) [5s].
	BreakerOpen time.Duration
	// OnStateChange, when set, is told of every breaker state change (for logs and metrics).
	OnStateChange func(team string, from, to gobreaker.State)
	// Tracer, when set, makes a client span of every request. Either way a request carries the
	// traceparent of ctx's span when there is one (else Forwarded.Traceparent).
	Tracer trace.TracerProvider
}

// Client fetches fragments from the teams over pooled keep-alive connections, each request with its
// own deadline, through a circuit breaker per team. It is safe for concurrent use.
type Client struct {
	opts  ClientOptions
	mu    sync.RWMutex
	teams map[string]*teamClient
}

type teamClient struct {
	name    string
	host    *fasthttp.HostClient
	scheme  string
	hostHdr string
	prefix  string // base URL path, without trailing slash
	breaker *gobreaker.CircuitBreaker[*FetchResponse]
}

// NewClient builds a client for the given teams.
func NewClient(opts ClientOptions) (*Client, error) {
	if opts.Timeout <= 0 {
		opts.Timeout = time.Second
	}
	if opts.MaxConnsPerTeam <= 0 {
		opts.MaxConnsPerTeam = 512
	}
	if opts.MaxBodySize <= 0 {
		opts.MaxBodySize = 2 << 20
	}
	if opts.BreakerFailures == 0 {
		opts.BreakerFailures = 5
	}
	if opts.BreakerOpen <= 0 {
		opts.BreakerOpen = 5 * time.Second
	}
	c := &Client{opts: opts, teams: make(map[string]*teamClient, len(opts.Teams))}
	for name, base := range opts.Teams {
		tc, err := c.newTeam(name, base)
		if err != nil {
			return nil, err
		}
		c.teams[name] = tc
	}
	return c, nil
}

func (c *Client) newTeam(name, base string) (*teamClient, error) {
	u, err := url.Parse(base)
	if err != nil || u.Host == "" || (u.Scheme != "http" && u.Scheme != "https") {
		return nil, fmt.Errorf("team %s: base URL %q must be http(s)://host[:port][/path]", name, base)
	}
	addr := u.Host
	if u.Port() == "" {
		if u.Scheme == "https" {
			addr += ":443"
		} else {
			addr += ":80"
		}
	}
	failures := c.opts.BreakerFailures
	onChange := c.opts.OnStateChange
	tc := &teamClient{
		name:    name,
		scheme:  u.Scheme,
		hostHdr: u.Host,
		prefix:  strings.TrimSuffix(u.Path, "/"),
		host: &fasthttp.HostClient{
			Addr:                          addr,
			Name:                          "inlay-shell",
			IsTLS:                         u.Scheme == "https",
			MaxConns:                      c.opts.MaxConnsPerTeam,
			MaxConnWaitTimeout:            c.opts.Timeout,
			MaxIdleConnDuration:           30 * time.Second,
			MaxIdemponentCallAttempts:     2, // one retry when a pooled connection was closed under us
			MaxResponseBodySize:           c.opts.MaxBodySize,
			ReadBufferSize:                16 << 10,
			NoDefaultUserAgentHeader:      true,
			DisableHeaderNamesNormalizing: false,
		},
	}
	tc.breaker = gobreaker.NewCircuitBreaker[*FetchResponse](gobreaker.Settings{
		Name:        name,
		MaxRequests: 1,
		Timeout:     c.opts.BreakerOpen,
		ReadyToTrip: func(counts gobreaker.Counts) bool { return counts.ConsecutiveFailures >= failures },
		OnStateChange: func(team string, from, to gobreaker.State) {
			if onChange != nil {
				onChange(team, from, to)
			}
		},
	})
	return tc, nil
}

// SetTeam adds or replaces a team's base URL.
func (c *Client) SetTeam(name, base string) error {
	tc, err := c.newTeam(name, base)
	if err != nil {
		return err
	}
	c.mu.Lock()
	c.teams[name] = tc
	c.mu.Unlock()
	return nil
}

// BreakerState reports the state of a team's breaker.
func (c *Client) BreakerState(team string) (gobreaker.State, bool) {
	c.mu.RLock()
	tc, ok := c.teams[team]
	c.mu.RUnlock()
	if !ok {
		return gobreaker.StateClosed, false
	}
	return tc.breaker.State(), true
}

// statusError is a 5xx answer: it counts against the breaker, and the response is still returned.
type statusError struct{ status int }

func (e statusError) Error() string { return fmt.Sprintf("fragments: status %d", e.status) }

// Fetch performs one GET against a team. It returns the response for every status; err is set only
// when there is no usable response (breaker open, timeout, transport error, body too large) — and for
// 5xx, where both are returned. 5xx, timeouts and transport errors count against the team's breaker;
// 2xx, 3xx and 4xx do not.
func (c *Client) Fetch(ctx context.Context, r FetchRequest) (*FetchResponse, error) {
	c.mu.RLock()
	tc, ok := c.teams[r.Team]
	c.mu.RUnlock()
	if !ok {
		return nil, fmt.Errorf("%w %q", ErrUnknownTeam, r.Team)
	}
	timeout := r.Timeout
	if timeout <= 0 {
		timeout = c.opts.Timeout
	}
	deadline := time.Now().Add(timeout)
	if d, ok := ctx.Deadline(); ok && d.Before(deadline) {
		deadline = d
	}
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("fetch %s%s: %w", r.Team, r.Path, err)
	}
	span := c.startSpan(ctx, &r)
	resp, err := c.execute(tc, r, deadline)
	endSpan(span, resp, err)
	return resp, err
}

// execute performs r through tc's breaker.
func (c *Client) execute(tc *teamClient, r FetchRequest, deadline time.Time) (*FetchResponse, error) {
	resp, err := tc.breaker.Execute(func() (*FetchResponse, error) {
		resp, err := tc.do(r, deadline)
		if err != nil {
			return nil, err
		}
		if resp.Status >= 500 {
			return resp, statusError{resp.Status}
		}
		return resp, nil
	})
	switch {
	case errors.Is(err, gobreaker.ErrOpenState), errors.Is(err, gobreaker.ErrTooManyRequests):
		return nil, fmt.Errorf("fetch %s%s: %w", r.Team, r.Path, ErrBreakerOpen)
	case err != nil:
		var se statusError
		if errors.As(err, &se) {
			return resp, fmt.Errorf("fetch %s%s: %w", r.Team, r.Path, err)
		}
		return nil, fmt.Errorf("fetch %s%s: %w", r.Team, r.Path, err)
	}
	return resp, nil
}

func (tc *teamClient) do(r FetchRequest, deadline time.Time) (*FetchResponse, error) {
	req := fasthttp.AcquireRequest()
	resp := fasthttp.AcquireResponse()
	defer fasthttp.ReleaseRequest(req)
	defer fasthttp.ReleaseResponse(resp)

	uri := req.URI()
	uri.SetSchemeBytes(schemeBytes(tc.scheme))
	uri.SetHost(tc.hostHdr)
	if tc.prefix != "" {
		uri.SetPath(tc.prefix + r.Path)
	} else {
		uri.SetPath(r.Path)
	}
	if r.Query != "" {
		uri.SetQueryString(r.Query)
	}
	req.Header.SetMethod(fasthttp.MethodGet)
	h := &req.Header
	h.Set("Accept", "text/html")
	f := r.Forwarded
	if f.AcceptLanguage != "" {
		h.Set(HeaderAcceptLanguage, f.AcceptLanguage)
	}
	if f.UserAgent != "" {
		h.Set(HeaderUserAgent, f.UserAgent)
	}
	if f.Traceparent != "" {
		h.Set(HeaderTraceparent, f.Traceparent)
	}
	if f.RequestID != "" {
		h.Set(HeaderRequestID, f.RequestID)
	}
	if f.Context != "" {
		h.Set(ContextHeader, f.Context)
	}
	if r.IfNoneMatch != "" {
		h.Set("If-None-Match", r.IfNoneMatch)
	}
	start := time.Now()
	if err := tc.host.DoDeadline(req, resp, deadline); err != nil {
		if errors.Is(err, fasthttp.ErrTimeout) || errors.Is(err, fasthttp.ErrDialTimeout) {
			return nil, ErrTimeout
		}
		return nil, err
	}
	out := &FetchResponse{Status: resp.StatusCode(), Duration: time.Since(start), buf: bytebufferpool.Get()}
	out.buf.B = append(out.buf.B[:0], resp.Body()...)
	out.Body = out.buf.B
	rh := &resp.Header
	out.ContentType = string(rh.ContentType())
	out.CacheControl = string(rh.Peek(fasthttp.HeaderCacheControl))
	out.ETag = string(rh.Peek(fasthttp.HeaderETag))
	out.Location = string(rh.Peek(fasthttp.HeaderLocation))
	out.Link = string(rh.Peek(fasthttp.HeaderLink))
	out.Vary = string(rh.Peek(fasthttp.HeaderVary))
	return out, nil
}

var (
	httpBytes  = []byte("http")
	httpsBytes = []byte("https")
)

func schemeBytes(s string) []byte {
	if s == "https" {
		return httpsBytes
	}
	return httpBytes
}

// Close releases idle connections.
func (c *Client) Close() {
	c.mu.RLock()
	defer c.mu.RUnlock()
	for _, tc := range c.teams {
		tc.host.CloseIdleConnections()
	}
}

package fragments

import (
	"bytes"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"sync"
	"syscall"
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

// FetchRequest is one request to a team: a fragment or a manifest (GET, text/html), or a call of a
// team's /v1 JSON API by a backend-for-frontend (any method, a body, Accept: application/json). Every
// kind goes through the same deadline and the same per-team breaker.
type FetchRequest struct {
	// Method is the request's method; GET when empty.
	Method string
	// Body is the request body (POST, PUT, PATCH), sent with ContentType.
	Body        []byte
	ContentType string
	// Accept is the Accept header; "text/html" when empty.
	Accept string
	// Authorization is sent as the Authorization header: only to accounts, which resolves a bearer
	// token (a BFF's sign-in and whoami); never a browser's header passed on.
	Authorization string
	// IdempotencyKey is sent as the Idempotency-Key header (placing an order).
	IdempotencyKey string
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
	// Version, when set, prefers the team's instances whose manifest has this version
	// (Instances.PickVersion): the version the page was composed with.
	Version string
	// Traced says that the span in the request's context is the caller's span for this very fetch
	// (the shell's fragment span): the client starts no client span of its own and leaves the
	// request's attributes (path, status) to the caller, so a sampled page costs one span per
	// fragment, not two. The team still gets the traceparent of ctx's span.
	Traced bool
}

// retryable reports whether r may be sent again after err, a Refused error: always when the
// connection was refused (nothing was sent); otherwise only for a method that is idempotent
// (RFC 9110: GET, HEAD, OPTIONS, PUT, DELETE) or a request carrying an Idempotency-Key (the team
// answers its first outcome again).
func retryable(r *FetchRequest, err error) bool {
	if errors.Is(err, syscall.ECONNREFUSED) || r.IdempotencyKey != "" {
		return true
	}
	switch r.Method {
	case "", http.MethodGet, http.MethodHead, http.MethodOptions, http.MethodPut, http.MethodDelete:
		return true
	}
	return false
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
	RetryAfter   string
	// Tags are the fragment's cache tags (TagsHeader), validated (ParseTags).
	Tags []string
	// Title is what the fragment says the page shows (TitleHeader), decoded and cleaned (ParseTitle).
	Title string
	// Version is the manifest version of the team's process that answered (VersionHeader), or "".
	Version string
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
	// Teams maps each team's context to its instances' base URLs ("http://127.0.0.1:8101"). URLs
	// come only from configuration, never from a request.
	Teams Teams
	// Instances, when not nil, is the rotation of Teams' instances to share (with a proxy, and its
	// health check run by the caller); NewClient builds one when nil.
	Instances *Instances
	// DNSRefresh is how often the Instances NewClient builds resolve the registry's host names again
	// (InstancesOptions.DNSRefresh; zero: never, the dialer resolves them).
	DNSRefresh time.Duration
	// Timeout is the default per-request deadline [1s].
	Timeout time.Duration
	// MaxConnsPerTeam bounds the pooled keep-alive connections per team instance [512].
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
	// OnEject, when set, is told of every instance taken out of rotation for BreakerFailures
	// requests in a row that failed on it (5xx, transport errors), until when (Instances.Failed): a
	// team of several instances loses a bad one for BreakerOpen (doubling while it keeps failing),
	// not its pages.
	OnEject func(inst *Instance, until time.Time)
	// Tracer, when set, makes a client span of every request. Either way a request carries the
	// traceparent of ctx's span when there is one (else Forwarded.Traceparent).
	Tracer trace.TracerProvider
}

// Client fetches fragments from the teams over pooled keep-alive connections, each request with its
// own deadline, through a circuit breaker per team. A team's requests go to its instances in turn
// (Instances); a request whose connection is refused, or reset before any byte of the answer, is
// tried once more on another instance within the same deadline, and an instance on which
// BreakerFailures requests in a row failed (5xx, transport errors) leaves the rotation for
// BreakerOpen while another serves (outlier ejection, Instances.Failed). It is safe for concurrent use.
type Client struct {
	opts      ClientOptions
	instances *Instances
	teams     map[string]*teamClient
	tracer    trace.Tracer // of opts.Tracer, nil without one
}

type teamClient struct {
	name      string
	opts      *ClientOptions
	instances *Instances
	breaker   *gobreaker.CircuitBreaker[*FetchResponse]

	mu    sync.RWMutex
	hosts map[*Instance]*fasthttp.HostClient // each instance's connection pool, made at its first request
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
	in := opts.Instances
	if in == nil {
		var err error
		if in, err = NewInstancesWith(opts.Teams, InstancesOptions{DNSRefresh: opts.DNSRefresh}); err != nil {
			return nil, err
		}
	}
	c := &Client{opts: opts, instances: in, teams: make(map[string]*teamClient, len(in.names))}
	if opts.Tracer != nil {
		c.tracer = opts.Tracer.Tracer(traceScope)
	}
	for _, name := range in.names {
		c.teams[name] = c.newTeam(name)
	}
	return c, nil
}

// Instances returns the rotation the client sends requests by.
func (c *Client) Instances() *Instances { return c.instances }

func (c *Client) newTeam(name string) *teamClient {
	failures := c.opts.BreakerFailures
	onChange := c.opts.OnStateChange
	tc := &teamClient{name: name, opts: &c.opts, instances: c.instances, hosts: map[*Instance]*fasthttp.HostClient{}}
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
	return tc
}

// host is inst's connection pool. The first request to an instance makes it, and drops the pools of
// instances that have left the team (an address its name no longer resolves to).
func (tc *teamClient) host(inst *Instance) *fasthttp.HostClient {
	tc.mu.RLock()
	h, ok := tc.hosts[inst]
	tc.mu.RUnlock()
	if ok {
		return h
	}
	tc.mu.Lock()
	defer tc.mu.Unlock()
	if h, ok := tc.hosts[inst]; ok {
		return h
	}
	current := tc.instances.All(tc.name)
	for old, h := range tc.hosts {
		if !slices.Contains(current, old) {
			h.CloseIdleConnections()
			delete(tc.hosts, old)
		}
	}
	h = &fasthttp.HostClient{
		Addr:                          inst.addr,
		Name:                          "inlay-shell",
		IsTLS:                         inst.scheme == "https",
		MaxConns:                      tc.opts.MaxConnsPerTeam,
		MaxConnWaitTimeout:            tc.opts.Timeout,
		MaxIdleConnDuration:           30 * time.Second,
		MaxIdemponentCallAttempts:     1, // a refused or reset request goes to another instance (Fetch)
		MaxResponseBodySize:           tc.opts.MaxBodySize,
		ReadBufferSize:                16 << 10,
		NoDefaultUserAgentHeader:      true,
		DisableHeaderNamesNormalizing: false,
	}
	if h.IsTLS {
		h.TLSConfig = &tls.Config{ServerName: inst.TLSName(), MinVersion: tls.VersionTLS12}
	}
	tc.hosts[inst] = h
	return h
}

// BreakerState reports the state of a team's breaker.
func (c *Client) BreakerState(team string) (gobreaker.State, bool) {
	tc, ok := c.teams[team]
	if !ok {
		return gobreaker.StateClosed, false
	}
	return tc.breaker.State(), true
}

// statusError is a 5xx answer: it counts against the breaker, and the response is still returned.
type statusError struct{ status int }

func (e statusError) Error() string { return fmt.Sprintf("fragments: status %d", e.status) }

// Fetch performs one request against a team (a GET unless r.Method says otherwise). It returns the response for every status; err is set only
// when there is no usable response (breaker open, timeout, transport error, body too large) — and for
// 5xx, where both are returned. 5xx, timeouts and transport errors count against the team's breaker;
// 2xx, 3xx and 4xx do not.
func (c *Client) Fetch(ctx context.Context, r FetchRequest) (*FetchResponse, error) {
	tc, ok := c.teams[r.Team]
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
	resp, err := c.execute(tc, &r, deadline)
	endSpan(span, resp, err)
	return resp, err
}

// execute performs r through tc's breaker. r is passed on by pointer: the request is some twenty
// words, copied at every call otherwise.
func (c *Client) execute(tc *teamClient, r *FetchRequest, deadline time.Time) (*FetchResponse, error) {
	resp, err := tc.breaker.Execute(func() (*FetchResponse, error) {
		resp, err := c.try(tc, r, deadline)
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

// try sends r to the team's next instance and, when that one refuses it (Refused), once more to
// another, within the same deadline. The instance that refused leaves the rotation until its health
// check passes again. A request that may have reached a handler (a reset or a closed connection,
// not a refused one) is sent again only when doing it twice is harmless (retryable): a cart's POST
// sent twice would add twice.
func (c *Client) try(tc *teamClient, r *FetchRequest, deadline time.Time) (*FetchResponse, error) {
	inst := c.instances.PickVersion(tc.name, nil, r.Version)
	resp, err := tc.do(inst, r, deadline)
	if err == nil {
		c.outcome(inst, resp, nil)
		return c.sameVersion(tc, r, inst, resp, deadline), nil
	}
	if !Refused(err) {
		c.outcome(inst, resp, err)
		return resp, err
	}
	c.instances.Down(inst)
	if !retryable(r, err) {
		return nil, err
	}
	other := c.instances.PickVersion(tc.name, inst, r.Version)
	if other == nil {
		other = inst // the team's only instance: a pooled connection it had closed, or a restart
	}
	if !time.Now().Before(deadline) {
		return nil, err
	}
	resp, err2 := tc.do(other, r, deadline)
	if err2 != nil {
		if Refused(err2) {
			c.instances.Down(other)
		} else {
			c.outcome(other, nil, err2)
		}
		return nil, fmt.Errorf("%w; then %s: %w", err, other.Base, err2)
	}
	c.outcome(other, resp, nil)
	return c.sameVersion(tc, r, other, resp, deadline), nil
}

// sameVersion checks that resp, inst's answer to r, came from a process of the version r asks for
// (FetchRequest.Version) when it says its version (VersionHeader). An instance replaced by another
// version since its last health check (a rolling deploy restarts it on the same address) answers
// with the new one's HTML, which the page's stylesheets, the old version's, do not fit: the instance
// is marked with the version it answered, and the request is made once more on an instance of the
// version asked for, when one is left and the deadline allows. Otherwise resp stands: another
// version's fragment is better than none, and the caller, which sees resp.Version, does not cache it
// as this version's.
func (c *Client) sameVersion(tc *teamClient, r *FetchRequest, inst *Instance, resp *FetchResponse, deadline time.Time) *FetchResponse {
	if r.Version == "" || resp.Version == "" || resp.Version == r.Version {
		return resp
	}
	c.instances.Answered(inst, resp.Version)
	if r.Method != "" && r.Method != fasthttp.MethodGet && r.Method != fasthttp.MethodHead {
		return resp // only a safe request is made twice
	}
	other := c.instances.PickVersion(tc.name, inst, r.Version)
	if other == nil || other.Version() != r.Version || !time.Now().Before(deadline) {
		return resp
	}
	again, err := tc.do(other, r, deadline)
	c.outcome(other, again, err)
	if err != nil || again.Status >= 500 {
		again.Release()
		return resp
	}
	if again.Version != "" && again.Version != r.Version {
		c.instances.Answered(other, again.Version) // replaced too: keep the first answer
		again.Release()
		return resp
	}
	resp.Release()
	return again
}

// outcome records what a request did on inst: an answer below 500 is a success; a 5xx or a transport
// error (other than a refusal: Down) a failure, and enough of them in a row eject the instance
// (Instances.Failed). A timeout counts for nothing: it may be the caller's short deadline (a slot's
// 300 ms) or a machine under load as much as the instance, and ejecting one of two instances for the
// load would double the other's (a stalled instance fails its health check instead). Nor do the
// client's own limits (its pool full, a body over MaxBodySize) say anything of the instance.
func (c *Client) outcome(inst *Instance, resp *FetchResponse, err error) {
	switch {
	case err == nil && resp.Status < 500:
		c.instances.Succeeded(inst)
		return
	case errors.Is(err, ErrTimeout), errors.Is(err, fasthttp.ErrNoFreeConns), errors.Is(err, fasthttp.ErrBodyTooLarge):
		return
	}
	if until, ok := c.instances.Failed(inst, int(c.opts.BreakerFailures), c.opts.BreakerOpen); ok && c.opts.OnEject != nil {
		c.opts.OnEject(inst, until)
	}
}

func (tc *teamClient) do(inst *Instance, r *FetchRequest, deadline time.Time) (*FetchResponse, error) {
	req := fasthttp.AcquireRequest()
	resp := fasthttp.AcquireResponse()
	defer fasthttp.ReleaseRequest(req)
	defer fasthttp.ReleaseResponse(resp)

	uri := req.URI()
	uri.SetSchemeBytes(schemeBytes(inst.scheme))
	uri.SetHost(inst.hostHdr)
	if inst.prefix != "" {
		uri.SetPath(inst.prefix + r.Path)
	} else {
		uri.SetPath(r.Path)
	}
	if r.Query != "" {
		uri.SetQueryString(r.Query)
	}
	h := &req.Header
	if r.Method != "" {
		h.SetMethod(r.Method)
	} else {
		h.SetMethod(fasthttp.MethodGet)
	}
	if r.Accept != "" {
		h.Set("Accept", r.Accept)
	} else {
		h.Set("Accept", "text/html")
	}
	if r.Body != nil {
		req.SetBodyRaw(r.Body)
		if r.ContentType != "" {
			h.SetContentType(r.ContentType)
		}
	}
	if r.Authorization != "" {
		h.Set(fasthttp.HeaderAuthorization, r.Authorization)
	}
	if r.IdempotencyKey != "" {
		h.Set("Idempotency-Key", r.IdempotencyKey)
	}
	f := &r.Forwarded
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
	if err := tc.host(inst).DoDeadline(req, resp, deadline); err != nil {
		if errors.Is(err, fasthttp.ErrTimeout) || errors.Is(err, fasthttp.ErrDialTimeout) {
			return nil, ErrTimeout
		}
		return nil, fmt.Errorf("%s: %w", inst.Base, err)
	}
	out := &FetchResponse{Status: resp.StatusCode(), Duration: time.Since(start), buf: bytebufferpool.Get()}
	out.buf.B = append(out.buf.B[:0], resp.Body()...)
	out.Body = out.buf.B
	readHeaders(&resp.Header, out)
	return out, nil
}

// readHeaders copies the headers the shell reads into out, in one pass over the answer's headers
// (a Peek for each would copy and normalise its name and scan them all, seven times). As with Peek,
// a header sent twice counts once: the first.
func readHeaders(rh *fasthttp.ResponseHeader, out *FetchResponse) {
	out.ContentType = string(rh.ContentType())
	var tags, title string
	fields := [...]struct {
		name string
		dst  *string
	}{
		{fasthttp.HeaderCacheControl, &out.CacheControl}, {fasthttp.HeaderETag, &out.ETag},
		{fasthttp.HeaderLocation, &out.Location}, {fasthttp.HeaderLink, &out.Link}, {fasthttp.HeaderVary, &out.Vary},
		{fasthttp.HeaderRetryAfter, &out.RetryAfter}, {TagsHeader, &tags}, {TitleHeader, &title},
		{VersionHeader, &out.Version},
	}
	var seen uint16
	for k, v := range rh.All() {
		for i, f := range fields {
			if seen&(1<<i) == 0 && bytes.EqualFold(k, []byte(f.name)) {
				*f.dst = string(v)
				seen |= 1 << i
				break
			}
		}
	}
	out.Tags = ParseTags(tags)
	out.Title = ParseTitle(title)
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
	for _, tc := range c.teams {
		tc.mu.Lock()
		for _, h := range tc.hosts {
			h.CloseIdleConnections()
		}
		tc.mu.Unlock()
	}
	c.instances.Close()
}

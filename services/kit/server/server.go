// Package server is the HTTP server every Inlay process runs: Fiber v2 with request ids, structured
// access logs, panic recovery, body limits, one error handler, health, readiness and Prometheus metrics,
// and graceful shutdown.
package server

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"net"
	"strconv"
	"strings"
	"sync/atomic"
	"time"
	"unicode/utf8"

	"github.com/gofiber/fiber/v2"
	"github.com/gofiber/fiber/v2/middleware/adaptor"
	"github.com/gofiber/fiber/v2/middleware/recover"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"github.com/valyala/fasthttp"
	"go.opentelemetry.io/otel/trace"
	"go.opentelemetry.io/otel/trace/noop"

	"github.com/inlay-dev/inlay/services/kit/errs"
	"github.com/inlay-dev/inlay/services/kit/logging"
	"github.com/inlay-dev/inlay/services/kit/tracing"
)

// RequestIDHeader carries the request id between the browser, the shell and the teams.
const RequestIDHeader = "X-Request-Id"

// Options configures New.
type Options struct {
	Name      string       // the process name, for logs and metrics
	Log       *slog.Logger // required
	BodyLimit int          // bytes; 1 MiB when zero
	// Registry receives the HTTP metrics and is served on /metrics; a new one is made when nil.
	Registry *prometheus.Registry
	// Checks are run by /readyz; each must answer within the readiness deadline.
	Checks map[string]Check
	// StreamRequestBody lets handlers (a proxy) read request bodies as streams.
	StreamRequestBody bool
	// Problems answers every error as RFC 9457 problem details, even for a request that could not
	// be parsed (headers too large, a body that never came: no path to tell it is an API call): for
	// a server that is only a JSON API (the mobile BFF).
	Problems bool
	// ErrorPage, when set, answers the errors of a client that does not ask for JSON — a browser,
	// or a request that could not be parsed and so has no Accept — with a page of the site's own
	// (the shell's error page) instead of the kit's plain text or JSON. Problems wins over it.
	ErrorPage func(c *fiber.Ctx, status int, message string) error
	// ReadBufferSize bounds a request's line and headers together, in bytes; a bigger request is
	// answered 431 [fasthttp's 4 KiB]. A server browsers reach directly (the shell) takes
	// PublicReadBuffer: a shop's own cookies and long links fit in 4 KiB, its visitors' with a
	// few analytics cookies of the same site do not.
	ReadBufferSize int
	// AdminAddr, when set, moves /metrics off the public port onto an admin listener of its own at
	// this address (the shell and the BFFs face the internet); handlers for operators (the purge API)
	// go on Server.Admin. The public port then answers 404 for /metrics.
	AdminAddr string
	// AdminReady, when not nil, receives the admin listener's bound address.
	AdminReady func(net.Addr)
	// Drain is how long Serve keeps serving after ctx is done, with /readyz answering 503, before it
	// shuts down: the time a load balancer, or the shell's health check, needs to take the instance
	// out of rotation (INLAY_DRAIN). Zero shuts down at once.
	Drain time.Duration
	// Public marks a server the internet reaches (the shell, the BFFs): it trusts no header meant for
	// calls between the platform's own processes (DeadlineHeader), and every answer says nosniff.
	Public bool
	// ReadTimeout bounds the time to read a request, line, headers and body, and the time a new
	// connection may stay silent before it is closed [30 s].
	ReadTimeout time.Duration
	// Tracer makes a server span of every request (but health, readiness and metrics), continuing
	// the trace of an incoming traceparent; nil makes none (OpenTelemetry's no-op).
	Tracer trace.TracerProvider
}

// PublicReadBuffer is ReadBufferSize for a server browsers reach directly: 16 KiB, twice what
// nginx allows a single header line by default (large_client_header_buffers 8k).
const PublicReadBuffer = 16 << 10

// Check reports whether a dependency the process needs is usable.
type Check func(ctx context.Context) error

// Server is a Fiber app with Inlay's middleware, plus what it needs to shut down cleanly.
type Server struct {
	App *fiber.App
	// Admin is the admin listener's app (/metrics, /healthz and what the caller adds), or nil when
	// Options.AdminAddr is empty.
	Admin    *fiber.App
	Registry *prometheus.Registry
	log      *slog.Logger
	checks   map[string]Check
	degraded map[string]Check // checks that are reported, but do not fail /readyz (AddDegradedCheck)
	draining atomic.Bool
	opts     Options
}

// New builds a Server. Routes are added to s.App by the caller.
func New(opts Options) *Server {
	if opts.BodyLimit <= 0 {
		opts.BodyLimit = 1 << 20
	}
	if opts.ReadTimeout <= 0 {
		opts.ReadTimeout = 30 * time.Second
	}
	reg := opts.Registry
	if reg == nil {
		reg = prometheus.NewRegistry()
		reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	}
	s := &Server{Registry: reg, log: opts.Log, checks: opts.Checks, opts: opts}
	s.App = fiber.New(fiber.Config{
		AppName:               opts.Name,
		BodyLimit:             opts.BodyLimit,
		ReadTimeout:           opts.ReadTimeout,
		WriteTimeout:          60 * time.Second,
		IdleTimeout:           90 * time.Second,
		DisableStartupMessage: true,
		StreamRequestBody:     opts.StreamRequestBody,
		ReadBufferSize:        opts.ReadBufferSize,
		ErrorHandler:          s.handleError,
	})
	requests := prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Name:    "inlay_http_request_duration_seconds",
		Help:    "HTTP request latency by route and status.",
		Buckets: []float64{.001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5},
	}, []string{"method", "route", "status"})
	refused := prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "inlay_http_requests_refused_total",
		Help: "Requests refused before any route ran (unparsable, too large, too slow), by status.",
	}, []string{"status"})
	reg.MustRegister(requests, refused)
	srv := s.App.Server()
	// Parse errors name what was wrong, never the request's own bytes: the message reaches the
	// client's error page and the log.
	srv.SecureErrorLogMessage = true
	srv.ErrorHandler = s.refusals(srv.ErrorHandler, refused)
	route := srv.Handler
	srv.Handler = func(fctx *fasthttp.RequestCtx) {
		if m := methodLabel(fctx.Request.Header.Method()); m == "other" || m == fiber.MethodTrace || m == fiber.MethodConnect {
			s.unknownMethod(fctx, refused)
			return
		}
		route(fctx)
	}

	s.App.Use(recover.New(recover.Config{EnableStackTrace: true, StackTraceHandler: func(c *fiber.Ctx, e any) {
		s.log.ErrorContext(c.UserContext(), "panic", "panic", fmt.Sprint(e), "path", c.Path())
	}}))
	tp := opts.Tracer
	if tp == nil {
		tp = noop.NewTracerProvider()
	}
	tracer := tp.Tracer(tracing.ScopeName)
	s.App.Use(func(c *fiber.Ctx) error {
		id := strings.Clone(c.Get(RequestIDHeader)) // kept in the context, which may outlive the request (a streamed page)
		if !validRequestID(id) {
			id = NewRequestID()
		}
		c.Set(RequestIDHeader, id)
		c.Locals(requestIDKey{}, id)
		ctx := logging.With(c.UserContext(), slog.String("request_id", id))
		var span trace.Span
		if traced(c.Path()) {
			ctx, span = startServerSpan(ctx, tracer, c)
		}
		c.SetUserContext(ctx)
		start := time.Now()
		var err error
		if c.Request().Header.IsHTTP11() && len(c.Request().Header.Host()) == 0 {
			// RFC 9112, 3.2: an HTTP/1.1 request without a Host is answered 400.
			err = errs.Errorf(errs.EINVALID, "an HTTP/1.1 request needs a Host header")
		} else if bad := badHeaderLines(c.Request().Header.RawHeaders()); bad != "" {
			// Where this request ends is in doubt, so nothing after it on the connection is read.
			c.Context().SetConnectionClose()
			err = errs.Errorf(errs.EINVALID, "the request's headers are malformed: %s", bad)
		} else if bad := invalidText(c, !opts.StreamRequestBody); bad != "" {
			err = errs.Errorf(errs.EINVALID, "the request's %s is not valid UTF-8 text", bad)
		} else if !opts.Public && pastDeadline(c, start) {
			err = errs.Errorf(errs.EUNAVAILABLE, "the caller gave up on this request before it was served")
		} else {
			err = c.Next()
		}
		if err != nil {
			// Run the error handler now so the logged and measured status is the real one.
			if herr := c.App().ErrorHandler(c, err); herr != nil {
				_ = c.SendStatus(fiber.StatusInternalServerError)
			}
		}
		if s.draining.Load() {
			c.Context().SetConnectionClose()
		}
		s.publicHeaders(&c.Response().Header)
		status := c.Response().StatusCode()
		// Both labels are constants, never the request's bytes: c.Method() aliases fasthttp's request
		// buffer, which the next request on the connection overwrites after the label was stored.
		route := c.Route().Path
		requests.WithLabelValues(methodLabel(c.Request().Header.Method()), route, strconv.Itoa(status)).Observe(time.Since(start).Seconds())
		endServerSpan(span, c, route, status)
		if route != "/healthz" && route != "/readyz" && route != "/metrics" {
			s.accessLog(c, status, start)
		}
		return nil
	})
	s.App.Get("/healthz", func(c *fiber.Ctx) error { return c.SendString("ok") })
	s.App.Get("/readyz", s.ready)
	metrics := adaptor.HTTPHandler(promhttp.HandlerFor(reg, promhttp.HandlerOpts{Registry: reg}))
	if opts.AdminAddr == "" {
		s.App.Get("/metrics", metrics)
		return s
	}
	s.Admin = fiber.New(fiber.Config{
		AppName:               opts.Name + "-admin",
		BodyLimit:             64 << 10,
		ReadTimeout:           10 * time.Second,
		WriteTimeout:          30 * time.Second,
		IdleTimeout:           90 * time.Second,
		DisableStartupMessage: true,
		// Operators and their scripts read the admin port: its errors are never the site's page.
		ErrorHandler: func(c *fiber.Ctx, err error) error { return s.respondError(c, err, nil) },
	})
	s.Admin.Use(recover.New())
	s.Admin.Get("/healthz", func(c *fiber.Ctx) error { return c.SendString("ok") })
	s.Admin.Get("/readyz", s.ready)
	s.Admin.Get("/metrics", metrics)
	return s
}

// accessLog writes the request's record at Info. The record is handed to the handler directly: the
// Logger's methods would also capture the caller's program counter (runtime.Callers) for a source
// the handlers do not print, a cost on every request.
func (s *Server) accessLog(c *fiber.Ctx, status int, start time.Time) {
	ctx, h := c.UserContext(), s.log.Handler()
	if !h.Enabled(ctx, slog.LevelInfo) {
		return
	}
	now := time.Now()
	r := slog.NewRecord(now, slog.LevelInfo, "request", 0)
	r.AddAttrs(slog.String("method", c.Method()), slog.String("path", c.Path()),
		slog.Int("status", status), slog.Duration("duration", now.Sub(start)))
	_ = h.Handle(ctx, r) // a log write that fails has nowhere else to go
}

// DeadlineHeader carries the time, in Unix milliseconds, after which the caller no longer waits for
// the answer (the shell's proxy sets it): a request read later — its process was frozen or
// overloaded meanwhile — is refused unserved, so a form post the shopper was told had failed (503
// after the proxy's timeout) does not take effect afterwards. It is for requests from the platform's
// own processes (the shell passes no browser's header of this name), whose clocks agree within
// deadlineSkew: a Public server ignores it.
const DeadlineHeader = "Inlay-Deadline"

// deadlineSkew is how far the caller's clock may be behind this process's before a deadline is
// taken as passed.
const deadlineSkew = time.Second

// pastDeadline reports whether c's DeadlineHeader names a time before now; a missing or malformed
// header never does.
func pastDeadline(c *fiber.Ctx, now time.Time) bool {
	v := c.Request().Header.Peek(DeadlineHeader)
	if len(v) == 0 {
		return false
	}
	ms, err := strconv.ParseInt(string(v), 10, 64)
	return err == nil && now.After(time.UnixMilli(ms).Add(deadlineSkew))
}

// invalidText names the part of c's request that is not valid UTF-8 (or holds a NUL byte): the
// path, a query parameter or, when form is set, a field of a URL-encoded form body. Every process
// refuses such a request at its edge, so no handler echoes bytes a browser or the shell's parser
// would reject.
func invalidText(c *fiber.Ctx, form bool) string {
	uri := c.Request().URI()
	if !validText(uri.Path()) {
		return "path"
	}
	bad := ""
	for k, v := range uri.QueryArgs().All() {
		if !validText(k) || !validText(v) {
			bad = "query"
			break
		}
	}
	ct := bytes.ToLower(c.Request().Header.ContentType())
	if bad == "" && form && bytes.HasPrefix(ct, []byte(fiber.MIMEApplicationForm)) {
		for k, v := range c.Request().PostArgs().All() {
			if !validText(k) || !validText(v) {
				bad = "form"
				break
			}
		}
	}
	if bad == "" && form && bytes.HasPrefix(ct, []byte(fiber.MIMEMultipartForm)) {
		if mf, err := c.Request().MultipartForm(); err == nil {
			for k, vs := range mf.Value {
				for _, v := range vs {
					if bad == "" && (!validText([]byte(k)) || !validText([]byte(v))) {
						bad = "form"
					}
				}
			}
		}
	}
	return bad
}

func validText(b []byte) bool { return utf8.Valid(b) && bytes.IndexByte(b, 0) < 0 }

// methodLabel is the metric label for a request method: one of the standard methods, as a constant
// string, or "other" (which also bounds the label's values).
func methodLabel(m []byte) string {
	for _, std := range standardMethods {
		if string(m) == std {
			return std
		}
	}
	return "other"
}

var standardMethods = [...]string{fiber.MethodGet, fiber.MethodHead, fiber.MethodPost, fiber.MethodPut,
	fiber.MethodPatch, fiber.MethodDelete, fiber.MethodOptions, fiber.MethodConnect, fiber.MethodTrace}

type requestIDKey struct{}

// RequestID returns the id of the request c serves.
func RequestID(c *fiber.Ctx) string {
	id, _ := c.Locals(requestIDKey{}).(string)
	return id
}

// NewRequestID is a random (version 4) UUID, as the kit gives every request that came without an
// id. Its bits come from math/rand/v2's generator (ChaCha8, seeded by the runtime from the operating
// system's entropy): an id ties log lines together and guards nothing, so it needs no system call
// per request (uuid.NewString reads crypto/rand: a measurable share of a cached page's CPU).
func NewRequestID() string {
	var b [16]byte
	hi, lo := rand.Uint64(), rand.Uint64() //nolint:gosec // a correlation id, not a secret: nothing relies on it being unguessable
	for i := range 8 {
		b[i], b[8+i] = byte(hi>>(56-8*i)), byte(lo>>(56-8*i))
	}
	b[6] = b[6]&0x0f | 0x40 // version 4
	b[8] = b[8]&0x3f | 0x80 // RFC 9562 variant
	const hex = "0123456789abcdef"
	var out [36]byte
	j := 0
	for i, c := range b {
		if i == 4 || i == 6 || i == 8 || i == 10 {
			out[j] = '-'
			j++
		}
		out[j], out[j+1] = hex[c>>4], hex[c&0x0f]
		j += 2
	}
	return string(out[:])
}

// validRequestID accepts ids from upstream only when they are short and printable, so a client
// cannot inject into logs.
func validRequestID(id string) bool {
	if id == "" || len(id) > 64 {
		return false
	}
	for _, r := range id {
		if !(r == '-' || r == '_' || r == '.' || (r >= '0' && r <= '9') || (r >= 'a' && r <= 'z') || (r >= 'A' && r <= 'Z')) {
			return false
		}
	}
	return true
}

// AddCheck adds a readiness check: while it fails, /readyz answers 503 and the instance is out of
// its Service (and of the shell's rotation). Only what the instance cannot serve without belongs
// here (docs/architecture.md, "Readiness").
func (s *Server) AddCheck(name string, check Check) {
	if s.checks == nil {
		s.checks = map[string]Check{}
	}
	s.checks[name] = check
}

// AddDegradedCheck adds a check /readyz reports without failing: a dependency whose outage every
// instance shares and the process rides out (the outbox holds events while RabbitMQ is away; Redis
// is a cache or has a fallback), so taking every instance out of rotation would only make it worse.
// /readyz?full=1 fails on it too: for those that wait for it (a publisher's catch-up waits for its
// consumers' queues, the e2e harness for a whole platform).
func (s *Server) AddDegradedCheck(name string, check Check) {
	if s.degraded == nil {
		s.degraded = map[string]Check{}
	}
	s.degraded[name] = check
}

// Draining reports whether the server is draining: its context is done, /readyz answers 503, and it
// still serves until Options.Drain has passed.
func (s *Server) Draining() bool { return s.draining.Load() }

func (s *Server) ready(c *fiber.Ctx) error {
	if s.draining.Load() {
		return c.Status(fiber.StatusServiceUnavailable).JSON(fiber.Map{"status": "draining"})
	}
	ctx, cancel := context.WithTimeout(c.UserContext(), 2*time.Second)
	defer cancel()
	failed, degraded := fiber.Map{}, fiber.Map{}
	for name, check := range s.checks {
		if err := check(ctx); err != nil {
			failed[name] = err.Error()
		}
	}
	for name, check := range s.degraded {
		if err := check(ctx); err != nil {
			degraded[name] = err.Error()
		}
	}
	full := c.QueryBool("full")
	if len(failed) > 0 || (full && len(degraded) > 0) {
		return c.Status(fiber.StatusServiceUnavailable).JSON(fiber.Map{"status": "unavailable", "failed": failed, "degraded": degraded})
	}
	if len(degraded) > 0 {
		return c.JSON(fiber.Map{"status": "degraded", "degraded": degraded})
	}
	return c.JSON(fiber.Map{"status": "ready"})
}

// handleError is the one place that maps errors to statuses. Only unexpected errors are logged.
func (s *Server) handleError(c *fiber.Ctx, err error) error {
	return s.respondError(c, err, s.opts.ErrorPage)
}

// respondError answers err, with page for a client that does not ask for JSON when page is set.
func (s *Server) respondError(c *fiber.Ctx, err error, page func(*fiber.Ctx, int, string) error) error {
	var fe *fiber.Error
	if errors.As(err, &fe) {
		code, ok := codeByStatus[fe.Code]
		if !ok {
			code = errs.EINVALID
			if fe.Code >= 500 {
				code = errs.EINTERNAL
			}
		}
		if s.opts.Problems || WantsProblem(c) {
			return WriteProblem(c, fe.Code, code, fe.Message, nil)
		}
		return writeError(c, page, fe.Code, code, fe.Message)
	}
	code := errs.Code(err)
	if code == errs.EINTERNAL {
		s.log.ErrorContext(c.UserContext(), "request failed", "error", err.Error(), "path", c.Path())
	}
	if s.opts.Problems || WantsProblem(c) {
		return WriteProblem(c, Status(code), code, errs.Message(err), errs.Fields(err))
	}
	return writeError(c, page, Status(code), code, errs.Message(err))
}

func writeError(c *fiber.Ctx, page func(*fiber.Ctx, int, string) error, status int, code, message string) error {
	if page != nil && c.Accepts(fiber.MIMETextHTML, fiber.MIMEApplicationJSON) != fiber.MIMEApplicationJSON {
		return page(c, status, message)
	}
	c.Status(status)
	if c.Accepts(fiber.MIMEApplicationJSON, fiber.MIMETextHTML) == fiber.MIMETextHTML {
		c.Set(fiber.HeaderContentType, fiber.MIMETextPlainCharsetUTF8)
		return c.SendString(message)
	}
	return c.JSON(fiber.Map{"error": fiber.Map{"code": code, "message": message}})
}

// Serve listens on addr (":0" picks a free port; ready, when not nil, receives the bound address),
// and on the admin address when there is one, and serves until ctx is done, then shuts down within
// timeout.
func (s *Server) Serve(ctx context.Context, addr string, timeout time.Duration, ready func(net.Addr)) error {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return fmt.Errorf("listen %s: %w", addr, err)
	}
	var adminLn net.Listener
	if s.Admin != nil {
		if adminLn, err = net.Listen("tcp", s.opts.AdminAddr); err != nil {
			ln.Close()
			return fmt.Errorf("listen admin %s: %w", s.opts.AdminAddr, err)
		}
		if s.opts.AdminReady != nil {
			s.opts.AdminReady(adminLn.Addr())
		}
		s.log.Info("admin listening", "addr", adminLn.Addr().String())
	}
	if ready != nil {
		ready(ln.Addr())
	}
	s.log.Info("listening", "addr", ln.Addr().String())
	errc := make(chan error, 2)
	answerAllow(s.App)
	if s.Admin != nil {
		answerAllow(s.Admin)
	}
	go func() { errc <- s.App.Listener(trackedListener{ln}) }()
	if adminLn != nil {
		go func() { errc <- s.Admin.Listener(adminLn) }()
	}
	select {
	case err := <-errc:
		return errors.Join(fmt.Errorf("serve: %w", err), s.shutdown(timeout), closeAll(ln, adminLn))
	case <-ctx.Done():
	}
	if s.opts.Drain > 0 {
		// Out of rotation first: /readyz answers 503 while requests are still served, and each answer
		// closes its connection, so a client's pool (behind a Service) dials a live instance next.
		s.draining.Store(true)
		s.log.Info("draining", "for", s.opts.Drain.String())
		drain := time.NewTimer(s.opts.Drain)
		select {
		case <-drain.C:
		case err := <-errc:
			drain.Stop()
			return errors.Join(fmt.Errorf("serve: %w", err), s.shutdown(timeout), closeAll(ln, adminLn))
		}
	}
	s.log.Info("shutting down")
	err = s.shutdown(timeout)
	// A shutdown that came before the app registered its listener does not stop it: closing the
	// listeners does.
	_ = closeAll(ln, adminLn)
	return err
}

// closeAll closes the listeners that are not nil, ignoring those already closed.
func closeAll(lns ...net.Listener) error {
	var errs []error
	for _, ln := range lns {
		if ln == nil {
			continue
		}
		if err := ln.Close(); err != nil && !errors.Is(err, net.ErrClosed) {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

func (s *Server) shutdown(timeout time.Duration) error {
	var errs []error
	if err := s.App.ShutdownWithTimeout(timeout); err != nil {
		errs = append(errs, fmt.Errorf("shutdown: %w", err))
	}
	if s.Admin != nil {
		if err := s.Admin.ShutdownWithTimeout(timeout); err != nil {
			errs = append(errs, fmt.Errorf("shutdown admin: %w", err))
		}
	}
	return errors.Join(errs...)
}

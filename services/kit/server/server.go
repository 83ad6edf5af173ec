// Package server is the HTTP server every Inlay process runs: Fiber v2 with request ids, structured
// access logs, panic recovery, body limits, one error handler, health, readiness and Prometheus metrics,
// and graceful shutdown.
package server

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"strconv"
	"time"

	"github.com/gofiber/fiber/v2"
	"github.com/gofiber/fiber/v2/middleware/adaptor"
	"github.com/gofiber/fiber/v2/middleware/recover"
	"github.com/google/uuid"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/inlay-dev/inlay/services/kit/errs"
	"github.com/inlay-dev/inlay/services/kit/logging"
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
}

// Check reports whether a dependency the process needs is usable.
type Check func(ctx context.Context) error

// Server is a Fiber app with Inlay's middleware, plus what it needs to shut down cleanly.
type Server struct {
	App      *fiber.App
	Registry *prometheus.Registry
	log      *slog.Logger
	checks   map[string]Check
}

// New builds a Server. Routes are added to s.App by the caller.
func New(opts Options) *Server {
	if opts.BodyLimit <= 0 {
		opts.BodyLimit = 1 << 20
	}
	reg := opts.Registry
	if reg == nil {
		reg = prometheus.NewRegistry()
		reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	}
	s := &Server{Registry: reg, log: opts.Log, checks: opts.Checks}
	s.App = fiber.New(fiber.Config{
		AppName:               opts.Name,
		BodyLimit:             opts.BodyLimit,
		ReadTimeout:           30 * time.Second,
		WriteTimeout:          60 * time.Second,
		IdleTimeout:           90 * time.Second,
		DisableStartupMessage: true,
		StreamRequestBody:     opts.StreamRequestBody,
		ErrorHandler:          s.handleError,
	})
	requests := prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Name:    "inlay_http_request_duration_seconds",
		Help:    "HTTP request latency by route and status.",
		Buckets: []float64{.001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5},
	}, []string{"method", "route", "status"})
	reg.MustRegister(requests)

	s.App.Use(recover.New(recover.Config{EnableStackTrace: true, StackTraceHandler: func(c *fiber.Ctx, e any) {
		s.log.ErrorContext(c.UserContext(), "panic", "panic", fmt.Sprint(e), "path", c.Path())
	}}))
	s.App.Use(func(c *fiber.Ctx) error {
		id := c.Get(RequestIDHeader)
		if !validRequestID(id) {
			id = uuid.NewString()
		}
		c.Set(RequestIDHeader, id)
		c.Locals(requestIDKey{}, id)
		c.SetUserContext(logging.With(c.UserContext(), slog.String("request_id", id)))
		start := time.Now()
		err := c.Next()
		if err != nil {
			// Run the error handler now so the logged and measured status is the real one.
			if herr := c.App().ErrorHandler(c, err); herr != nil {
				_ = c.SendStatus(fiber.StatusInternalServerError)
			}
		}
		status := c.Response().StatusCode()
		route := c.Route().Path
		requests.WithLabelValues(c.Method(), route, strconv.Itoa(status)).Observe(time.Since(start).Seconds())
		if route != "/healthz" && route != "/readyz" && route != "/metrics" {
			s.log.LogAttrs(c.UserContext(), slog.LevelInfo, "request",
				slog.String("method", c.Method()), slog.String("path", c.Path()),
				slog.Int("status", status), slog.Duration("duration", time.Since(start)))
		}
		return nil
	})
	s.App.Get("/healthz", func(c *fiber.Ctx) error { return c.SendString("ok") })
	s.App.Get("/readyz", s.ready)
	s.App.Get("/metrics", adaptor.HTTPHandler(promhttp.HandlerFor(reg, promhttp.HandlerOpts{Registry: reg})))
	return s
}

type requestIDKey struct{}

// RequestID returns the id of the request c serves.
func RequestID(c *fiber.Ctx) string {
	id, _ := c.Locals(requestIDKey{}).(string)
	return id
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

// AddCheck adds a readiness check.
func (s *Server) AddCheck(name string, check Check) {
	if s.checks == nil {
		s.checks = map[string]Check{}
	}
	s.checks[name] = check
}

func (s *Server) ready(c *fiber.Ctx) error {
	ctx, cancel := context.WithTimeout(c.UserContext(), 2*time.Second)
	defer cancel()
	failed := fiber.Map{}
	for name, check := range s.checks {
		if err := check(ctx); err != nil {
			failed[name] = err.Error()
		}
	}
	if len(failed) > 0 {
		return c.Status(fiber.StatusServiceUnavailable).JSON(fiber.Map{"status": "unavailable", "failed": failed})
	}
	return c.JSON(fiber.Map{"status": "ready"})
}

// handleError is the one place that maps errors to statuses. Only unexpected errors are logged.
func (s *Server) handleError(c *fiber.Ctx, err error) error {
	var fe *fiber.Error
	if errors.As(err, &fe) {
		code, ok := codeByStatus[fe.Code]
		if !ok {
			code = errs.EINVALID
			if fe.Code >= 500 {
				code = errs.EINTERNAL
			}
		}
		return writeError(c, fe.Code, code, fe.Message)
	}
	code := errs.Code(err)
	if code == errs.EINTERNAL {
		s.log.ErrorContext(c.UserContext(), "request failed", "error", err.Error(), "path", c.Path())
	}
	return writeError(c, Status(code), code, errs.Message(err))
}

func writeError(c *fiber.Ctx, status int, code, message string) error {
	c.Status(status)
	if c.Accepts(fiber.MIMEApplicationJSON, fiber.MIMETextHTML) == fiber.MIMETextHTML {
		c.Set(fiber.HeaderContentType, fiber.MIMETextPlainCharsetUTF8)
		return c.SendString(message)
	}
	return c.JSON(fiber.Map{"error": fiber.Map{"code": code, "message": message}})
}

// Serve listens on addr (":0" picks a free port; ready, when not nil, receives the bound address)
// and serves until ctx is done, then shuts down within timeout.
func (s *Server) Serve(ctx context.Context, addr string, timeout time.Duration, ready func(net.Addr)) error {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return fmt.Errorf("listen %s: %w", addr, err)
	}
	if ready != nil {
		ready(ln.Addr())
	}
	s.log.Info("listening", "addr", ln.Addr().String())
	errc := make(chan error, 1)
	go func() { errc <- s.App.Listener(ln) }()
	select {
	case err := <-errc:
		return fmt.Errorf("serve: %w", err)
	case <-ctx.Done():
	}
	s.log.Info("shutting down")
	if err := s.App.ShutdownWithTimeout(timeout); err != nil {
		return fmt.Errorf("shutdown: %w", err)
	}
	return nil
}

package server

import (
	"bytes"
	"errors"
	"io"
	"log/slog"
	"net"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/gofiber/fiber/v2"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/valyala/fasthttp"
)

// trackedListener hands out connections that count the bytes read from them, so that a connection
// that sent nothing before the read timeout is closed without an answer (below).
type trackedListener struct{ net.Listener }

func (l trackedListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	return &trackedConn{Conn: c}, nil
}

// trackedConn is a connection that knows whether it has sent anything, and that can be made to
// drop what is written to it. Only the goroutine serving it reads and writes it.
type trackedConn struct {
	net.Conn
	read    int64
	discard bool
	// linger: the connection closes after a refusal whose request may not have been read to its end
	// (headers or a body too large): Close lets the answer arrive first (lingeringClose).
	linger bool
}

// Lingering close: a refused request's rest is read and dropped after the answer, so that closing
// does not reset the connection under the answer — while the client keeps sending (a pause of
// lingerIdle ends it), for at most lingerTime and lingerMax bytes (nginx's lingering_close does the
// same).
const (
	lingerIdle = 2 * time.Second
	lingerTime = 10 * time.Second
	lingerMax  = 16 << 20
)

// Close closes the connection; after a refusal (linger) it first half-closes it and reads what the
// client is still sending (see lingerIdle). Closing a socket whose
// unread input is not empty makes the kernel send a reset, and a client still writing its large
// header or body would see "connection reset" instead of the 413 or 431 already sent to it
// (RFC 9112 9.6).
func (c *trackedConn) Close() error {
	if c.linger {
		c.linger = false
		if hc, ok := c.Conn.(interface{ CloseWrite() error }); ok && hc.CloseWrite() == nil {
			buf := make([]byte, 32<<10)
			for end, n := time.Now().Add(lingerTime), 0; n < lingerMax; {
				deadline := time.Now().Add(lingerIdle)
				if deadline.After(end) {
					deadline = end
				}
				_ = c.Conn.SetReadDeadline(deadline)
				m, err := c.Conn.Read(buf)
				if n += m; err != nil {
					break
				}
			}
		}
	}
	return c.Conn.Close()
}

func (c *trackedConn) Read(p []byte) (int, error) {
	n, err := c.Conn.Read(p)
	c.read += int64(n)
	return n, err
}

func (c *trackedConn) Write(p []byte) (int, error) {
	if c.discard {
		return len(p), nil
	}
	return c.Conn.Write(p)
}

// ReadFrom keeps the kernel's sendfile for files served from disk (net.TCPConn's ReadFrom).
func (c *trackedConn) ReadFrom(r io.Reader) (int64, error) {
	if c.discard {
		return io.Copy(io.Discard, r)
	}
	if rf, ok := c.Conn.(io.ReaderFrom); ok {
		return rf.ReadFrom(r)
	}
	return io.Copy(c.Conn, r)
}

// refusals wraps fasthttp's error handler (Fiber's, which answers through the kit's error handler):
// every request refused before a route ran — its line or headers did not parse or were too large
// (400, 431), its body was too large (413), it did not arrive within the read timeout (408) — is
// counted (inlay_http_requests_refused_total) and logged; a connection the client reset is neither
// (it refused nothing; logged at Debug), and a new
// connection that sent not a byte before the read timeout is closed silently, as an idle
// keep-alive connection is, instead of receiving a 408 for a request it never made (a browser's
// preconnect, a port scan, a client that opened a socket and went away).
func (s *Server) refusals(answer func(*fasthttp.RequestCtx, error), refused *prometheus.CounterVec) func(*fasthttp.RequestCtx, error) {
	return func(fctx *fasthttp.RequestCtx, err error) {
		tc, tracked := fctx.Conn().(*trackedConn)
		if tracked && tc.read == 0 && isTimeout(err) {
			tc.discard = true // fasthttp writes an answer after this handler: it goes nowhere
			return
		}
		if clientGone(err) {
			// The client reset the connection (a health check's or a scanner's probe, a browser
			// that gave up): there is nobody to answer and nothing was refused. Fiber would call it
			// a 502 Bad Gateway.
			var read int64
			if tracked {
				tc.discard, read = true, tc.read
			}
			s.log.LogAttrs(fctx, slog.LevelDebug, "connection reset by the client", slog.Int64("bytes_read", read))
			return
		}
		answer(fctx, err)
		s.publicHeaders(&fctx.Response.Header)
		if tracked {
			tc.linger = true // fasthttp closes the connection after this answer
		}
		// Counted, not timed: fasthttp has no start time for a request it could not read (its
		// clock is the previous request's on a kept-alive connection), and the method may not have
		// been read either.
		status := fctx.Response.StatusCode()
		refused.WithLabelValues(strconv.Itoa(status)).Inc()
		s.log.LogAttrs(fctx, slog.LevelInfo, "request", slog.Int("status", status), slog.String("refused", err.Error()))
	}
}

// clientGone reports whether err says the client reset or closed the connection under the server.
func clientGone(err error) bool {
	return errors.Is(err, syscall.ECONNRESET) || errors.Is(err, syscall.EPIPE) || errors.Is(err, syscall.ECONNABORTED)
}

func isTimeout(err error) bool {
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}

// unknownMethod answers, with 501 before any route runs, a request whose method no resource here
// takes: TRACE (which would echo the request, cookies included), CONNECT, or one HTTP does not define
// (a lowercase "get", PROPFIND, FOO — Fiber's own answer to those is a bare 400 before any
// middleware). It is counted and logged as a refusal.
func (s *Server) unknownMethod(fctx *fasthttp.RequestCtx, refused *prometheus.CounterVec) {
	fctx.SetStatusCode(fasthttp.StatusNotImplemented)
	fctx.SetContentType("text/plain; charset=utf-8")
	fctx.SetBodyString("This server does not take that method.")
	s.publicHeaders(&fctx.Response.Header)
	refused.WithLabelValues(strconv.Itoa(fasthttp.StatusNotImplemented)).Inc()
	s.log.LogAttrs(fctx, slog.LevelInfo, "request", slog.Int("status", fasthttp.StatusNotImplemented),
		slog.String("refused", "a method this server does not take"))
}

// publicHeaders sets what a Public server says on every answer, refusals included: nosniff.
func (s *Server) publicHeaders(h *fasthttp.ResponseHeader) {
	if s.opts.Public {
		h.Set(fiber.HeaderXContentTypeOptions, "nosniff")
	}
}

// answerAllow registers, for every path the app routes for some methods only, a handler of the
// others that answers 405 with the Allow header RFC 9110 (15.5.6) requires: Fiber's own 405 has
// none. It runs once, when the routes are all known (Serve).
func answerAllow(app *fiber.App) {
	methods := map[string][]string{} // path → the methods routed for it
	var paths []string
	for _, r := range app.GetRoutes(true) {
		if _, seen := methods[r.Path]; !seen {
			paths = append(paths, r.Path)
		}
		if !slices.Contains(methods[r.Path], r.Method) {
			methods[r.Path] = append(methods[r.Path], r.Method)
		}
	}
	for _, path := range paths {
		routed := methods[path]
		var missing []string
		for _, m := range standardMethods {
			if !slices.Contains(routed, m) && m != fiber.MethodConnect && m != fiber.MethodTrace {
				missing = append(missing, m)
			}
		}
		if len(missing) == 0 {
			continue
		}
		allow := make([]string, 0, len(routed))
		for _, m := range standardMethods {
			if slices.Contains(routed, m) {
				allow = append(allow, m)
			}
		}
		header := strings.Join(allow, ", ")
		for _, m := range missing {
			app.Add(m, path, func(c *fiber.Ctx) error {
				c.Set(fiber.HeaderAllow, header)
				return fiber.ErrMethodNotAllowed
			})
		}
	}
}

// badHeaderLines names what makes a request's header block one that RFC 9112 asks a server to
// refuse with 400, which fasthttp reads without complaint: a line folded onto the one before it
// (obs-fold, 5.2), whitespace or another non-token byte in a field name (5.1: "Transfer-Encoding :"
// would be another header here, and chunked to a proxy in front), more than one Host (3.2: the
// later one would win here, the first one elsewhere), a Transfer-Encoding that is not exactly one
// line of "chunked" (6.1: "chunked" on one line and "identity" on another is read as chunked here,
// perhaps not in front), or both Content-Length and Transfer-Encoding (6.3: a proxy in front may
// have framed the body by the length). Each of these lets two servers on a request's
// way read it differently, which is what request smuggling and cache poisoning are made of. An empty
// result is a good block.
func badHeaderLines(raw []byte) string {
	hosts, length, codings := 0, false, 0
	for len(raw) > 0 {
		line := raw
		if i := bytes.IndexByte(raw, '\n'); i >= 0 {
			line, raw = raw[:i], raw[i+1:]
		} else {
			raw = nil
		}
		line = bytes.TrimSuffix(line, []byte{'\r'})
		if len(line) == 0 {
			continue
		}
		if line[0] == ' ' || line[0] == '\t' {
			return "a folded header line"
		}
		colon := bytes.IndexByte(line, ':')
		if colon <= 0 {
			return "a header line without a name"
		}
		for _, b := range line[:colon] {
			if !tokenByte[b] {
				return "a header name with whitespace or a separator in it"
			}
		}
		switch name := line[:colon]; {
		case len(name) == 4 && bytes.EqualFold(name, []byte("host")):
			if hosts++; hosts > 1 {
				return "more than one Host"
			}
		case len(name) == 14 && bytes.EqualFold(name, []byte("content-length")):
			length = true
		case len(name) == 17 && bytes.EqualFold(name, []byte("transfer-encoding")):
			if codings++; codings > 1 {
				return "more than one Transfer-Encoding"
			}
			if !bytes.EqualFold(bytes.TrimSpace(line[colon+1:]), []byte("chunked")) {
				return "a Transfer-Encoding other than chunked"
			}
		}
	}
	if length && codings > 0 {
		return "both Content-Length and Transfer-Encoding"
	}
	return ""
}

// tokenByte holds the bytes of an RFC 9110 token (5.6.2), the only ones a field name may have.
var tokenByte = func() (t [256]bool) {
	for c := '0'; c <= '9'; c++ {
		t[c] = true
	}
	for c := 'a'; c <= 'z'; c++ {
		t[c], t[c-'a'+'A'] = true, true
	}
	for _, c := range "!#$%&'*+-.^_`|~" {
		t[c] = true
	}
	return t
}()

package otlpwire

import (
	"bytes"
	"compress/gzip"
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	coltracepb "go.opentelemetry.io/proto/otlp/collector/trace/v1"
	"google.golang.org/protobuf/proto"
)

// Config is where and how spans are sent: what the standard OTEL_EXPORTER_OTLP_* variables say
// (ConfigFromEnv).
type Config struct {
	// URL is the collector's traces endpoint (http://127.0.0.1:4318/v1/traces).
	URL string
	// Headers are sent with every export (OTEL_EXPORTER_OTLP_HEADERS: api keys and the like).
	Headers http.Header
	// Timeout bounds one export, its retries included (10 s by default).
	Timeout time.Duration
	// Gzip compresses the body (OTEL_EXPORTER_OTLP_COMPRESSION=gzip).
	Gzip bool
	// TLS is the client's TLS configuration for an https URL (nil: the system's roots).
	TLS *tls.Config
}

// DefaultTimeout is OTLP's default export timeout.
const DefaultTimeout = 10 * time.Second

// ConfigFromEnv reads the OTLP/HTTP exporter's standard variables through getenv (os.Getenv in a
// process): OTEL_EXPORTER_OTLP_TRACES_ENDPOINT (used as it is) or OTEL_EXPORTER_OTLP_ENDPOINT (with
// /v1/traces appended), and for each of HEADERS, TIMEOUT (milliseconds), COMPRESSION (gzip or
// none), CERTIFICATE, CLIENT_CERTIFICATE and CLIENT_KEY (PEM files) the TRACES_ variable or else
// the general one.
func ConfigFromEnv(getenv func(string) string) (Config, error) {
	get := func(name string) string {
		if v := getenv("OTEL_EXPORTER_OTLP_TRACES_" + name); v != "" {
			return v
		}
		return getenv("OTEL_EXPORTER_OTLP_" + name)
	}
	var cfg Config
	if u := getenv("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT"); u != "" {
		cfg.URL = u
	} else if u := getenv("OTEL_EXPORTER_OTLP_ENDPOINT"); u != "" {
		cfg.URL = strings.TrimSuffix(u, "/") + "/v1/traces"
	} else {
		return Config{}, errors.New("no OTLP endpoint: set OTEL_EXPORTER_OTLP_ENDPOINT")
	}
	parsed, err := url.Parse(cfg.URL)
	if err != nil || (parsed.Scheme != "http" && parsed.Scheme != "https") || parsed.Host == "" {
		return Config{}, fmt.Errorf("OTLP endpoint %q: want an http:// or https:// URL", cfg.URL)
	}
	if cfg.Headers, err = parseHeaders(get("HEADERS")); err != nil {
		return Config{}, err
	}
	cfg.Timeout = DefaultTimeout
	if v := get("TIMEOUT"); v != "" {
		ms, err := strconv.Atoi(v)
		if err != nil || ms <= 0 {
			return Config{}, fmt.Errorf("OTEL_EXPORTER_OTLP_TIMEOUT %q: want a positive number of milliseconds", v)
		}
		cfg.Timeout = time.Duration(ms) * time.Millisecond
	}
	switch v := get("COMPRESSION"); v {
	case "gzip":
		cfg.Gzip = true
	case "", "none":
	default:
		return Config{}, fmt.Errorf("OTEL_EXPORTER_OTLP_COMPRESSION %q: want gzip or none", v)
	}
	if cfg.TLS, err = tlsConfig(get("CERTIFICATE"), get("CLIENT_CERTIFICATE"), get("CLIENT_KEY")); err != nil {
		return Config{}, err
	}
	return cfg, nil
}

// parseHeaders reads the W3C-baggage-like list of OTEL_EXPORTER_OTLP_HEADERS: key=value pairs,
// comma separated, values percent-encoded.
func parseHeaders(s string) (http.Header, error) {
	h := http.Header{}
	for pair := range strings.SplitSeq(s, ",") {
		if strings.TrimSpace(pair) == "" {
			continue
		}
		k, v, ok := strings.Cut(pair, "=")
		k = strings.TrimSpace(k)
		if !ok || k == "" {
			return nil, fmt.Errorf("OTEL_EXPORTER_OTLP_HEADERS: %q is not key=value", pair)
		}
		value, err := url.PathUnescape(strings.TrimSpace(v))
		if err != nil {
			return nil, fmt.Errorf("OTEL_EXPORTER_OTLP_HEADERS: the value of %q: %w", k, err)
		}
		h.Add(k, value)
	}
	return h, nil
}

func tlsConfig(caFile, certFile, keyFile string) (*tls.Config, error) {
	if caFile == "" && certFile == "" && keyFile == "" {
		return nil, nil
	}
	cfg := &tls.Config{MinVersion: tls.VersionTLS12}
	if caFile != "" {
		pem, err := os.ReadFile(caFile) //nolint:gosec // G304: the operator's own setting names the file
		if err != nil {
			return nil, fmt.Errorf("OTEL_EXPORTER_OTLP_CERTIFICATE: %w", err)
		}
		cfg.RootCAs = x509.NewCertPool()
		if !cfg.RootCAs.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("OTEL_EXPORTER_OTLP_CERTIFICATE %s: no PEM certificate in it", caFile)
		}
	}
	if certFile != "" || keyFile != "" {
		cert, err := tls.LoadX509KeyPair(certFile, keyFile)
		if err != nil {
			return nil, fmt.Errorf("OTEL_EXPORTER_OTLP_CLIENT_CERTIFICATE and _CLIENT_KEY: %w", err)
		}
		cfg.Certificates = []tls.Certificate{cert}
	}
	return cfg, nil
}

// Exporter sends batches of spans to an OTLP/HTTP collector. The batch span processor calls it
// from one goroutine; it is safe for concurrent use all the same.
type Exporter struct {
	cfg    Config
	client *http.Client

	done atomic.Bool

	mu   sync.Mutex   // guards what follows
	size int          // the last request's size: the next one's buffer starts at it
	zw   *gzip.Writer // reused; it writes each request into a buffer of its own
}

// New returns an exporter sending to cfg.URL.
func New(cfg Config) *Exporter {
	if cfg.Timeout <= 0 {
		cfg.Timeout = DefaultTimeout
	}
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.TLSClientConfig = cfg.TLS
	tr.MaxIdleConnsPerHost = 2
	return &Exporter{cfg: cfg, client: &http.Client{Transport: tr}}
}

// retryable are the statuses OTLP says to retry after a pause.
func retryable(status int) bool {
	switch status {
	case http.StatusTooManyRequests, http.StatusBadGateway, http.StatusServiceUnavailable, http.StatusGatewayTimeout:
		return true
	}
	return false
}

// maxResponse bounds what is read of a collector's answer.
const maxResponse = 64 << 10

// ExportSpans encodes spans and sends them in one request, retrying a retryable answer (or a
// refused connection) after a pause that doubles from 100 ms (or what Retry-After says), within
// the configured timeout and ctx.
func (e *Exporter) ExportSpans(ctx context.Context, spans []sdktrace.ReadOnlySpan) error {
	if len(spans) == 0 {
		return nil
	}
	if e.done.Load() {
		return errors.New("otlp export: the exporter is shut down")
	}
	body, err := e.encode(spans)
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(ctx, e.cfg.Timeout)
	defer cancel()
	pause := 100 * time.Millisecond
	for {
		wait, err := e.send(ctx, body)
		if err == nil {
			return nil
		}
		if wait < 0 {
			return err
		}
		if wait == 0 {
			wait = pause
			pause = min(2*pause, 5*time.Second)
		}
		t := time.NewTimer(wait)
		select {
		case <-t.C:
		case <-ctx.Done():
			t.Stop()
			return fmt.Errorf("%w (gave up: %w)", err, ctx.Err())
		}
	}
}

// encode returns the request's body. Each export has a buffer of its own: net/http may still read
// a request's body after Do returned, so a buffer is never reused for the next export.
func (e *Exporter) encode(spans []sdktrace.ReadOnlySpan) ([]byte, error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	body := AppendRequest(make([]byte, 0, e.size+e.size/8), spans)
	e.size = len(body)
	if !e.cfg.Gzip {
		return body, nil
	}
	z := bytes.NewBuffer(make([]byte, 0, len(body)/4))
	if e.zw == nil {
		e.zw = gzip.NewWriter(z)
	} else {
		e.zw.Reset(z)
	}
	if _, err := e.zw.Write(body); err != nil {
		return nil, fmt.Errorf("otlp export: gzip: %w", err)
	}
	if err := e.zw.Close(); err != nil {
		return nil, fmt.Errorf("otlp export: gzip: %w", err)
	}
	return z.Bytes(), nil
}

// send makes one request. On failure it says how long to wait before trying again: 0 for the
// backoff's next pause, the collector's Retry-After when it sent one, negative when a retry would
// not help.
func (e *Exporter) send(ctx context.Context, body []byte) (time.Duration, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, e.cfg.URL, bytes.NewReader(body))
	if err != nil {
		return -1, fmt.Errorf("otlp export: %w", err)
	}
	for k, vs := range e.cfg.Headers {
		req.Header[k] = vs
	}
	req.Header.Set("Content-Type", "application/x-protobuf")
	if e.cfg.Gzip {
		req.Header.Set("Content-Encoding", "gzip")
	}
	resp, err := e.client.Do(req)
	if err != nil {
		if ctx.Err() != nil {
			return -1, fmt.Errorf("otlp export: %w", err)
		}
		return 0, fmt.Errorf("otlp export: %w", err) // the collector restarting: try again
	}
	defer resp.Body.Close()
	msg, _ := io.ReadAll(io.LimitReader(resp.Body, maxResponse))
	if resp.StatusCode >= 200 && resp.StatusCode < 300 {
		if rejected, why := partialSuccess(resp.Header.Get("Content-Type"), msg); rejected != 0 || why != "" {
			// Delivered, in part: retrying would not change what the collector refused.
			return -1, fmt.Errorf("otlp export: %s rejected %d spans: %s", e.cfg.URL, rejected, why)
		}
		return 0, nil
	}
	err = fmt.Errorf("otlp export: %s answered %d: %s", e.cfg.URL, resp.StatusCode, strings.TrimSpace(string(msg)))
	if !retryable(resp.StatusCode) {
		return -1, err
	}
	if s, perr := strconv.Atoi(resp.Header.Get("Retry-After")); perr == nil && s > 0 {
		return time.Duration(s) * time.Second, err
	}
	return 0, err
}

// partialSuccess reads ExportTraceServiceResponse.partial_success from a protobuf answer; a JSON
// or empty answer says nothing of it.
func partialSuccess(contentType string, b []byte) (rejected int64, msg string) {
	if len(b) == 0 || !strings.HasPrefix(contentType, "application/x-protobuf") {
		return 0, ""
	}
	var resp coltracepb.ExportTraceServiceResponse
	if err := proto.Unmarshal(b, &resp); err != nil {
		return 0, ""
	}
	return resp.GetPartialSuccess().GetRejectedSpans(), resp.GetPartialSuccess().GetErrorMessage()
}

// Shutdown stops the exporter: later exports fail. Spans still buffered are the batch
// processor's to flush before it calls this; an export under way ends within its timeout.
func (e *Exporter) Shutdown(context.Context) error {
	e.done.Store(true)
	e.client.CloseIdleConnections()
	return nil
}

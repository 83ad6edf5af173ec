// Package tracing builds a process's OpenTelemetry tracer provider from the standard OTEL_*
// variables (config.Tracing) and holds the small helpers the kit's instrumentation shares.
//
// With an OTLP endpoint set, spans are batched and exported over OTLP/HTTP (otlpwire), sampled by
// OTEL_TRACES_SAMPLER (parent-based, 10% of new traces, by default). Without one the provider is
// OpenTelemetry's no-op: it records nothing and costs next to nothing, and a span started from a
// context that carries a remote span context (an incoming traceparent) keeps that context, so the
// trace is still passed on to the teams and into the outbox.
//
// Nothing here is global: the provider is passed to whatever makes spans (kit.Start does it).
package tracing

import (
	"context"
	"fmt"
	"os"
	"strconv"
	"strings"
	"time"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/sdk/resource"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/trace"
	"go.opentelemetry.io/otel/trace/embedded"
	"go.opentelemetry.io/otel/trace/noop"

	"github.com/inlay-dev/inlay/services/kit/config"
	"github.com/inlay-dev/inlay/services/kit/tracing/otlpwire"
)

// ScopeName is the instrumentation scope of Inlay's own spans.
const ScopeName = "github.com/inlay-dev/inlay"

// Provider is a process's tracer provider.
type Provider struct {
	trace.TracerProvider
	sdk *sdktrace.TracerProvider // nil when nothing is exported
}

// Noop is a provider that makes no spans of its own (tests, tools).
func Noop() *Provider { return &Provider{TracerProvider: noop.NewTracerProvider()} }

// New builds the provider of the process named service from cfg. It exports only when cfg has an
// endpoint (cfg.Exporting); otherwise it is Noop.
func New(ctx context.Context, service string, cfg config.Tracing) (*Provider, error) {
	if !cfg.Exporting() {
		return Noop(), nil
	}
	if cfg.Protocol != "" && cfg.Protocol != "http/protobuf" {
		return nil, fmt.Errorf("OTEL_EXPORTER_OTLP_PROTOCOL %q: only http/protobuf is built in", cfg.Protocol)
	}
	sampler, err := Sampler(cfg.Sampler, cfg.SamplerArg)
	if err != nil {
		return nil, err
	}
	// The endpoint, headers, timeout, compression and TLS files: the standard variables.
	ecfg, err := otlpwire.ConfigFromEnv(os.Getenv)
	if err != nil {
		return nil, fmt.Errorf("otlp exporter: %w", err)
	}
	exp := otlpwire.New(ecfg)
	name := cfg.ServiceName
	if name == "" {
		name = service
	}
	res, err := resource.Merge(resource.Default(),
		resource.NewSchemaless(attribute.String("service.name", name), attribute.String("service.namespace", "inlay")))
	if err != nil {
		return nil, fmt.Errorf("trace resource: %w", err)
	}
	tp := sdktrace.NewTracerProvider(sdktrace.WithBatcher(exp), sdktrace.WithResource(res), sdktrace.WithSampler(sampler))
	var provider trace.TracerProvider = tp
	if ParentBased(cfg.Sampler) {
		provider = FollowParent(tp)
	}
	return &Provider{TracerProvider: provider, sdk: tp}, nil
}

// ParentBased reports whether the sampler named by OTEL_TRACES_SAMPLER follows a parent's decision
// (the parentbased_ samplers, and the default).
func ParentBased(sampler string) bool {
	return sampler == "" || strings.HasPrefix(sampler, "parentbased_")
}

// FollowParent wraps the provider of a parent-based sampler so that a span started under a parent
// that is valid but not sampled costs nothing: the sampler would drop it anyway, so Start returns
// the parent's own span and context — no span, no new span id, no allocation. The trace id still
// flows (logs, traceparent to the teams and into the outbox); only the unrecorded child's span id
// is not made, so what is passed on names the nearest span that exists. A span started with
// trace.WithNewRoot is left to the SDK.
func FollowParent(tp trace.TracerProvider) trace.TracerProvider { return followParent{tp: tp} }

type followParent struct {
	embedded.TracerProvider
	tp trace.TracerProvider
}

func (p followParent) Tracer(name string, opts ...trace.TracerOption) trace.Tracer {
	return followParentTracer{sdk: p.tp.Tracer(name, opts...)}
}

type followParentTracer struct {
	embedded.Tracer
	sdk trace.Tracer
}

func (t followParentTracer) Start(ctx context.Context, name string, opts ...trace.SpanStartOption) (context.Context, trace.Span) {
	if parent := trace.SpanFromContext(ctx); !parent.IsRecording() {
		if sc := parent.SpanContext(); sc.IsValid() && !sc.IsSampled() {
			if cfg := trace.NewSpanStartConfig(opts...); !cfg.NewRoot() {
				return ctx, parent
			}
		}
	}
	return t.sdk.Start(ctx, name, opts...)
}

// Exporting reports whether p records and exports sampled spans.
func (p *Provider) Exporting() bool { return p != nil && p.sdk != nil }

// Shutdown exports the spans still buffered and stops the exporter, within ctx.
func (p *Provider) Shutdown(ctx context.Context) error {
	if p == nil || p.sdk == nil {
		return nil
	}
	return p.sdk.Shutdown(ctx)
}

// Sampler builds the sampler named by OTEL_TRACES_SAMPLER with OTEL_TRACES_SAMPLER_ARG.
func Sampler(name, arg string) (sdktrace.Sampler, error) {
	ratio := 1.0
	if arg != "" && strings.HasSuffix(name, "traceidratio") {
		r, err := strconv.ParseFloat(arg, 64)
		if err != nil || r < 0 || r > 1 {
			return nil, fmt.Errorf("OTEL_TRACES_SAMPLER_ARG %q: want a ratio from 0 to 1", arg)
		}
		ratio = r
	}
	switch name {
	case "always_on":
		return sdktrace.AlwaysSample(), nil
	case "always_off":
		return sdktrace.NeverSample(), nil
	case "traceidratio":
		return sdktrace.TraceIDRatioBased(ratio), nil
	case "parentbased_always_on":
		return sdktrace.ParentBased(sdktrace.AlwaysSample()), nil
	case "parentbased_always_off":
		return sdktrace.ParentBased(sdktrace.NeverSample()), nil
	case "parentbased_traceidratio", "":
		return sdktrace.ParentBased(sdktrace.TraceIDRatioBased(ratio)), nil
	}
	return nil, fmt.Errorf("OTEL_TRACES_SAMPLER %q: want always_on, always_off, traceidratio or parentbased_ one of them", name)
}

// Propagator is the W3C trace context propagator every process uses for HTTP headers and event
// messages.
var Propagator propagation.TextMapPropagator = propagation.TraceContext{}

// Traceparent returns the W3C traceparent header of sc ("" when sc is not valid), without the
// propagator's map.
func Traceparent(sc trace.SpanContext) string {
	if !sc.IsValid() {
		return ""
	}
	tid, sid := sc.TraceID(), sc.SpanID()
	const hexDigits = "0123456789abcdef"
	b := make([]byte, 0, 55)
	b = append(b, "00-"...)
	for _, c := range tid {
		b = append(b, hexDigits[c>>4], hexDigits[c&0xf])
	}
	b = append(b, '-')
	for _, c := range sid {
		b = append(b, hexDigits[c>>4], hexDigits[c&0xf])
	}
	b = append(b, '-', hexDigits[sc.TraceFlags()>>4], hexDigits[sc.TraceFlags()&0xf])
	return string(b)
}

// ContextWithTraceparent returns ctx carrying the remote span context of a W3C traceparent (ctx
// itself when it is empty or invalid).
func ContextWithTraceparent(ctx context.Context, traceparent string) context.Context {
	if traceparent == "" {
		return ctx
	}
	return Propagator.Extract(ctx, propagation.MapCarrier{"traceparent": traceparent})
}

// RecordError marks span as failed with err.
func RecordError(span trace.Span, err error) {
	if err == nil || !span.IsRecording() {
		return
	}
	span.RecordError(err)
	span.SetStatus(codes.Error, err.Error())
}

// ShutdownTimeout bounds the final export on Close.
const ShutdownTimeout = 5 * time.Second

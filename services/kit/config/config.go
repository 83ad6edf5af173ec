// Package config reads a process's typed configuration from the environment.
//
// Every process declares one Config struct with `env` tags and working local defaults, embeds Common,
// and calls Load once in main. A bad value fails fast with a message naming the variable.
//
// A default that only suits a developer's machine (a well-known token, a loopback URL, a missing key)
// is marked `prod:"required"`: in prod (INLAY_ENV=prod) Load refuses to start until that variable is
// set to something other than its default. The tag is the one list of such variables: deploy's test
// reads it to check that every deployment sets them.
package config

import (
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"os"
	"reflect"
	"strings"
	"time"

	"github.com/caarlos0/env/v11"

	"github.com/inlay-dev/inlay/fragments"
)

// Common holds the settings every Inlay process shares. Each field's variable is listed in the README.
type Common struct {
	// Env is "dev" or "prod". Dev mode creates missing databases and accepts unsigned fragment context.
	Env string `env:"INLAY_ENV" envDefault:"dev"`
	// LogLevel is debug, info, warn or error.
	LogLevel slog.Level `env:"LOG_LEVEL" envDefault:"info"`
	// LogFormat is json (one JSON object a line) or text (slog's key=value lines, for make run).
	LogFormat string `env:"LOG_FORMAT" envDefault:"json"`
	// PostgresURL points at the PostgreSQL server; the database name in it is replaced by the service's own.
	PostgresURL string `env:"POSTGRES_URL" envDefault:"postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable"`
	// DBPrefix prefixes every service's database name: inlay_ + context by default.
	DBPrefix string `env:"INLAY_DB_PREFIX" envDefault:"inlay_"`
	// RedisURL points at Redis.
	RedisURL string `env:"REDIS_URL" envDefault:"redis://127.0.0.1:6379/0"`
	// RedisPrefix is put before each context's own key prefix ("<context>:").
	RedisPrefix string `env:"INLAY_REDIS_PREFIX"`
	// AMQPURL points at RabbitMQ.
	AMQPURL string `env:"AMQP_URL" envDefault:"amqp://guest:guest@127.0.0.1:5672/"`
	// Exchange is the durable topic exchange all events go through; queues are named after it.
	Exchange string `env:"INLAY_EXCHANGE" envDefault:"inlay.events"`
	// BodyLimit bounds request bodies, in bytes.
	BodyLimit int `env:"INLAY_BODY_LIMIT" envDefault:"1048576"`
	// ShutdownTimeout bounds graceful shutdown.
	ShutdownTimeout time.Duration `env:"INLAY_SHUTDOWN_TIMEOUT" envDefault:"10s"`
	// Drain is how long a process keeps serving after SIGTERM with /readyz answering 503, before it
	// shuts down, so load balancers and the shell take it out of rotation first: 5 s in the deploy
	// files, 0 (stop at once) in dev and tests.
	Drain time.Duration `env:"INLAY_DRAIN" envDefault:"0s"`
	// Locales are the locales the store is written in, the first its default: a visitor's
	// Accept-Language is matched against them (fragments.Locale) by the processes that build a
	// context (the shell, the BFFs), so cached fragments are keyed by these alone.
	Locales []string `env:"INLAY_LOCALES" envDefault:"en" envSeparator:","`
	// Tracing is OpenTelemetry's configuration, from its standard variables.
	Tracing Tracing
}

// Tracing is the OpenTelemetry configuration every process reads (the SDK's standard variables;
// services/kit/tracing builds the tracer provider from it). Spans are exported over OTLP only when an
// endpoint is set; without one the process makes no spans of its own and only passes traceparent on.
// The exporter also reads the other OTEL_EXPORTER_OTLP_* variables (headers, timeout, TLS) itself.
type Tracing struct {
	// Endpoint is the OTLP collector's base URL (http://127.0.0.1:4318); /v1/traces is appended.
	Endpoint string `env:"OTEL_EXPORTER_OTLP_ENDPOINT"`
	// TracesEndpoint is the full URL of the collector's traces endpoint; it wins over Endpoint.
	TracesEndpoint string `env:"OTEL_EXPORTER_OTLP_TRACES_ENDPOINT"`
	// Protocol is the OTLP transport: only http/protobuf is built in.
	Protocol string `env:"OTEL_EXPORTER_OTLP_PROTOCOL" envDefault:"http/protobuf"`
	// ServiceName names the process in traces; the process's own name when empty.
	ServiceName string `env:"OTEL_SERVICE_NAME"`
	// Sampler is always_on, always_off, traceidratio or parentbased_ followed by one of them.
	Sampler string `env:"OTEL_TRACES_SAMPLER" envDefault:"parentbased_traceidratio"`
	// SamplerArg is the ratio of the traceidratio samplers, 0 to 1.
	SamplerArg string `env:"OTEL_TRACES_SAMPLER_ARG" envDefault:"0.1"`
	// Disabled turns tracing off even with an endpoint set.
	Disabled bool `env:"OTEL_SDK_DISABLED" envDefault:"false"`
}

// Exporting reports whether spans are exported: an endpoint is set and the SDK is not disabled.
func (t Tracing) Exporting() bool {
	return !t.Disabled && (t.Endpoint != "" || t.TracesEndpoint != "")
}

// FragmentServer is the configuration of a process that serves fragments to the shell and the BFFs;
// such a process embeds it beside Common. It holds the key set the process verifies Inlay-Context
// with: one Ed25519 public key (base64) per signer, so each can be rotated or revoked on its own.
type FragmentServer struct {
	// ShellPublicKey is the shell's public key (key id "shell"). Dev mode accepts unsigned contexts
	// without any key.
	ShellPublicKey string `env:"INLAY_SHELL_PUBLIC_KEY" prod:"required"`
	// MobilePublicKey is bff/mobile's public key (key id "mobile"); unset, its contexts are refused.
	MobilePublicKey string `env:"INLAY_MOBILE_PUBLIC_KEY"`
	// EmbedPublicKey is bff/embed's public key (key id "embed"), whose contexts never carry a customer.
	EmbedPublicKey string `env:"INLAY_EMBED_PUBLIC_KEY" prod:"required"`
}

// PublicKeys returns the configured public keys by key id (fragments.ParseKeySet reads them).
func (f FragmentServer) PublicKeys() map[string]string {
	return map[string]string{"shell": f.ShellPublicKey, "mobile": f.MobilePublicKey, "embed": f.EmbedPublicKey}
}

// Dev reports whether the process runs in development mode.
func (c Common) Dev() bool { return c.Env == "dev" }

// DevAdminToken is the local default of a team's admin bearer token (DECIDE_ADMIN_TOKEN, ...).
const DevAdminToken = "dev-admin-token" //nolint:gosec // G101: the public dev default, which prod refuses (CheckAdminToken)

// CheckAdminToken refuses DevAdminToken as the admin token outside dev mode; variable names the
// setting in the error.
func (c Common) CheckAdminToken(variable, token string) error {
	if !c.Dev() && token == DevAdminToken {
		return fmt.Errorf("%s must be set to a secret outside dev mode", variable)
	}
	return nil
}

// DatabaseName is the name of the database owned by the given context.
func (c Common) DatabaseName(context string) string { return c.DBPrefix + context }

// DatabaseURL is PostgresURL with its database replaced by the context's own.
func (c Common) DatabaseURL(context string) (string, error) {
	u, err := url.Parse(c.PostgresURL)
	if err != nil {
		return "", fmt.Errorf("POSTGRES_URL: %w", err)
	}
	u.Path = "/" + c.DatabaseName(context)
	return u.String(), nil
}

// KeyPrefix is the Redis key prefix owned by the given context.
func (c Common) KeyPrefix(context string) string { return c.RedisPrefix + context + ":" }

// Load fills v, a pointer to a struct with `env` tags, from the environment.
func Load(v any) error {
	if err := env.Parse(v); err != nil {
		return fmt.Errorf("configuration: %w", nameVariables(v, err))
	}
	if c, ok := v.(interface{ common() *Common }); ok {
		if err := c.common().validate(); err != nil {
			return err
		}
		if !c.common().Dev() {
			return requireProd(reflect.TypeOf(v))
		}
	}
	return nil
}

// ProdRequired reports whether a struct field's tag marks its variable as one a process refuses to
// default in prod (`prod:"required"`), and names the variable.
func ProdRequired(tag reflect.StructTag) (variable string, ok bool) {
	if tag.Get("prod") != "required" {
		return "", false
	}
	variable, _, _ = strings.Cut(tag.Get("env"), ",")
	return variable, variable != ""
}

// requireProd fails when a variable marked `prod:"required"` in t, a configuration struct, is unset,
// blank or set to its (dev) default.
func requireProd(t reflect.Type) error {
	var missing []string
	walkFields(t, func(f reflect.StructField) {
		name, ok := ProdRequired(f.Tag)
		if !ok {
			return
		}
		v, set := os.LookupEnv(name)
		if def, hasDefault := f.Tag.Lookup("envDefault"); !set || strings.TrimSpace(v) == "" || (hasDefault && v == def) {
			missing = append(missing, name)
		}
	})
	if len(missing) > 0 {
		return fmt.Errorf("configuration: INLAY_ENV=prod needs %s set, and not to a dev default", strings.Join(missing, ", "))
	}
	return nil
}

// walkFields calls fn for each field of the struct type t, descending into embedded and nested
// structs that carry no env tag of their own.
func walkFields(t reflect.Type, fn func(reflect.StructField)) {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	if t.Kind() != reflect.Struct {
		return
	}
	for i := range t.NumField() {
		f := t.Field(i)
		if key, _, _ := strings.Cut(f.Tag.Get("env"), ","); key == "" && f.Type.Kind() == reflect.Struct {
			walkFields(f.Type, fn)
			continue
		}
		fn(f)
	}
}

func (c *Common) common() *Common { return c }

func (c *Common) validate() error {
	switch c.Env {
	case "dev", "prod":
	default:
		return fmt.Errorf("configuration: INLAY_ENV must be dev or prod, not %q", c.Env)
	}
	if strings.TrimSpace(c.Exchange) == "" {
		return fmt.Errorf("configuration: INLAY_EXCHANGE must not be empty")
	}
	if c.BodyLimit <= 0 {
		return fmt.Errorf("configuration: INLAY_BODY_LIMIT must be positive")
	}
	if c.LogFormat != "json" && c.LogFormat != "text" {
		return fmt.Errorf("configuration: LOG_FORMAT must be json or text, not %q", c.LogFormat)
	}
	if len(c.Locales) == 0 {
		return fmt.Errorf("configuration: INLAY_LOCALES must name at least one locale")
	}
	for _, l := range c.Locales {
		if !fragments.ValidLocale(l) {
			return fmt.Errorf("configuration: INLAY_LOCALES: %q is not a lowercase locale tag (en, de-ch)", l)
		}
	}
	return nil
}

// CommonConfig returns the shared part of a process's configuration.
func (c Common) CommonConfig() Common { return c }

// nameVariables rewrites env's parse errors, which name the struct field, to name the variable.
func nameVariables(v any, err error) error {
	var agg env.AggregateError
	if !errors.As(err, &agg) {
		return err
	}
	keys := map[string]string{}
	collectKeys(reflect.TypeOf(v), keys)
	msgs := make([]string, 0, len(agg.Errors))
	for _, e := range agg.Errors {
		var pe env.ParseError
		if errors.As(e, &pe) && keys[pe.Name] != "" {
			msgs = append(msgs, fmt.Sprintf("%s: %v", keys[pe.Name], pe.Err))
			continue
		}
		msgs = append(msgs, e.Error())
	}
	return errors.New(strings.Join(msgs, "; "))
}

func collectKeys(t reflect.Type, keys map[string]string) {
	walkFields(t, func(f reflect.StructField) {
		if key, _, _ := strings.Cut(f.Tag.Get("env"), ","); key != "" {
			keys[f.Name] = key
		}
	})
}

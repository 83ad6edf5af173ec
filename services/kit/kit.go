// Package kit is the service template every Inlay process builds on. A team's main is
//
//	type Config struct {
//		config.Common
//		config.FragmentServer
//		Addr string `env:"DECIDE_ADDR" envDefault:":8101"`
//	}
//
//	func main() { kit.Main("decide", run) }
//
//	func run(ctx context.Context, cfg Config, log *slog.Logger) error {
//		svc, err := kit.Start(ctx, kit.Options{Name: "decide", Addr: cfg.Addr, Common: cfg.Common,
//			Log: log, Migrations: postgres.Migrations(), Events: true, Fragments: &cfg.FragmentServer})
//		if err != nil {
//			return err
//		}
//		defer svc.Close()
//		svc.Relay()                                             // publish the outbox
//		handlers.Register(svc.Consumer(events.ConsumerOptions{})) // consume the team's queue
//		// routes on svc.Server.App (fragments behind svc.Verifier), background work with svc.Go
//		return svc.Run(ctx)
//	}
//
// The pieces live in sub-packages: config, logging, server, postgres, redisdb, events and kittest.
package kit

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"maps"
	"net"
	"os"
	"os/signal"
	"slices"
	"strings"
	"syscall"
	"time"

	"github.com/gofiber/fiber/v2"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/redis/go-redis/v9"
	"golang.org/x/sync/errgroup"

	"github.com/inlay-dev/inlay/fragments"
	"github.com/inlay-dev/inlay/services/kit/config"
	"github.com/inlay-dev/inlay/services/kit/events"
	"github.com/inlay-dev/inlay/services/kit/logging"
	"github.com/inlay-dev/inlay/services/kit/postgres"
	"github.com/inlay-dev/inlay/services/kit/redisdb"
	"github.com/inlay-dev/inlay/services/kit/server"
	"github.com/inlay-dev/inlay/services/kit/tracing"
)

// Configurable is a process's Config: any struct embedding config.Common.
type Configurable interface {
	CommonConfig() config.Common
}

// Main loads C from the environment, builds the logger (JSON, or text with LOG_FORMAT=text), runs run until SIGINT or SIGTERM and
// exits non-zero when it fails.
func Main[C Configurable](name string, run func(ctx context.Context, cfg C, log *slog.Logger) error) {
	var cfg C
	if err := config.Load(&cfg); err != nil {
		fmt.Fprintf(os.Stderr, "%s: %v\n", name, err)
		os.Exit(2)
	}
	// Records go out in batches (every logFlush, and at once from Warn up): one write per request
	// of the access log cost the shell 9% of its CPU on a cached page.
	out := logging.NewBuffered(os.Stdout, 64<<10, logFlush)
	defer out.Close() // a panic's unwinding too; Close is idempotent
	log := logging.NewWithBuffer(out, name, cfg.CommonConfig().LogLevel, cfg.CommonConfig().LogFormat)
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, cfg, log); err != nil && !errors.Is(err, context.Canceled) {
		log.Error("exit", "error", err.Error())
		stop()
		_ = out.Close()
		os.Exit(1)
	}
}

// logFlush is the longest a log record at Info or below waits in memory before it is written out.
const logFlush = 200 * time.Millisecond

// MainArgs is Main for a process with commands: run also receives the command line's arguments (see
// Command).
func MainArgs[C Configurable](name string, run func(ctx context.Context, cfg C, log *slog.Logger, args []string) error) {
	args := os.Args[1:]
	Main(name, func(ctx context.Context, cfg C, log *slog.Logger) error { return run(ctx, cfg, log, args) })
}

// Command reads a process's command line: the first argument names one of commands, "serve" when
// there is none, and commands maps each name to the number of arguments it takes.
func Command(args []string, commands map[string]int) (string, error) {
	cmd := "serve"
	if len(args) > 0 {
		cmd, args = args[0], args[1:]
	}
	n, ok := commands[cmd]
	if !ok {
		names := slices.Sorted(maps.Keys(commands))
		return "", fmt.Errorf("unknown command %q (%s)", cmd, strings.Join(names, ", "))
	}
	if len(args) != n {
		return "", fmt.Errorf("%s takes %d arguments, not %d", cmd, n, len(args))
	}
	return cmd, nil
}

// Options configures Start.
type Options struct {
	Name   string        // the context or process name: decide, shell, ...
	Addr   string        // listen address; ":0" picks a free port
	Common config.Common // the shared configuration
	Log    *slog.Logger
	// Migrations, when not nil, makes Start open the service's PostgreSQL database (creating it in
	// dev mode) and apply them.
	Migrations fs.FS
	// Prepare are the hot path's statements every pooled connection prepares (postgres.Options').
	Prepare []string
	// Events makes Start create the event backbone's tables (outbox and inbox, events.Migrate) in
	// the service's database, for Relay and Consumer; it needs Migrations.
	Events bool
	// Fragments, when not nil, makes Start read the signers' key set from it
	// (INLAY_SHELL_PUBLIC_KEY, required outside dev mode; INLAY_MOBILE_PUBLIC_KEY,
	// INLAY_EMBED_PUBLIC_KEY) into Service.Verifier, for the service's fragment routes. A fragment server's Config embeds config.FragmentServer and passes its address.
	Fragments *config.FragmentServer
	// Redis makes Start open Redis; keys are scoped to Common.KeyPrefix(Name).
	Redis bool
	// Ready, when not nil, receives the bound address once listening.
	Ready func(net.Addr)
	// StreamRequestBody lets handlers stream request bodies (proxies).
	StreamRequestBody bool
	// Problems answers every error, even a request's that could not be parsed, as RFC 9457 problem
	// details (a process that is only a JSON API); see server.Options.
	Problems bool
	// ErrorPage and ReadBufferSize are server.Options'.
	ErrorPage      func(c *fiber.Ctx, status int, message string) error
	ReadBufferSize int
	// AdminAddr, when set, serves /metrics on an admin listener at this address instead of the
	// public one (processes that face the internet: the shell and the BFFs); see server.Options.
	AdminAddr string
	// AdminReady, when not nil, receives the admin listener's bound address.
	AdminReady func(net.Addr)
	// Public is server.Options': the process faces the internet (the shell, the BFFs).
	Public bool
}

// Service is a started process: its server, stores and background work.
type Service struct {
	Name   string
	Config config.Common
	Log    *slog.Logger
	Server *server.Server
	DB     *pgxpool.Pool // nil unless Options.Migrations was set
	Redis  *redis.Client // nil unless Options.Redis was set
	Keys   redisdb.Keys  // the service's Redis key prefix
	// Verifier checks the shell's signed Inlay-Context on fragment requests; nil unless
	// Options.Fragments was set.
	Verifier *fragments.Verifier
	// Tracing is the process's tracer provider (config.Tracing): the server's, the stores' and the
	// events' spans come from it. Pass it to whatever else makes spans (the fragments client).
	Tracing *tracing.Provider

	opts    Options
	workers []func(context.Context) error
	commits *events.CommitSignal // wakes the relay (Options.Events)
}

// poolConns bounds a service's PostgreSQL pool. pgx's default, max(4, CPUs), is 4 on two cores:
// exactly the event consumer's workers, so when PostgreSQL is slow the saga's transactions held every
// connection and requests queued behind them (issue 17: place-order under +500 ms). The consumer's 4
// workers and the relay leave 5 to requests.
const poolConns = 10

// Start opens the service's stores and builds its server with readiness checks on them.
func Start(ctx context.Context, opts Options) (*Service, error) {
	tp, err := tracing.New(ctx, opts.Name, opts.Common.Tracing)
	if err != nil {
		return nil, err
	}
	s := &Service{Name: opts.Name, Config: opts.Common, Log: opts.Log, opts: opts, Tracing: tp,
		Keys: redisdb.Keys(opts.Common.KeyPrefix(opts.Name))}
	s.Server = server.New(server.Options{Name: opts.Name, Log: opts.Log, BodyLimit: opts.Common.BodyLimit,
		StreamRequestBody: opts.StreamRequestBody, Problems: opts.Problems, ErrorPage: opts.ErrorPage,
		ReadBufferSize: opts.ReadBufferSize, AdminAddr: opts.AdminAddr, AdminReady: opts.AdminReady, Public: opts.Public,
		Drain: opts.Common.Drain, Tracer: tp})
	if opts.Fragments != nil {
		v, err := fragments.KeySetVerifier(opts.Fragments.PublicKeys(), opts.Common.Dev())
		if err != nil {
			s.Close()
			return nil, err
		}
		s.Verifier = v
	}
	if opts.Events && opts.Migrations == nil {
		s.Close()
		return nil, errors.New("kit: Options.Events needs the service's database (Options.Migrations)")
	}
	if opts.Migrations != nil {
		dbURL, err := opts.Common.DatabaseURL(opts.Name)
		if err != nil {
			s.Close()
			return nil, err
		}
		popts := postgres.Options{URL: dbURL, CreateDatabase: opts.Common.Dev(), Migrations: opts.Migrations, MaxConns: poolConns,
			Prepare: opts.Prepare}
		if tp.Exporting() {
			popts.Tracer = postgres.Tracer(tp)
		}
		if opts.Events {
			// The relay is woken by the commits of this process that write the outbox.
			s.commits = events.NewCommitSignal(popts.Tracer)
			popts.Tracer = s.commits
		}
		s.DB, err = postgres.Open(ctx, popts)
		if err != nil {
			s.Close()
			return nil, fmt.Errorf("%s database: %w", opts.Name, err)
		}
		s.Server.AddCheck("postgres", func(ctx context.Context) error { return s.DB.Ping(ctx) })
		if opts.Events {
			if err := events.Migrate(ctx, s.DB); err != nil {
				s.Close()
				return nil, fmt.Errorf("%s event tables: %w", opts.Name, err)
			}
			if len(opts.Prepare) > 0 {
				// The connections made before the event tables existed could not prepare the
				// outbox's statements: new ones can.
				s.DB.Reset()
			}
		}
	}
	if opts.Redis {
		var err error
		s.Redis, err = redisdb.Client(opts.Common.RedisURL)
		if err != nil {
			s.Close()
			return nil, err
		}
		// A Redis that does not answer at start is reported, not fatal: a restart or a new replica
		// during a Redis outage must still serve what it can (each caller has its fallback or its
		// error), and the client connects once Redis is back.
		pctx, cancel := context.WithTimeout(ctx, 2*time.Second)
		if err := s.Redis.Ping(pctx).Err(); err != nil {
			s.Log.Warn("redis does not answer; serving without it until it does", "error", err.Error())
		}
		cancel()
		if tp.Exporting() {
			if err := redisdb.Trace(s.Redis, tp); err != nil {
				s.Close()
				return nil, err
			}
		}
		// Reported, never failing readiness: every instance shares Redis, and a blip must not take them
		// all out of rotation (docs/architecture.md, "Readiness").
		s.Server.AddDegradedCheck("redis", func(ctx context.Context) error { return s.Redis.Ping(ctx).Err() })
	}
	return s, nil
}

// Relay publishes the service's outbox (Options.Events) to the exchange while the service runs.
func (s *Service) Relay() {
	relay := events.NewRelay(events.RelayOptions{Name: s.Name, Pool: s.DB, AMQPURL: s.Config.AMQPURL,
		Exchange: s.Config.Exchange, Log: s.Log, Registry: s.Server.Registry, Tracer: s.Tracing, Signal: s.commits})
	s.Go(relay.Run)
}

// Consumer returns the consumer of the service's own queue, on its database (Options.Events), broker,
// log and metrics: opts' Name (when empty), Pool, AMQPURL, Exchange, Log and Registry are set, the
// rest (BatchSize, OnSettled, ...) is the caller's. Register its handlers before Run: it runs with the
// service. Whether it consumes is the "events" check, reported by /readyz but failing only
// /readyz?full=1 (what a publisher's catch-up waits for): a RabbitMQ blip must not take every
// instance out of rotation.
func (s *Service) Consumer(opts events.ConsumerOptions) *events.Consumer {
	if opts.Name == "" {
		opts.Name = s.Name
	}
	opts.Pool, opts.AMQPURL, opts.Exchange = s.DB, s.Config.AMQPURL, s.Config.Exchange
	opts.Log, opts.Registry, opts.Tracer = s.Log, s.Server.Registry, s.Tracing
	c := events.NewConsumer(opts)
	s.Server.AddDegradedCheck("events", c.Ready)
	s.Go(c.Run)
	return c
}

// CatchUp runs c with the service, its Teams read from the team registry teams (INLAY_TEAMS): a
// publisher that has just seeded a fresh database republishes once its consumers are ready.
func (s *Service) CatchUp(teams string, c events.CatchUp) error {
	reg, err := fragments.ParseTeams(teams)
	if err != nil {
		return fmt.Errorf("INLAY_TEAMS: %w", err)
	}
	c.Teams = reg
	if c.Log == nil {
		c.Log = s.Log
	}
	s.Go(c.Run)
	return nil
}

// Go adds background work (a relay, a consumer) that runs with the server and stops with it. An error
// from it stops the whole service.
func (s *Service) Go(work func(ctx context.Context) error) {
	s.workers = append(s.workers, work)
}

// Run serves until ctx is done or a background worker fails, then shuts down gracefully.
func (s *Service) Run(ctx context.Context) error {
	g, ctx := errgroup.WithContext(ctx)
	g.Go(func() error {
		return s.Server.Serve(ctx, s.opts.Addr, s.Config.ShutdownTimeout, s.opts.Ready)
	})
	for _, w := range s.workers {
		g.Go(func() error { return w(ctx) })
	}
	err := g.Wait()
	if errors.Is(err, context.Canceled) {
		return nil
	}
	return err
}

// Close releases the service's stores and exports the spans still buffered.
func (s *Service) Close() {
	ctx, cancel := context.WithTimeout(context.Background(), tracing.ShutdownTimeout)
	defer cancel()
	if err := s.Tracing.Shutdown(ctx); err != nil && s.Log != nil {
		s.Log.Warn("trace export on close", "error", err.Error())
	}
	if s.DB != nil {
		s.DB.Close()
	}
	if s.Redis != nil {
		s.Redis.Close()
	}
}

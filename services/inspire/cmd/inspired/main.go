// Command inspired runs the inspire service: its own read model of variants, filled only from decide's
// events (an idempotent consumer), and the Recommendations fragment. Configuration: INSPIRE_ADDR
// (default :8104), INSPIRE_STATIC_URL and the common variables (services/kit/config).
package main

import (
	"context"
	"log/slog"

	"github.com/inlay-dev/inlay/fragments"
	"github.com/inlay-dev/inlay/services/inspire/api"
	inspireevents "github.com/inlay-dev/inlay/services/inspire/events"
	"github.com/inlay-dev/inlay/services/inspire/postgres"
	"github.com/inlay-dev/inlay/services/inspire/static"
	"github.com/inlay-dev/inlay/services/inspire/ui/recommendations"
	"github.com/inlay-dev/inlay/services/kit"
	"github.com/inlay-dev/inlay/services/kit/config"
	"github.com/inlay-dev/inlay/services/kit/events"
)

// Config is inspired's configuration.
type Config struct {
	config.Common
	config.FragmentServer
	// Addr is the listen address; ":0" picks a free port.
	Addr string `env:"INSPIRE_ADDR" envDefault:":8104"`
	// StaticURL is the public URL prefix of inspire's /static/ (the shell serves it at /static/inspire).
	StaticURL string `env:"INSPIRE_STATIC_URL" envDefault:"/static/inspire"`
}

func main() { kit.Main("inspire", run) }

func run(ctx context.Context, cfg Config, log *slog.Logger) error {
	svc, err := kit.Start(ctx, kit.Options{Name: "inspire", Addr: cfg.Addr, Common: cfg.Common, Log: log,
		Migrations: postgres.Migrations(), Events: true, Fragments: &cfg.FragmentServer})
	if err != nil {
		return err
	}
	defer svc.Close()
	store := postgres.NewStore(svc.DB)
	assets := static.New(cfg.StaticURL)

	inspireevents.Register(svc.Consumer(events.ConsumerOptions{}), store)

	app := svc.Server.App
	assets.Mount(app)
	fragments.ServeManifest(app, fragments.Manifest{Name: "inspire", Version: assets.Version(),
		Fragments: map[string]fragments.Fragment{recommendations.Name: recommendations.Manifest(assets.Stylesheet())}})
	frags := app.Group("/fragments", fragments.Middleware(svc.Verifier))
	frags.Get("/"+recommendations.Name, recommendations.Handler(store, assets.StylesheetURL()))
	// The /v1 JSON API for the BFFs.
	api.New(store).Mount(app)
	// Ready once its fragment has rendered (pool open, queries warm).
	svc.Server.AddCheck("warm", fragments.WarmUp(app, svc.Verifier, recommendations.Name+"?skus=AU-01-SI"))
	return svc.Run(ctx)
}

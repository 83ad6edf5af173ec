// Command decidebulk writes a large generated catalogue (services/decide/bulk) into decide's database
// through decide's own store, in batches: each batch is one transaction that writes its products and
// their product.created events to decide's outbox, which the running decided relays to every other
// team, exactly as the real catalogue enters. It is for load tests on fresh databases (INLAY_DB_PREFIX);
// it refuses INLAY_ENV=prod. Running it again with the same flags writes nothing.
//
//	decidebulk [-products 10000] [-variants 5] [-batch 500] [-seed 1]
//
// Configuration: the common variables (services/kit/config), above all INLAY_DB_PREFIX.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"time"

	"github.com/inlay-dev/inlay/services/decide/bulk"
	decideevents "github.com/inlay-dev/inlay/services/decide/events"
	"github.com/inlay-dev/inlay/services/decide/postgres"
	"github.com/inlay-dev/inlay/services/decide/static"
	"github.com/inlay-dev/inlay/services/kit"
	"github.com/inlay-dev/inlay/services/kit/config"
	"github.com/inlay-dev/inlay/services/kit/events"
)

// Config is decidebulk's configuration: the common variables only.
type Config struct {
	config.Common
}

func main() {
	args := os.Args[1:]
	kit.Main("decidebulk", func(ctx context.Context, cfg Config, log *slog.Logger) error {
		return run(ctx, cfg, log, args)
	})
}

func run(ctx context.Context, cfg Config, log *slog.Logger, args []string) error {
	fs := flag.NewFlagSet("decidebulk", flag.ContinueOnError)
	n := fs.Int("products", 10000, "products to write")
	variants := fs.Int("variants", 5, "variants per product")
	batch := fs.Int("batch", 500, "products per transaction")
	seed := fs.Uint64("seed", 1, "seed of the generated catalogue")
	staticURL := fs.String("static-url", "/static/decide", "public URL prefix of decide's assets (DECIDE_STATIC_URL of the running decided)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if !cfg.Dev() {
		return errors.New("decidebulk writes generated products: refused outside INLAY_ENV=dev")
	}
	if *batch < 1 {
		return fmt.Errorf("-batch %d: want at least 1", *batch)
	}
	products, err := bulk.Catalog(*n, *variants, *seed)
	if err != nil {
		return err
	}
	svc, err := kit.Start(ctx, kit.Options{Name: "decide", Addr: ":0", Common: cfg.Common, Log: log,
		Migrations: postgres.Migrations()})
	if err != nil {
		return err
	}
	defer svc.Close()
	if err := events.Migrate(ctx, svc.DB); err != nil {
		return err
	}
	store := postgres.NewStore(svc.DB, decideevents.NewPublisher(static.New(*staticURL)))
	start := time.Now()
	var total postgres.SeedResult
	for i := 0; i < len(products); i += *batch {
		res, err := store.Seed(ctx, products[i:min(i+*batch, len(products))])
		if err != nil {
			return fmt.Errorf("products %d..: %w", i, err)
		}
		total.Created += res.Created
		total.Updated += res.Updated
		total.Unchanged += res.Unchanged
	}
	log.Info("bulk catalogue written", "products", len(products), "variants", len(products)**variants,
		"created", total.Created, "updated", total.Updated, "unchanged", total.Unchanged,
		"seconds", time.Since(start).Seconds())
	return nil
}

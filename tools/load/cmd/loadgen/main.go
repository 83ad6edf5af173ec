// Command loadgen drives the storefront as shoppers use it (`make load`): new sessions of the default
// mix (60% browse, 20% search, 15% add to cart, 5% buy) arrive at -rate per second for -duration, each
// with its own cookie jar, sending the CSRF token and Sec-Fetch-Site as a browser would. It raises
// every sku's stock through inventory's admin API before the run and sets it back afterwards, so the
// run's purchases are given back and runs repeat. It refuses a target that is not a loopback address
// unless -allow-remote. A live line shows the progress; at the end the Markdown report (per page and
// per step: count, errors, p50/p90/p95/p99/max) and an SVG chart of throughput and p99 over time go
// to -out (report.md, chart.svg) and the report to stdout.
//
//	loadgen [-target http://127.0.0.1:8080] [-rate 20] [-duration 60s] [-mix browse=60,search=20,add=15,buy=5]
//
// It exits 1 when a request failed (so a script can tell a clean run), 2 on a usage or setup error.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"net/http"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/inlay-dev/inlay/tools/load"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	failed, err := run(ctx, os.Args[1:])
	if err != nil {
		fmt.Fprintln(os.Stderr, "loadgen:", err)
		os.Exit(2)
	}
	if failed {
		os.Exit(1)
	}
}

func run(ctx context.Context, args []string) (failed bool, err error) {
	fs := flag.NewFlagSet("loadgen", flag.ContinueOnError)
	target := fs.String("target", "http://127.0.0.1:8080", "the storefront's origin")
	allowRemote := fs.Bool("allow-remote", false, "allow a target (and inventory) that is not a loopback address")
	rate := fs.Float64("rate", 20, "new sessions per second")
	duration := fs.Duration("duration", 60*time.Second, "how long new sessions start")
	mixFlag := fs.String("mix", load.DefaultMix.String(), "share of each kind of session in percent")
	declined := fs.Float64("declined", 0.1, "share of orders paid with the declined test card")
	think := fs.Duration("think", 0, "pause before each page of a session")
	poll := fs.Duration("poll", 25*time.Millisecond, "how often the thank-you page's order status is polled")
	orderTimeout := fs.Duration("order-timeout", 30*time.Second, "longest wait for an order's final status")
	timeout := fs.Duration("timeout", 10*time.Second, "deadline of each request")
	maxActive := fs.Int("max-active", 2000, "most sessions running at once; more are not started and count as errors")
	drain := fs.Duration("drain", 30*time.Second, "longest wait for running sessions after -duration")
	seed := fs.Uint64("seed", uint64(time.Now().UnixNano()), "random seed of the sessions")
	out := fs.String("out", ".inlay/load", "directory for report.md and chart.svg")
	invURL := fs.String("inventory", "http://127.0.0.1:8105", "inventory's base URL (its /v1 API)")
	invToken := fs.String("inventory-token", load.EnvOr("INVENTORY_ADMIN_TOKEN", "dev-admin-token"), "inventory's admin token (default $INVENTORY_ADMIN_TOKEN)")
	topUp := fs.Int("topup", 1000, "stock added to every sku for the run and taken back after it; 0 leaves stock alone")
	if err := fs.Parse(args); err != nil {
		return false, err
	}
	mix, err := load.ParseMix(*mixFlag)
	if err != nil {
		return false, err
	}
	base, err := load.CheckTarget(ctx, *target, *allowRemote)
	if err != nil {
		return false, err
	}
	base.Path = ""
	if *declined < 0 || *declined > 1 {
		return false, fmt.Errorf("-declined %v: want a share between 0 and 1", *declined)
	}

	transport := &http.Transport{MaxIdleConns: 4096, MaxIdleConnsPerHost: 4096, IdleConnTimeout: 30 * time.Second,
		ResponseHeaderTimeout: *timeout}
	defer transport.CloseIdleConnections()

	if *topUp > 0 && mix[load.Buy]+mix[load.AddToCart] > 0 {
		if _, err := load.CheckTarget(ctx, strings.TrimRight(*invURL, "/"), *allowRemote); err != nil {
			return false, fmt.Errorf("-inventory: %w", err)
		}
		inv := load.Inventory{URL: *invURL, Token: *invToken, Client: &http.Client{Transport: transport, Timeout: *timeout}}
		guard, err := inv.Raise(ctx, *topUp)
		if err != nil {
			return false, err
		}
		fmt.Fprintf(os.Stderr, "stock of %d skus raised by %d for the run\n", guard.SKUs(), *topUp)
		defer func() {
			rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 2*time.Minute)
			defer cancel()
			if rerr := guard.Restore(rctx); rerr != nil {
				err = errors.Join(err, fmt.Errorf("give the stock back: %w", rerr))
				return
			}
			fmt.Fprintf(os.Stderr, "stock of %d skus set back to what it was before the run\n", guard.SKUs())
		}()
	}

	started := time.Now()
	gen := &load.Generator{
		Shopping: &load.Shopping{Base: base, Transport: transport, Recorder: load.NewRecorder(started),
			Declined: *declined, Poll: *poll, OrderTimeout: *orderTimeout, RequestTimeout: *timeout, Think: *think},
		Mix: mix, Rate: *rate, Duration: *duration, MaxActive: *maxActive, Drain: *drain, Seed: *seed,
		Progress: os.Stderr,
	}
	sum, err := gen.Run(ctx)
	if err != nil {
		return false, err
	}
	info := load.RunInfo{Target: base.String(), Rate: *rate, Duration: *duration, Mix: mix, Started: started,
		Command: "loadgen " + strings.Join(args, " ")}
	if err := writeOutputs(*out, info, sum); err != nil {
		return false, err
	}
	return sum.Total.Errors > 0, nil
}

func writeOutputs(dir string, info load.RunInfo, sum load.Summary) error {
	if err := os.MkdirAll(dir, 0o750); err != nil {
		return fmt.Errorf("output directory: %w", err)
	}
	var report strings.Builder
	if err := load.WriteReport(&report, info, sum); err != nil {
		return err
	}
	fmt.Print(report.String())
	if err := os.WriteFile(filepath.Join(dir, "report.md"), []byte(report.String()), 0o600); err != nil {
		return fmt.Errorf("write report: %w", err)
	}
	var chart strings.Builder
	title := fmt.Sprintf("%s: %.0f new sessions/s for %s", info.Target, info.Rate, info.Duration)
	if err := load.WriteChart(&chart, title, sum); err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(dir, "chart.svg"), []byte(chart.String()), 0o600); err != nil {
		return fmt.Errorf("write chart: %w", err)
	}
	fmt.Fprintf(os.Stderr, "report and chart in %s/ (report.md, chart.svg)\n", dir)
	return nil
}

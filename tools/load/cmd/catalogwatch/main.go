// Command catalogwatch measures how a catalogue spreads from decide to every team: it runs the command
// after -- (typically decidebulk, which writes a large catalogue through decide's outbox), samples every
// second decide's outbox (events waiting, relayed), each read model's variant count (explore, inspire,
// checkout, inventory) and each consumer's queue backlog (from its /metrics), and ends once the
// command has exited and every read model holds as many variants as decide. It prints a Markdown
// report: when each read model held all of it, the outbox and consumer figures over time.
//
//	catalogwatch [-prefix inlay_] [-out .inlay/load/catalog.md] -- bin/decidebulk -products 10000
//
// It reads POSTGRES_URL and INLAY_DB_PREFIX like the services (services/kit/config).
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"net/http"
	"os"
	"os/exec"
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
	if err := run(ctx, os.Args[1:]); err != nil {
		fmt.Fprintln(os.Stderr, "catalogwatch:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("catalogwatch", flag.ContinueOnError)
	prefix := fs.String("prefix", load.EnvOr("INLAY_DB_PREFIX", "inlay_"), "database prefix of the platform (default $INLAY_DB_PREFIX)")
	pg := fs.String("postgres", load.EnvOr("POSTGRES_URL", "postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable"), "PostgreSQL (default $POSTGRES_URL)")
	timeout := fs.Duration("timeout", 30*time.Minute, "give up after this long")
	out := fs.String("out", ".inlay/load/catalog.md", "where the Markdown report goes")
	if err := fs.Parse(args); err != nil {
		return err
	}
	cmdArgs := fs.Args()
	if len(cmdArgs) == 0 {
		return errors.New("no command after --: what writes the catalogue?")
	}
	ctx, cancel := context.WithTimeout(ctx, *timeout)
	defer cancel()
	watch := load.CatalogWatch{PostgresURL: *pg, DBPrefix: *prefix, Models: load.ReadModels,
		HTTP: &http.Client{Timeout: 2 * time.Second}}
	w, err := watch.Open(ctx)
	if err != nil {
		return err
	}
	defer w.Close(context.WithoutCancel(ctx))
	first, err := w.Sample(ctx)
	if err != nil {
		return err
	}

	cmd := exec.CommandContext(ctx, cmdArgs[0], cmdArgs[1:]...) //nolint:gosec // the operator's own command line
	cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr
	started := time.Now()
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("start %s: %w", cmdArgs[0], err)
	}
	cmdDone := make(chan error, 1)
	go func() { cmdDone <- cmd.Wait() }()
	var cmdTook time.Duration
	exited := false

	var samples []load.CatalogSample
	full := make([]time.Duration, len(load.ReadModels)) // when each read model held every variant
	tick := time.NewTicker(time.Second)
	defer tick.Stop()
	for {
		select {
		case err := <-cmdDone:
			if err != nil {
				return fmt.Errorf("%s: %w", cmdArgs[0], err)
			}
			exited, cmdTook = true, time.Since(started)
			cmdDone = nil
			continue
		case <-ctx.Done():
			return fmt.Errorf("read models not complete: %w", ctx.Err())
		case <-tick.C:
		}
		s, err := w.Sample(ctx)
		if err != nil {
			return err
		}
		s.At = time.Since(started)
		samples = append(samples, s)
		done := exited
		for i, n := range s.Rows {
			if n >= s.Variants && full[i] == 0 && exited {
				full[i] = s.At
			}
			done = done && n >= s.Variants
		}
		fmt.Fprintf(os.Stderr, "%5.0fs  decide %d variants, outbox %d waiting / %d relayed  read models %v  backlogs %v\n",
			s.At.Seconds(), s.Variants, s.Outbox, s.Relayed, s.Rows, s.Backlog)
		if done {
			break
		}
	}
	report := writeReport(strings.Join(cmdArgs, " "), first, samples, full, cmdTook)
	fmt.Print(report)
	if err := os.MkdirAll(filepath.Dir(*out), 0o750); err != nil {
		return err
	}
	return os.WriteFile(*out, []byte(report), 0o600)
}

func writeReport(command string, first load.CatalogSample, samples []load.CatalogSample, full []time.Duration, cmdTook time.Duration) string {
	last := samples[len(samples)-1]
	var b strings.Builder
	fmt.Fprintf(&b, "# Catalogue spread: %d → %d variants\n\n`%s` wrote %d variants (%d events relayed) in %.1f s.\n\n",
		first.Variants, last.Variants, command, last.Variants-first.Variants, last.Relayed-first.Relayed, cmdTook.Seconds())
	b.WriteString("| read model | holds every variant after |\n|---|--:|\n")
	for i, m := range load.ReadModels {
		fmt.Fprintf(&b, "| %s.%s | %.0f s |\n", m.Team, m.Table, full[i].Seconds())
	}
	var peakOutbox, peakRelay int64
	peakBacklog := make([]int64, len(load.ReadModels))
	prev := first
	for _, s := range samples {
		peakOutbox = max(peakOutbox, s.Outbox)
		peakRelay = max(peakRelay, s.Relayed-prev.Relayed)
		for i, q := range s.Backlog {
			peakBacklog[i] = max(peakBacklog[i], q)
		}
		prev = s
	}
	fmt.Fprintf(&b, "\nDecide's outbox: at most %d events waiting; the relay moved at most %d events in a second (%.0f/s on average).\n",
		peakOutbox, peakRelay, float64(last.Relayed-first.Relayed)/last.At.Seconds())
	b.WriteString("Consumers' largest queue backlog:")
	for i, m := range load.ReadModels {
		fmt.Fprintf(&b, " %s %d;", m.Team, peakBacklog[i])
	}
	b.WriteString("\n\n| s | decide variants | outbox waiting | relayed | ")
	for _, m := range load.ReadModels {
		b.WriteString(m.Team + " rows (backlog) | ")
	}
	b.WriteString("\n|--:|--:|--:|--:|" + strings.Repeat("--:|", len(load.ReadModels)) + "\n")
	step := max(len(samples)/30, 1)
	for i, s := range samples {
		if i%step != 0 && i != len(samples)-1 {
			continue
		}
		fmt.Fprintf(&b, "| %.0f | %d | %d | %d | ", s.At.Seconds(), s.Variants, s.Outbox, s.Relayed)
		for j := range s.Rows {
			fmt.Fprintf(&b, "%d (%d) | ", s.Rows[j], s.Backlog[j])
		}
		b.WriteString("\n")
	}
	return b.String()
}

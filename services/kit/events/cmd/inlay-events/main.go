// Command inlay-events inspects and replays a consumer service's parked events.
//
//	inlay-events parked list   -service explore [-limit 50] [-json]
//	inlay-events parked replay -service explore [-id <event id>]... (all when no -id)
//
// AMQP_URL and INLAY_EXCHANGE are read from the environment (defaults
// amqp://guest:guest@127.0.0.1:5672/ and inlay.events), -amqp and -exchange override them.
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"text/tabwriter"
	"time"

	"github.com/inlay-dev/inlay/services/kit/events"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "inlay-events:", err)
		os.Exit(1)
	}
}

const usage = `usage:
  inlay-events parked list   -service <name> [-limit n] [-json]
  inlay-events parked replay -service <name> [-id <event id>]...`

type idList []string

func (l *idList) String() string     { return strings.Join(*l, ",") }
func (l *idList) Set(v string) error { *l = append(*l, v); return nil }

func env(name, def string) string {
	if v := os.Getenv(name); v != "" {
		return v
	}
	return def
}

func run(ctx context.Context, args []string, out io.Writer) error {
	if len(args) < 2 || args[0] != "parked" || (args[1] != "list" && args[1] != "replay") {
		return errors.New(strings.TrimSpace(usage))
	}
	fs := flag.NewFlagSet("inlay-events parked "+args[1], flag.ContinueOnError)
	amqpURL := fs.String("amqp", env("AMQP_URL", "amqp://guest:guest@127.0.0.1:5672/"), "RabbitMQ URL")
	exchange := fs.String("exchange", env("INLAY_EXCHANGE", events.DefaultExchange), "event exchange")
	service := fs.String("service", "", "consumer service (its queue is <exchange>.<service>)")
	limit := fs.Int("limit", 100, "list at most this many (0: all)")
	asJSON := fs.Bool("json", false, "list as JSON lines")
	timeout := fs.Duration("timeout", 2*time.Minute, "give up after")
	var ids idList
	fs.Var(&ids, "id", "replay only this event id (repeatable)")
	if err := fs.Parse(args[2:]); err != nil {
		return err
	}
	if *service == "" {
		return errors.New("-service is required; " + strings.TrimSpace(usage))
	}
	ctx, cancel := context.WithTimeout(ctx, *timeout)
	defer cancel()

	switch args[1] {
	case "list":
		parked, err := events.ListParked(ctx, *amqpURL, *exchange, *service, *limit)
		if err != nil {
			return err
		}
		if *asJSON {
			enc := json.NewEncoder(out)
			for _, p := range parked {
				if err := enc.Encode(p); err != nil {
					return err
				}
			}
			return nil
		}
		tw := tabwriter.NewWriter(out, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "EVENT ID\tTYPE\tSUBJECT\tATTEMPTS\tPARKED AT\tREASON")
		for _, p := range parked {
			at := ""
			if !p.ParkedAt.IsZero() {
				at = p.ParkedAt.UTC().Format(time.RFC3339)
			}
			fmt.Fprintf(tw, "%s\t%s\t%s\t%d\t%s\t%s\n", p.EventID, p.Type, p.Subject, p.Attempts, at,
				strings.ReplaceAll(p.Reason, "\n", " "))
		}
		if err := tw.Flush(); err != nil {
			return err
		}
		fmt.Fprintf(out, "%d parked in %s\n", len(parked), events.ParkedQueueName(*exchange, *service))
		return nil
	default:
		n, err := events.ReplayParked(ctx, *amqpURL, *exchange, *service, ids...)
		fmt.Fprintf(out, "replayed %d to %s\n", n, events.QueueName(*exchange, *service))
		return err
	}
}

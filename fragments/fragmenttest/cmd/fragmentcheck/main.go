// Command fragmentcheck runs the fragment contract suite (package fragmenttest) against a running
// fragment server and exits non-zero when it does not conform.
//
//	go run ./fragments/fragmenttest/cmd/fragmentcheck -url http://127.0.0.1:8102 \
//		-params 'teaser:id=1' -params 'search:q=tractor' [-key BASE64_SEED] [-dev]
//
// With -key (default $INLAY_SHELL_PRIVATE_KEY), requests carry a context signed with it and the
// server must reject forged, expired and (unless -dev) missing ones.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/url"
	"os"
	"os/signal"
	"strings"
	"time"

	"github.com/inlay-dev/inlay/fragments"
	"github.com/inlay-dev/inlay/fragments/fragmenttest"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	code := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

// paramsFlag collects -params name:query values.
type paramsFlag []fragmenttest.Option

func (p *paramsFlag) String() string { return fmt.Sprintf("%d sets", len(*p)) }

func (p *paramsFlag) Set(s string) error {
	name, query, ok := strings.Cut(s, ":")
	if !ok || name == "" {
		return errors.New("want fragment:query, e.g. teaser:id=1&size=s")
	}
	v, err := url.ParseQuery(query)
	if err != nil {
		return fmt.Errorf("query %q: %w", query, err)
	}
	*p = append(*p, fragmenttest.Params(name, v))
	return nil
}

// run parses args, runs the suite and returns the exit code: 0 conforming, 1 not, 2 usage.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("fragmentcheck", flag.ContinueOnError)
	fs.SetOutput(stderr)
	base := fs.String("url", "", "base URL of the fragment server, e.g. http://127.0.0.1:8102 (required)")
	key := fs.String("key", os.Getenv("INLAY_SHELL_PRIVATE_KEY"), "base64 Ed25519 seed to sign contexts with (default $INLAY_SHELL_PRIVATE_KEY)")
	dev := fs.Bool("dev", false, "the server runs in dev mode and serves requests without a context")
	locale := fs.String("locale", "en", "locale of the signed context and Accept-Language")
	cart := fs.String("cart", "", "cart id of the signed context")
	customer := fs.String("customer", "", "customer id of the signed context")
	timeout := fs.Duration("timeout", 10*time.Second, "deadline of each request")
	verbose := fs.Bool("v", false, "print passed and skipped checks too")
	idPrefix := fs.String("id-prefix", "", "the prefix every id of the team's fragments starts with (default: the manifest's name and \"-\")")
	var params paramsFlag
	fs.Var(&params, "params", "fragment:query to request a fragment with (repeatable; each is checked)")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if *base == "" {
		fmt.Fprintln(stderr, "fragmentcheck: -url is required")
		fs.Usage()
		return 2
	}
	opts := append([]fragmenttest.Option{
		fragmenttest.Timeout(*timeout),
		fragmenttest.Context(fragments.Context{Locale: *locale, CartID: *cart, CustomerID: *customer}),
	}, params...)
	if *key != "" {
		priv, err := fragments.ParsePrivateKey(*key)
		if err != nil {
			fmt.Fprintf(stderr, "fragmentcheck: -key: %v\n", err)
			return 2
		}
		opts = append(opts, fragmenttest.Signer(fragments.NewSigner(priv)))
	}
	if *dev {
		opts = append(opts, fragmenttest.AllowUnsigned())
	}
	if *idPrefix != "" {
		opts = append(opts, fragmenttest.IDPrefix(*idPrefix))
	}

	failed, total := 0, 0
	for _, f := range fragmenttest.Check(ctx, *base, opts...) {
		total++
		if f.Failed() {
			failed++
		}
		if f.Failed() || *verbose {
			fmt.Fprintln(stdout, f)
		}
	}
	if failed > 0 {
		fmt.Fprintf(stdout, "%s: %d of %d checks failed\n", *base, failed, total)
		return 1
	}
	fmt.Fprintf(stdout, "%s: all %d checks passed\n", *base, total)
	return 0
}

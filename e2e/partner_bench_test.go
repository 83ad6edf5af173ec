//go:build e2e

package e2e

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"
)

// BenchmarkPartnerPages is issue 15's row of `make bench`: the Product Card as a partner gets it —
// from bff/embed (/embed/v1/decide/product-card, secret key), on deploy/nginx's SSI page and on
// deploy/varnish's ESI page — beside the shell composing the same fragment (a page file holding only
// the card, nested recommendations resolved by the same engine) and the shell's product page, all on
// one platform in one run, with the deployment's defaults (fragment caches on). Each target gets
// `wrk -t1 -c32 -d${INLAY_BENCH_D:-8}s --latency`, in INLAY_BENCH_ROUNDS (default 1) interleaved
// rounds; the Markdown table goes to INLAY_BENCH_OUT (default stdout). It runs once, whatever b.N:
//
//	go test -tags e2e -run '^$' -bench PartnerPages -benchtime 1x ./e2e/
//
// (scripts/bench-partner.sh, part of `make bench`). wrk must be installed (shell/bench/ensure-tools.sh).
func BenchmarkPartnerPages(b *testing.B) {
	wrk, err := exec.LookPath("wrk")
	if err != nil {
		b.Fatalf("wrk is not installed (shell/bench/ensure-tools.sh installs it): %v", err)
	}
	pages := proxyDir(b, "pages")
	card := `<!doctype html><html><head><title>card</title></head><body>` +
		`<inlay-fragment src="decide/product-card?sku=CL-01-GY" primary></inlay-fragment></body></html>`
	if err := os.WriteFile(filepath.Join(pages, "bench-card.html"), []byte(card), 0o644); err != nil {
		b.Fatal(err)
	}
	p := Start(b, WithEnv("INLAY_PAGES_DIR="+pages, "LOG_LEVEL=warn"))
	// The limit must not be what is measured: the most a partner may have (1,000,000 a minute), far above what wrk sends.
	keys := addPartnerRate(b, p, "bench", 1_000_000)
	waitEmbedReady(b, p, keys.secret, "CL-01-GY")
	embedAddr := strings.TrimPrefix(p.URLs["embed"], "http://")
	nginx := startNginx(b, embedAddr, keys.secret)
	varnish := startVarnish(b, embedAddr, keys.secret)

	type target struct {
		name, url, header, want string
	}
	const cardMark = `data-testid="inspire-recommendation"`
	targets := []target{
		{"shell: page of the card alone", p.Shell + "/bench-card", "", cardMark},
		{"shell: product page", p.Shell + "/product/CL-01?sku=CL-01-GY", "", `data-testid="inspire-recommendation"`},
		{"embed: /embed/v1/decide/product-card", p.URLs["embed"] + "/embed/v1/decide/product-card?sku=CL-01-GY",
			"Inlay-Partner-Secret: " + keys.secret, cardMark},
		{"nginx SSI partner page", nginx + "/", "", cardMark},
		{"Varnish ESI partner page", varnish + "/", "", cardMark},
	}
	// Each target must answer the whole card (recommendations nested) before it is timed: a fallback
	// is fast, and would be measured instead.
	for _, tg := range targets {
		sfEventually(b, sfSettle, tg.name+" answers the card", func() (bool, string) {
			status, body, err := benchGet(tg.url, tg.header)
			if err != nil {
				return false, err.Error()
			}
			return status == 200 && strings.Contains(body, tg.want), fmt.Sprintf("%d %.300s", status, body)
		})
	}

	d := envOr("INLAY_BENCH_D", "8")
	rounds := 1
	if v := os.Getenv("INLAY_BENCH_ROUNDS"); v != "" {
		if _, err := fmt.Sscan(v, &rounds); err != nil || rounds < 1 {
			b.Fatalf("INLAY_BENCH_ROUNDS=%q", v)
		}
	}
	var out bytes.Buffer
	fmt.Fprintf(&out, "Partner pages and bff/embed beside the shell (e2e BenchmarkPartnerPages, wrk -t1 -c32 -d%ss --latency, %d round(s), fragment caches on)\n\n", d, rounds)
	out.WriteString("| round | target | req/s | p50 | p99 | non-2xx | load average (1 min) after |\n|---|---|--:|--:|--:|--:|--:|\n")
	b.ResetTimer()
	for r := 1; r <= rounds; r++ {
		for _, tg := range targets {
			args := []string{"-t1", "-c32", "-d" + d + "s", "--latency"}
			if tg.header != "" {
				args = append(args, "-H", tg.header)
			}
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
			res, err := exec.CommandContext(ctx, wrk, append(args, tg.url)...).CombinedOutput()
			cancel()
			if err != nil {
				b.Fatalf("wrk %s: %v\n%s", tg.name, err, res)
			}
			w := parseWrk(string(res))
			fmt.Fprintf(&out, "| %d | %s | %s | %s | %s | %s | %s |\n", r, tg.name, w["rps"], w["p50"], w["p99"], w["bad"], loadAvg())
		}
	}
	b.StopTimer()
	if f := os.Getenv("INLAY_BENCH_OUT"); f != "" {
		if err := os.WriteFile(f, out.Bytes(), 0o644); err != nil {
			b.Fatal(err)
		}
		return
	}
	fmt.Print(out.String())
}

// benchGet GETs u with one optional "Name: value" header.
func benchGet(u, header string) (int, string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	args := []string{"-sS", "-o", "-", "-w", "\n%{http_code}", "--max-time", "10"}
	if header != "" {
		args = append(args, "-H", header)
	}
	out, err := exec.CommandContext(ctx, "curl", append(args, u)...).Output()
	if err != nil {
		return 0, "", err
	}
	s := string(out)
	i := strings.LastIndexByte(s, '\n')
	var status int
	_, _ = fmt.Sscan(s[i+1:], &status)
	return status, s[:i], nil
}

var (
	wrkRPS     = regexp.MustCompile(`Requests/sec:\s+(\S+)`)
	wrkLatency = regexp.MustCompile(`(?m)^\s+(50|99)%\s+(\S+)`)
	wrkBad     = regexp.MustCompile(`Non-2xx or 3xx responses:\s+(\d+)`)
)

// parseWrk picks req/s, p50, p99 and the non-2xx count out of wrk --latency's report.
func parseWrk(s string) map[string]string {
	m := map[string]string{"rps": "?", "p50": "?", "p99": "?", "bad": "0"}
	if r := wrkRPS.FindStringSubmatch(s); r != nil {
		m["rps"] = r[1]
	}
	for _, r := range wrkLatency.FindAllStringSubmatch(s, -1) {
		m["p"+r[1]] = r[2]
	}
	if r := wrkBad.FindStringSubmatch(s); r != nil {
		m["bad"] = r[1]
	}
	return m
}

// loadAvg is the machine's 1-minute load average.
func loadAvg() string {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return "?"
	}
	return strings.Fields(string(b))[0]
}

func envOr(k, def string) string {
	if v := os.Getenv(k); v != "" {
		return v
	}
	return def
}

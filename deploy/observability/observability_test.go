// Package observability holds the Grafana dashboard and the Prometheus alert rules (issue 19); its
// test checks that the rules parse and that every metric they and the dashboard name is one a
// process registers.
package observability

import (
	"encoding/json"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/prometheus/common/model"
	"github.com/prometheus/prometheus/model/rulefmt"
	"github.com/prometheus/prometheus/promql/parser"
)

// registered lists the metric names the processes register: the Name of every prometheus.*Opts and
// every NewDesc in the module's Go code (not its tests).
func registered(t *testing.T) map[string]bool {
	t.Helper()
	re := regexp.MustCompile(`(?:Name:\s*|NewDesc\()"([a-z_][a-z0-9_]*)"`)
	names := map[string]bool{}
	root := filepath.Join("..", "..")
	err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			if n := d.Name(); n != "." && n != ".." && (strings.HasPrefix(n, ".") || n == "testdata" || n == "node_modules") {
				return filepath.SkipDir
			}
			return nil
		}
		if !strings.HasSuffix(path, ".go") || strings.HasSuffix(path, "_test.go") {
			return nil
		}
		b, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		for _, m := range re.FindAllSubmatch(b, -1) {
			if strings.HasPrefix(string(m[1]), "inlay_") {
				names[string(m[1])] = true
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if !names["inlay_http_request_duration_seconds"] || !names["inlay_events_outbox_oldest_age_seconds"] {
		t.Fatalf("the scan found too few metrics: %v", names)
	}
	return names
}

// metricsOf parses expr and returns the metric names it selects.
func metricsOf(t *testing.T, p parser.Parser, expr string) []string {
	t.Helper()
	e, err := p.ParseExpr(expr)
	if err != nil {
		t.Errorf("%q: %v", expr, err)
		return nil
	}
	var out []string
	parser.Inspect(e, func(n parser.Node, _ []parser.Node) error {
		if vs, ok := n.(*parser.VectorSelector); ok {
			out = append(out, vs.Name)
		}
		return nil
	})
	return out
}

// known reports a selected name as registered: a histogram's series carry _bucket, _sum and _count.
func known(names map[string]bool, name string) bool {
	if names[name] {
		return true
	}
	for _, suffix := range []string{"_bucket", "_sum", "_count"} {
		if base, ok := strings.CutSuffix(name, suffix); ok && names[base] {
			return true
		}
	}
	return false
}

func TestAlertRules(t *testing.T) {
	names := registered(t)
	groups, errs := rulefmt.ParseFile("alerts.yml", false, model.UTF8Validation, parser.NewParser(parser.Options{}), slog.New(slog.DiscardHandler))
	for _, err := range errs {
		t.Fatalf("alerts.yml: %v", err)
	}
	p := parser.NewParser(parser.Options{})
	alerts := map[string]bool{}
	for _, g := range groups.Groups {
		for _, r := range g.Rules {
			alerts[r.Alert] = true
			for _, m := range metricsOf(t, p, r.Expr) {
				if !known(names, m) {
					t.Errorf("alert %s names %s, which no process registers", r.Alert, m)
				}
			}
		}
	}
	for _, want := range []string{"InlayFragmentBreakerOpen", "InlayOutboxStuck", "InlayParkedEvents", "InlaySagaCancellations", "InlayPagesShed"} {
		if !alerts[want] {
			t.Errorf("no alert %s", want)
		}
	}
}

func TestDashboard(t *testing.T) {
	names := registered(t)
	b, err := os.ReadFile("dashboard.json")
	if err != nil {
		t.Fatal(err)
	}
	var d struct {
		Title  string `json:"title"`
		Panels []struct {
			Title   string `json:"title"`
			Targets []struct {
				Expr string `json:"expr"`
			} `json:"targets"`
		} `json:"panels"`
	}
	if err := json.Unmarshal(b, &d); err != nil {
		t.Fatalf("dashboard.json: %v", err)
	}
	p := parser.NewParser(parser.Options{})
	used := map[string]bool{}
	for _, panel := range d.Panels {
		if len(panel.Targets) == 0 {
			t.Errorf("panel %q has no query", panel.Title)
		}
		for _, tg := range panel.Targets {
			for _, m := range metricsOf(t, p, tg.Expr) {
				used[m] = true
				if !known(names, m) {
					t.Errorf("panel %q names %s, which no process registers", panel.Title, m)
				}
			}
		}
	}
	// The signals the issue asks for: page latency, fragment outcomes per team, breaker state,
	// outbox backlog and oldest age, consumer lag, parked events, saga outcomes.
	for _, want := range []string{"inlay_page_duration_seconds_bucket", "inlay_fragment_duration_seconds_count",
		"inlay_fragment_breaker_state", "inlay_events_outbox_backlog", "inlay_events_outbox_oldest_age_seconds",
		"inlay_events_consume_lag_seconds_bucket", "inlay_events_parked_messages", "inlay_events_published_total"} {
		if !used[want] {
			t.Errorf("the dashboard shows no %s", want)
		}
	}
}

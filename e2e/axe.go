package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/emulation"
	"github.com/chromedp/chromedp"
)

// axeDir holds axe-core's package.json and package-lock.json (axe-core pinned at 4.x); npm ci
// installs it into axeDir/node_modules on first use.
const axeDir = "axe"

// npmTimeout bounds installing axe-core from the npm registry.
const npmTimeout = 3 * time.Minute

// axeScript is axe-core's source, read (and installed with npm ci when missing) once per test binary.
var axeScript struct {
	once sync.Once
	src  string
	err  error
}

// loadAxe returns axe.min.js, running `npm ci` in axeDir first when it is not installed.
func loadAxe() (string, error) {
	axeScript.once.Do(func() {
		file := filepath.Join(axeDir, "node_modules", "axe-core", "axe.min.js")
		if _, err := os.Stat(file); err != nil {
			ctx, cancel := context.WithTimeout(context.Background(), npmTimeout)
			defer cancel()
			cmd := exec.CommandContext(ctx, "npm", "ci", "--no-audit", "--no-fund", "--ignore-scripts")
			cmd.Dir = axeDir
			if out, err := cmd.CombinedOutput(); err != nil {
				axeScript.err = fmt.Errorf("install axe-core (npm ci in e2e/%s; needs Node.js and the npm registry): %w\n%s", axeDir, err, out)
				return
			}
		}
		b, err := os.ReadFile(file)
		if err != nil {
			axeScript.err = fmt.Errorf("read axe-core: %w", err)
			return
		}
		axeScript.src = string(b)
	})
	return axeScript.src, axeScript.err
}

// noScripts marks a tab context whose page runs no scripts (DisableJavaScript).
type noScripts struct{}

// DisableJavaScript turns script execution off in tab's page, for this and every later navigation
// of the tab, as a shopper without JavaScript sees the storefront, and returns the tab's context
// marked so (CheckAccessibility needs to know). The tests' own Evaluate calls still run.
func DisableJavaScript(t testing.TB, tab context.Context) context.Context {
	t.Helper()
	setScripts(t, tab, false)
	return context.WithValue(tab, noScripts{}, true)
}

func setScripts(t testing.TB, tab context.Context, on bool) {
	t.Helper()
	if _, err := chromedp.Call(tab, emulation.SetScriptExecutionDisabled, emulation.SetScriptExecutionDisabledParams{Value: !on}); err != nil {
		t.Fatalf("script execution on=%v: %v", on, err)
	}
}

// A11yReport is what CheckAccessibility found on a page.
type A11yReport struct {
	AxeVersion string          `json:"axeVersion"`
	Violations []AxeViolation  `json:"violations"` // serious and critical only
	H1         int             `json:"h1"`
	Duplicates []string        `json:"duplicates"` // ids used more than once
	Scripts    bool            `json:"scripts"`    // whether the page's own scripts ran
	URL        string          `json:"url"`
	Raw        json.RawMessage `json:"-"`
}

// AxeViolation is one axe-core rule a page breaks, with the elements at fault.
type AxeViolation struct {
	ID     string   `json:"id"`
	Impact string   `json:"impact"`
	Help   string   `json:"help"`
	Nodes  []string `json:"nodes"`
}

// axeRun runs axe-core over the document and reports, with the page's headings and ids.
const axeRun = `(async () => {
	const res = await axe.run(document, { resultTypes: ["violations"] });
	const seen = new Map();
	for (const e of document.querySelectorAll("[id]")) seen.set(e.id, (seen.get(e.id) ?? 0) + 1);
	return {
		axeVersion: axe.version,
		url: location.href,
		violations: res.violations
			.filter((v) => v.impact === "serious" || v.impact === "critical")
			.map((v) => ({ id: v.id, impact: v.impact, help: v.help,
				nodes: v.nodes.slice(0, 5).map((n) => n.target.join(" ") + " " + (n.failureSummary ?? "").replace(/\s+/g, " ")) })),
		h1: document.querySelectorAll("h1").length,
		duplicates: [...seen].filter(([, n]) => n > 1).map(([id]) => id),
		scripts: !!(document.documentElement.dataset.checkoutScript || document.documentElement.dataset.exploreStorePicker),
	};
})()`

// CheckAccessibility runs axe-core (4.x) over the page open in tab and fails t, naming the page, on
// a serious or critical violation, on a page without exactly one <h1> and on an id used twice.
func CheckAccessibility(t testing.TB, tab context.Context, page string) A11yReport {
	t.Helper()
	src, err := loadAxe()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := chromedp.Run(tab, chromedp.Evaluate[bool](src+";\ntypeof axe === 'object'")); err != nil {
		t.Fatalf("%s: load axe-core: %v", page, err)
	}
	// axe.run waits on timers, which a page without scripts never fires: scripts go on for the run.
	// The page's own scripts stay unrun (they were skipped while it loaded), so axe sees the page as
	// a shopper without JavaScript does.
	if off, _ := tab.Value(noScripts{}).(bool); off {
		setScripts(t, tab, true)
		defer setScripts(t, tab, false)
	}
	r, err := chromedp.Run(tab, chromedp.Evaluate[A11yReport](axeRun, chromedp.EvalAwaitPromise))
	if err != nil {
		t.Fatalf("%s: run axe-core: %v", page, err)
	}
	if !strings.HasPrefix(r.AxeVersion, "4.") {
		t.Fatalf("axe-core %s, want 4.x", r.AxeVersion)
	}
	for _, v := range r.Violations {
		t.Errorf("%s (%s): axe %s (%s): %s\n\t%s", page, r.URL, v.ID, v.Impact, v.Help, strings.Join(v.Nodes, "\n\t"))
	}
	if r.H1 != 1 {
		t.Errorf("%s (%s): %d <h1>, want exactly one", page, r.URL, r.H1)
	}
	if len(r.Duplicates) > 0 {
		t.Errorf("%s (%s): ids used more than once: %q", page, r.URL, r.Duplicates)
	}
	return r
}

package archtest

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"os/exec"
	"slices"
	"strings"
	"testing"
	"time"
)

const module = "github.com/inlay-dev/inlay"

// TestTeamsAreIndependent checks the rule on the whole module: every package, every build tag the
// repository uses, and the imports of its tests.
func TestTeamsAreIndependent(t *testing.T) {
	pkgs := listPackages(t, true)
	if len(pkgs) < 5 {
		t.Fatalf("go list found %d packages; expected the whole module", len(pkgs))
	}
	for _, v := range Check(module, pkgs) {
		t.Errorf("%s: teams speak HTTP and events to each other, never Go imports (docs/architecture.md)", v)
	}
}

func TestCheck(t *testing.T) {
	t.Parallel()
	m := module
	tests := []struct {
		name string
		pkgs []Package
		want []string
	}{
		{name: "team imports kit and fragments",
			pkgs: []Package{{m + "/services/decide/cmd/decided", []string{m + "/services/kit", m + "/services/kit/events", m + "/fragments", "fmt"}}}},
		{name: "team imports itself",
			pkgs: []Package{{m + "/services/decide/cmd/decided", []string{m + "/services/decide", m + "/services/decide/postgres"}}}},
		{name: "team imports another team",
			pkgs: []Package{{m + "/services/checkout/events", []string{m + "/services/decide/events"}}},
			want: []string{m + "/services/checkout/events imports " + m + "/services/decide/events"}},
		{name: "shell imports a team",
			pkgs: []Package{{m + "/shell/server", []string{m + "/services/explore"}}},
			want: []string{m + "/shell/server imports " + m + "/services/explore"}},
		{name: "bff imports a team",
			pkgs: []Package{{m + "/bff/mobile", []string{m + "/services/kit", m + "/services/decide/api"}}},
			want: []string{m + "/bff/mobile imports " + m + "/services/decide/api"}},
		{name: "kit imports a team",
			pkgs: []Package{{m + "/services/kit/events", []string{m + "/services/checkout"}}},
			want: []string{m + "/services/kit/events imports " + m + "/services/checkout"}},
		{name: "a name that only starts like a team",
			pkgs: []Package{{m + "/services/decidex", []string{m + "/services/decide"}}},
			want: []string{m + "/services/decidex imports " + m + "/services/decide"}},
		{name: "the platform's end-to-end tests read a team's seed",
			pkgs: []Package{{m + "/e2e", []string{m + "/services/decide/seed", m + "/services/explore/seed"}}}},
		{name: "a package only named like e2e",
			pkgs: []Package{{m + "/e2etools", []string{m + "/services/decide"}}},
			want: []string{m + "/e2etools imports " + m + "/services/decide"}},
		{name: "shell and bffs import kit and fragments",
			pkgs: []Package{{m + "/shell/server", []string{m + "/services/kit/server", m + "/fragments"}}, {m + "/bff/embed", []string{m + "/services/kit"}}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			var got []string
			for _, v := range Check(module, tt.pkgs) {
				got = append(got, v.String())
			}
			if !slices.Equal(got, tt.want) {
				t.Errorf("Check = %q, want %q", got, tt.want)
			}
		})
	}
}

// listPackages lists the module's packages with `go list`, the e2e tag on so the end-to-end tests are
// checked too; withTests adds their tests' imports.
func listPackages(t *testing.T, withTests bool) []Package {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, "go", "list", "-e", "-tags", "e2e", "-json=ImportPath,Imports,TestImports,XTestImports,Error", module+"/...")
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("go list: %v\n%s", err, stderr.String())
	}
	var pkgs []Package
	dec := json.NewDecoder(&stdout)
	for {
		var p struct {
			ImportPath                         string
			Imports, TestImports, XTestImports []string
			Error                              *struct{ Err string }
		}
		if err := dec.Decode(&p); errors.Is(err, io.EOF) {
			break
		} else if err != nil {
			t.Fatalf("decode go list output: %v", err)
		}
		if p.Error != nil && !strings.Contains(p.Error.Err, "build constraints exclude all Go files") {
			t.Errorf("go list %s: %s", p.ImportPath, p.Error.Err)
		}
		imports := p.Imports
		if withTests {
			imports = slices.Concat(p.Imports, p.TestImports, p.XTestImports)
		}
		pkgs = append(pkgs, Package{ImportPath: p.ImportPath, Imports: imports})
	}
	return pkgs
}

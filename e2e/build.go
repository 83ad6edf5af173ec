package e2e

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/inlay-dev/inlay/internal/procfile"
)

// buildTimeout bounds building every binary (cold, on two cores).
const buildTimeout = 5 * time.Minute

// binaries are the platform's process binaries, built once per test binary.
type binaries struct {
	root   string            // the module root
	module string            // the module path
	dir    string            // where the binaries are
	pkgs   map[string]string // binary name (shelld) -> import path
}

// path returns the built binary of the given name.
func (b *binaries) path(name string) (string, bool) {
	if _, ok := b.pkgs[name]; !ok {
		return "", false
	}
	return filepath.Join(b.dir, name), true
}

// isTeam reports whether the binary is a team's service (services/<context>/cmd/...), which makes it
// part of the team registry the shell and the BFFs get.
func (b *binaries) isTeam(name string) bool {
	return strings.HasPrefix(b.pkgs[name], b.module+"/services/")
}

// built is the one build shared by every test of the test binary: building ten binaries takes long,
// and they do not change while the tests run. Main removes the directory at the end.
var built struct {
	once sync.Once
	bins *binaries
	err  error
}

// build builds the binaries on first use and returns them.
func build() (*binaries, error) {
	built.once.Do(func() { built.bins, built.err = buildAll() })
	return built.bins, built.err
}

func buildAll() (*binaries, error) {
	ctx, cancel := context.WithTimeout(context.Background(), buildTimeout)
	defer cancel()
	gomod, err := goCmd(ctx, "", "env", "GOMOD")
	if err != nil {
		return nil, err
	}
	gomod = strings.TrimSpace(gomod)
	if gomod == "" || gomod == os.DevNull {
		return nil, fmt.Errorf("not inside the inlay module")
	}
	b := &binaries{root: filepath.Dir(gomod), pkgs: map[string]string{}}
	mod, err := goCmd(ctx, b.root, "list", "-m")
	if err != nil {
		return nil, err
	}
	b.module = strings.TrimSpace(mod)
	list, err := goCmd(ctx, b.root, "list", "-f", `{{if eq .Name "main"}}{{.ImportPath}}{{end}}`,
		"./shell/...", "./services/...", "./bff/...")
	if err != nil {
		return nil, err
	}
	procs, err := procfile.ParseFile(filepath.Join(b.root, "deploy", "Procfile"))
	if err != nil {
		return nil, err
	}
	// Only the binaries the Procfile runs; tools under cmd/ (event replay, benchmarks) are not needed.
	var pkgs []string
	for _, p := range strings.Fields(list) {
		name := path.Base(p)
		if strings.Contains(p, "/cmd/") && slices.ContainsFunc(procs, func(pr procfile.Process) bool { return pr.Binary() == name }) {
			pkgs = append(pkgs, p)
			b.pkgs[name] = p
		}
	}
	if len(pkgs) == 0 {
		return nil, fmt.Errorf("no cmd package under shell/, services/ or bff/ builds a binary of deploy/Procfile")
	}
	b.dir, err = os.MkdirTemp("", "inlay-e2e-bin-")
	if err != nil {
		return nil, fmt.Errorf("binary directory: %w", err)
	}
	if _, err := goCmd(ctx, b.root, append([]string{"build", "-o", b.dir + "/"}, pkgs...)...); err != nil {
		os.RemoveAll(b.dir)
		return nil, err
	}
	return b, nil
}

func goCmd(ctx context.Context, dir string, args ...string) (string, error) {
	cmd := exec.CommandContext(ctx, "go", args...)
	cmd.Dir = dir
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		return "", fmt.Errorf("go %s: %w\n%s", strings.Join(args, " "), err, stderr.String())
	}
	return stdout.String(), nil
}

// Main runs the package's tests and then removes the binaries Start built. A test package that
// uses Start calls it from TestMain:
//
//	func TestMain(m *testing.M) { e2e.Main(m) }
func Main(m *testing.M) {
	code := m.Run()
	// Every test has ended, so the build (if any test started one) is complete.
	if built.bins != nil {
		os.RemoveAll(built.bins.dir)
	}
	os.Exit(code)
}

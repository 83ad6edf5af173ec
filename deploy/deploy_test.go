package deploy

import (
	"bytes"
	"io/fs"
	"maps"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/inlay-dev/inlay/fragments"
	"github.com/inlay-dev/inlay/internal/procfile"
)

// process is what the deploy files must agree on for one Procfile line.
type process struct {
	name, binary, addrVar string
	port                  int
	team                  bool // a team's service (services/<context>/cmd/...): part of INLAY_TEAMS
}

func loadProcfile(t *testing.T) []process {
	t.Helper()
	procs, err := procfile.ParseFile("Procfile")
	if err != nil {
		t.Fatal(err)
	}
	cmds := cmdDirs(t)
	var out []process
	for _, p := range procs {
		addrVar, _, _ := p.AddrVar()
		port, err := p.Port()
		if err != nil {
			t.Fatalf("Procfile: %v", err)
		}
		dir, ok := cmds[p.Binary()]
		if !ok {
			t.Errorf("Procfile: %s runs %s, but no */cmd/%s package exists", p.Name, p.Command[0], p.Binary())
		}
		if p.Command[0] != "bin/"+p.Binary() {
			t.Errorf("Procfile: %s runs %s, want bin/%s (make build writes there)", p.Name, p.Command[0], p.Binary())
		}
		out = append(out, process{name: p.Name, binary: p.Binary(), addrVar: addrVar, port: port,
			team: strings.HasPrefix(dir, filepath.Join("..", "services")+string(filepath.Separator))})
	}
	return out
}

// cmdDirs maps each binary the repository builds (shell/cmd/shelld -> shelld) to its directory.
func cmdDirs(t *testing.T) map[string]string {
	t.Helper()
	dirs := map[string]string{}
	for _, root := range []string{"shell", "services", "bff"} {
		err := filepath.WalkDir(filepath.Join("..", root), func(path string, d fs.DirEntry, err error) error {
			if err != nil {
				return err
			}
			if d.IsDir() && filepath.Base(filepath.Dir(path)) == "cmd" {
				dirs[d.Name()] = path
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	return dirs
}

func TestProcfile(t *testing.T) {
	procs := loadProcfile(t)
	ports := map[int]string{}
	var names []string
	for _, p := range procs {
		names = append(names, p.name)
		if other, dup := ports[p.port]; dup {
			t.Errorf("Procfile: %s and %s both use port %d", other, p.name, p.port)
		}
		ports[p.port] = p.name
		// The binary's own default must be the port the Procfile gives it, so running it alone
		// behaves like `make run`.
		if def, ok := envDefault(t, p.addrVar); ok && def != ":"+strconv.Itoa(p.port) {
			t.Errorf("%s defaults to %q in Go, but the Procfile sets :%d", p.addrVar, def, p.port)
		}
	}
	for _, want := range []string{"shell", "mobile", "embed"} {
		if !slices.Contains(names, want) {
			t.Errorf("Procfile has no %s process", want)
		}
	}
}

// envDefault finds `env:"VAR" envDefault:"value"` in the repository's Go files.
func envDefault(t *testing.T, variable string) (string, bool) {
	t.Helper()
	re := regexp.MustCompile(`env:"` + regexp.QuoteMeta(variable) + `"\s+envDefault:"([^"]*)"`)
	var found string
	var ok bool
	err := filepath.WalkDir("..", func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() && path != ".." && (strings.HasPrefix(d.Name(), ".") || d.Name() == "bin" || d.Name() == "node_modules") {
			return filepath.SkipDir
		}
		if ok || d.IsDir() || !strings.HasSuffix(path, ".go") || strings.HasSuffix(path, "_test.go") {
			return nil
		}
		b, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		if m := re.FindSubmatch(b); m != nil {
			found, ok = string(m[1]), true
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return found, ok
}

// teamsValue is INLAY_TEAMS as a deployment with one host per process must set it.
func teamsValue(procs []process) string {
	var pairs []string
	for _, p := range procs {
		if p.team {
			pairs = append(pairs, p.name+"=http://"+p.name+":"+strconv.Itoa(p.port))
		}
	}
	return strings.Join(pairs, ",")
}

func TestCompose(t *testing.T) {
	procs := loadProcfile(t)
	var compose struct {
		Services map[string]struct {
			Build struct {
				Dockerfile string            `yaml:"dockerfile"`
				Args       map[string]string `yaml:"args"`
			} `yaml:"build"`
			Environment map[string]string `yaml:"environment"`
			Ports       []string          `yaml:"ports"`
			DependsOn   map[string]any    `yaml:"depends_on"`
			Profiles    []string          `yaml:"profiles"`
		} `yaml:"services"`
	}
	readYAML(t, "compose.yaml", &compose)
	// `--profile stores` starts the stores alone, on the local ports every process defaults to (so
	// `make run` finds them); a service without profiles would start with them.
	for store, port := range map[string]string{"postgres": "5432", "redis": "6379", "rabbitmq": "5672"} {
		s, ok := compose.Services[store]
		if !ok {
			t.Errorf("compose.yaml: no %s service", store)
			continue
		}
		if !slices.Contains(s.Profiles, "stores") || !slices.Contains(s.Ports, "127.0.0.1:"+port+":"+port) {
			t.Errorf("compose.yaml: %s has profiles %v and ports %v, want the stores profile and 127.0.0.1:%s:%s", store, s.Profiles, s.Ports, port, port)
		}
	}
	for name, s := range compose.Services {
		if _, store := map[string]bool{"postgres": true, "redis": true, "rabbitmq": true}[name]; !store && (len(s.Profiles) == 0 || slices.Contains(s.Profiles, "stores")) {
			t.Errorf("compose.yaml: %s would start with --profile stores (profiles %v)", name, s.Profiles)
		}
	}
	for _, p := range procs {
		s, ok := compose.Services[p.name]
		if !ok {
			t.Errorf("compose.yaml: no service for process %s", p.name)
			continue
		}
		if s.Build.Dockerfile != "deploy/Dockerfile" || s.Build.Args["PROCESS"] != p.binary {
			t.Errorf("compose.yaml: %s builds %s with PROCESS=%q, want deploy/Dockerfile with %s", p.name, s.Build.Dockerfile, s.Build.Args["PROCESS"], p.binary)
		}
		if got, want := s.Environment[p.addrVar], ":"+strconv.Itoa(p.port); got != want {
			t.Errorf("compose.yaml: %s sets %s=%q, want %q", p.name, p.addrVar, got, want)
		}
		if want := strconv.Itoa(p.port) + ":" + strconv.Itoa(p.port); !slices.Contains(s.Ports, want) {
			t.Errorf("compose.yaml: %s publishes %v, want %s", p.name, s.Ports, want)
		}
		if got, want := s.Environment["INLAY_TEAMS"], teamsValue(procs); got != want {
			t.Errorf("compose.yaml: %s has INLAY_TEAMS=%q, want %q", p.name, got, want)
		}
		// compose stops a container with SIGKILL 10 s after SIGTERM: the drain and the shutdown fit.
		drain, derr := time.ParseDuration(s.Environment["INLAY_DRAIN"])
		shutdown, serr := time.ParseDuration(s.Environment["INLAY_SHUTDOWN_TIMEOUT"])
		if derr != nil || serr != nil || drain <= 0 || drain+shutdown >= 10*time.Second {
			t.Errorf("compose.yaml: %s has INLAY_DRAIN=%q and INLAY_SHUTDOWN_TIMEOUT=%q, want a drain, and both within compose's 10 s stop grace period",
				p.name, s.Environment["INLAY_DRAIN"], s.Environment["INLAY_SHUTDOWN_TIMEOUT"])
		}
		for _, store := range []string{"postgres", "redis", "rabbitmq"} {
			if _, ok := s.DependsOn[store]; !ok {
				t.Errorf("compose.yaml: %s does not depend on %s", p.name, store)
			}
		}
	}
	shell := compose.Services["shell"]
	if shell.Environment["INLAY_SHELL_PRIVATE_KEY"] == "" {
		t.Error("compose.yaml: the shell gets no INLAY_SHELL_PRIVATE_KEY")
	}
	// explore and checkout purge the shell's cache through the shell's admin listener, with the
	// shell's token.
	_, adminPort, _ := strings.Cut(shell.Environment["SHELL_ADMIN_ADDR"], ":")
	if adminPort == "" || strings.HasPrefix(shell.Environment["SHELL_ADMIN_ADDR"], "127.") {
		t.Errorf("compose.yaml: SHELL_ADMIN_ADDR=%q; want the admin listener open to the other containers", shell.Environment["SHELL_ADMIN_ADDR"])
	}
	for _, purger := range []string{"explore", "checkout"} {
		s := compose.Services[purger]
		if tok := shell.Environment["INLAY_PURGE_TOKEN"]; tok == "" || s.Environment["INLAY_PURGE_TOKEN"] != tok {
			t.Errorf("compose.yaml: INLAY_PURGE_TOKEN is %q for the shell and %q for %s, want one token for both", tok, s.Environment["INLAY_PURGE_TOKEN"], purger)
		}
		if v, want := s.Environment[strings.ToUpper(purger)+"_SHELL_URL"], "http://shell:"+adminPort; v != want {
			t.Errorf("compose.yaml: %s_SHELL_URL=%q, want %q (the shell's admin listener)", strings.ToUpper(purger), v, want)
		}
	}
}

func TestDockerfile(t *testing.T) {
	b, err := os.ReadFile("Dockerfile")
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"ARG PROCESS=", "ENV INLAY_PROCESS=${PROCESS}", "COPY --from=build /out/ /usr/local/bin/", "USER 10001"} {
		if !bytes.Contains(b, []byte(want)) {
			t.Errorf("Dockerfile lacks %q", want)
		}
	}
	// The build stage's Go is go.mod's, to the patch release.
	mod, err := os.ReadFile(filepath.Join("..", "go.mod"))
	if err != nil {
		t.Fatal(err)
	}
	goVersion := regexp.MustCompile(`(?m)^go (\S+)$`).FindSubmatch(mod)
	if goVersion == nil {
		t.Fatal("go.mod has no go line")
	}
	want := "golang:" + string(goVersion[1]) + "-"
	if from := stages(t)[0]; !strings.HasPrefix(from, want) {
		t.Errorf("Dockerfile builds with %s, want %s... (go.mod's go %s)", from, want, goVersion[1])
	}
}

// stages returns the image of each FROM line of the Dockerfile.
func stages(t *testing.T) []string {
	t.Helper()
	b, err := os.ReadFile("Dockerfile")
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, m := range regexp.MustCompile(`(?m)^FROM\s+(\S+)`).FindAllSubmatch(b, -1) {
		out = append(out, string(m[1]))
	}
	if len(out) == 0 {
		t.Fatal("Dockerfile has no FROM")
	}
	return out
}

// finalStage is the image the processes run on.
func finalStage(t *testing.T) string {
	s := stages(t)
	return s[len(s)-1]
}

// TestDockerignore: the build context leaves out the repository's history, the local dev key pair
// and other per-machine state, build output and deployment secrets.
func TestDockerignore(t *testing.T) {
	b, err := os.ReadFile(filepath.Join("..", ".dockerignore"))
	if err != nil {
		t.Fatal(err)
	}
	var patterns []string
	for _, line := range strings.Split(string(b), "\n") {
		if line = strings.TrimSpace(line); line != "" && !strings.HasPrefix(line, "#") {
			patterns = append(patterns, strings.TrimPrefix(line, "/"))
		}
	}
	for _, path := range []string{".git", ".inlay", "bin", "deploy/.env", "deploy/k8s/overlays/prod/secrets.env"} {
		excluded := slices.ContainsFunc(patterns, func(p string) bool {
			name := path
			if rest, ok := strings.CutPrefix(p, "**/"); ok {
				p, name = rest, filepath.Base(path)
			}
			ok, _ := filepath.Match(p, name)
			return ok
		})
		if !excluded {
			t.Errorf(".dockerignore does not leave out %s", path)
		}
	}
}

func readYAML(t *testing.T, path string, v any) {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := yaml.Unmarshal(b, v); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
}

// labels reads a YAML label map.
func labels(v any) map[string]string {
	m, _ := v.(map[string]any)
	out := map[string]string{}
	for k, v := range m {
		s, ok := v.(string)
		if !ok {
			return nil
		}
		out[k] = s
	}
	return out
}

func equalMaps(a, b map[string]string) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if b[k] != v {
			return false
		}
	}
	return true
}

// TestDefaultTeams: the team registry's local default (fragments.DefaultTeams, INLAY_TEAMS when
// unset) names every team of the Procfile on its local port.
func TestDefaultTeams(t *testing.T) {
	want := fragments.Teams{}
	for _, p := range loadProcfile(t) {
		if p.team {
			want[p.name] = []string{"http://127.0.0.1:" + strconv.Itoa(p.port)}
		}
	}
	got, err := fragments.ParseTeams(fragments.DefaultTeams)
	if err != nil {
		t.Fatal(err)
	}
	if !maps.EqualFunc(got, want, slices.Equal) {
		t.Errorf("fragments.DefaultTeams = %v, want the Procfile's teams %v", got, want)
	}
}

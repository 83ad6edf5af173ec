package deploy

import (
	"bytes"
	"errors"
	"io"
	"io/fs"
	"maps"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"

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
		} `yaml:"services"`
	}
	readYAML(t, "compose.yaml", &compose)
	for _, store := range []string{"postgres", "redis", "rabbitmq"} {
		if _, ok := compose.Services[store]; !ok {
			t.Errorf("compose.yaml: no %s service", store)
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
		for _, store := range []string{"postgres", "redis", "rabbitmq"} {
			if _, ok := s.DependsOn[store]; !ok {
				t.Errorf("compose.yaml: %s does not depend on %s", p.name, store)
			}
		}
	}
	if s := compose.Services["shell"]; s.Environment["INLAY_SHELL_PRIVATE_KEY"] == "" {
		t.Error("compose.yaml: the shell gets no INLAY_SHELL_PRIVATE_KEY")
	}
}

// k8sObject is the part of a Kubernetes object the test reads.
type k8sObject struct {
	Kind     string `yaml:"kind"`
	Metadata struct {
		Name string `yaml:"name"`
	} `yaml:"metadata"`
	Data map[string]string `yaml:"data"`
	Spec struct {
		// Selector is a Deployment's {matchLabels: {...}} or a Service's plain label map.
		Selector map[string]any `yaml:"selector"`
		Template struct {
			Metadata struct {
				Labels map[string]string `yaml:"labels"`
			} `yaml:"metadata"`
			Spec struct {
				Containers []struct {
					Image   string   `yaml:"image"`
					Command []string `yaml:"command"`
					Ports   []struct {
						Name          string `yaml:"name"`
						ContainerPort int    `yaml:"containerPort"`
					} `yaml:"ports"`
					EnvFrom []struct {
						ConfigMapRef struct {
							Name string `yaml:"name"`
						} `yaml:"configMapRef"`
					} `yaml:"envFrom"`
					Env []struct {
						Name  string `yaml:"name"`
						Value string `yaml:"value"`
					} `yaml:"env"`
					ReadinessProbe struct {
						HTTPGet struct {
							Path string `yaml:"path"`
							Port any    `yaml:"port"`
						} `yaml:"httpGet"`
					} `yaml:"readinessProbe"`
					LivenessProbe struct {
						HTTPGet struct {
							Path string `yaml:"path"`
						} `yaml:"httpGet"`
					} `yaml:"livenessProbe"`
				} `yaml:"containers"`
			} `yaml:"spec"`
		} `yaml:"template"`
		// Service
		Ports []struct {
			Port       int `yaml:"port"`
			TargetPort any `yaml:"targetPort"`
		} `yaml:"ports"`
	} `yaml:"spec"`
}

func TestKubernetes(t *testing.T) {
	procs := loadProcfile(t)
	base := filepath.Join("k8s", "base")
	var kustomization struct {
		Resources []string `yaml:"resources"`
	}
	readYAML(t, filepath.Join(base, "kustomization.yaml"), &kustomization)
	objects := map[string]k8sObject{} // kind/name
	for _, res := range kustomization.Resources {
		f, err := os.ReadFile(filepath.Join(base, res))
		if err != nil {
			t.Fatalf("kustomization.yaml names %s: %v", res, err)
		}
		dec := yaml.NewDecoder(bytes.NewReader(f))
		for {
			var o k8sObject
			if err := dec.Decode(&o); errors.Is(err, io.EOF) {
				break
			} else if err != nil {
				t.Fatalf("%s: %v", res, err)
			}
			key := o.Kind + "/" + o.Metadata.Name
			if _, dup := objects[key]; dup {
				t.Errorf("%s: %s defined twice", res, key)
			}
			objects[key] = o
		}
	}
	cm, ok := objects["ConfigMap/inlay"]
	if !ok {
		t.Fatal("k8s: no ConfigMap inlay")
	}
	if got, want := cm.Data["INLAY_TEAMS"], teamsValue(procs); got != want {
		t.Errorf("k8s ConfigMap INLAY_TEAMS = %q, want %q", got, want)
	}
	for _, p := range procs {
		d, ok := objects["Deployment/"+p.name]
		if !ok {
			t.Errorf("k8s: no Deployment %s", p.name)
			continue
		}
		podLabels := d.Spec.Template.Metadata.Labels
		if match := labels(d.Spec.Selector["matchLabels"]); len(match) == 0 || !equalMaps(match, podLabels) {
			t.Errorf("k8s Deployment %s: selector %v does not match its pod labels %v", p.name, match, podLabels)
		}
		if len(d.Spec.Template.Spec.Containers) != 1 {
			t.Errorf("k8s Deployment %s: %d containers, want 1", p.name, len(d.Spec.Template.Spec.Containers))
			continue
		}
		c := d.Spec.Template.Spec.Containers[0]
		if c.Image != "inlay" || !slices.Equal(c.Command, []string{"/usr/local/bin/" + p.binary}) {
			t.Errorf("k8s Deployment %s runs %s %v, want image inlay with /usr/local/bin/%s", p.name, c.Image, c.Command, p.binary)
		}
		if len(c.Ports) != 1 || c.Ports[0].ContainerPort != p.port {
			t.Errorf("k8s Deployment %s: container ports %+v, want %d", p.name, c.Ports, p.port)
		}
		addr := ""
		for _, e := range c.Env {
			if e.Name == p.addrVar {
				addr = e.Value
			}
		}
		if want := ":" + strconv.Itoa(p.port); addr != want {
			t.Errorf("k8s Deployment %s: %s=%q, want %q", p.name, p.addrVar, addr, want)
		}
		if len(c.EnvFrom) == 0 || c.EnvFrom[0].ConfigMapRef.Name != "inlay" {
			t.Errorf("k8s Deployment %s does not read the ConfigMap inlay", p.name)
		}
		if c.ReadinessProbe.HTTPGet.Path != "/readyz" || c.LivenessProbe.HTTPGet.Path != "/healthz" {
			t.Errorf("k8s Deployment %s: probes %q/%q, want /readyz and /healthz", p.name, c.ReadinessProbe.HTTPGet.Path, c.LivenessProbe.HTTPGet.Path)
		}
		s, ok := objects["Service/"+p.name]
		if !ok {
			t.Errorf("k8s: no Service %s", p.name)
			continue
		}
		if len(s.Spec.Ports) != 1 || s.Spec.Ports[0].Port != p.port {
			t.Errorf("k8s Service %s: ports %+v, want %d", p.name, s.Spec.Ports, p.port)
		}
		if sel := labels(s.Spec.Selector); len(sel) == 0 || !equalMaps(sel, podLabels) {
			t.Errorf("k8s Service %s: selector %v does not select the Deployment's pods %v", p.name, sel, podLabels)
		}
	}
	// Every Deployment and Service belongs to a process of the Procfile.
	for key := range objects {
		kind, name, _ := strings.Cut(key, "/")
		if (kind == "Deployment" || kind == "Service") && !slices.ContainsFunc(procs, func(p process) bool { return p.name == name }) {
			t.Errorf("k8s: %s is not a process of the Procfile", key)
		}
	}
}

func TestDockerfile(t *testing.T) {
	b, err := os.ReadFile("Dockerfile")
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"ARG PROCESS=", "ENV INLAY_PROCESS=${PROCESS}", "COPY --from=build /out/ /usr/local/bin/"} {
		if !bytes.Contains(b, []byte(want)) {
			t.Errorf("Dockerfile lacks %q", want)
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
			want[p.name] = "http://127.0.0.1:" + strconv.Itoa(p.port)
		}
	}
	got, err := fragments.ParseTeams(fragments.DefaultTeams)
	if err != nil {
		t.Fatal(err)
	}
	if !maps.Equal(got, want) {
		t.Errorf("fragments.DefaultTeams = %v, want the Procfile's teams %v", got, want)
	}
}

package deploy

import (
	"bytes"
	"encoding/base64"
	"errors"
	"io"
	"io/fs"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"gopkg.in/yaml.v3"
	"sigs.k8s.io/kustomize/api/krusty"
	"sigs.k8s.io/kustomize/kyaml/filesys"
)

// The objects of a built overlay, as far as the test reads them.
type (
	object struct {
		APIVersion string `yaml:"apiVersion"`
		Kind       string `yaml:"kind"`
		Metadata   struct {
			Name        string            `yaml:"name"`
			Namespace   string            `yaml:"namespace"`
			Labels      map[string]string `yaml:"labels"`
			Annotations map[string]string `yaml:"annotations"`
		} `yaml:"metadata"`
		Data map[string]string `yaml:"data"` // ConfigMap, Secret (base64)
		Spec spec              `yaml:"spec"`
	}
	spec struct {
		Replicas *int `yaml:"replicas"`
		// Selector is a Deployment's or PDB's {matchLabels: {...}} or a Service's plain label map.
		Selector       map[string]any `yaml:"selector"`
		MaxUnavailable any            `yaml:"maxUnavailable"` // PodDisruptionBudget
		MinAvailable   any            `yaml:"minAvailable"`
		Template       struct {
			Metadata struct {
				Labels      map[string]string `yaml:"labels"`
				Annotations map[string]string `yaml:"annotations"`
			} `yaml:"metadata"`
			Spec podSpec `yaml:"spec"`
		} `yaml:"template"`
		Ports []servicePort `yaml:"ports"` // Service
		// HorizontalPodAutoscaler (autoscaling/v2)
		ScaleTargetRef struct {
			Kind string `yaml:"kind"`
			Name string `yaml:"name"`
		} `yaml:"scaleTargetRef"`
		MinReplicas *int `yaml:"minReplicas"`
		MaxReplicas int  `yaml:"maxReplicas"`
		Metrics     []struct {
			Type     string `yaml:"type"`
			Resource struct {
				Name   string `yaml:"name"`
				Target struct {
					Type               string `yaml:"type"`
					AverageUtilization int    `yaml:"averageUtilization"`
				} `yaml:"target"`
			} `yaml:"resource"`
		} `yaml:"metrics"`
	}
	servicePort struct {
		Port       int `yaml:"port"`
		TargetPort any `yaml:"targetPort"`
	}
	podSpec struct {
		TerminationGracePeriodSeconds *int             `yaml:"terminationGracePeriodSeconds"`
		HostNetwork                   bool             `yaml:"hostNetwork"`
		HostPID                       bool             `yaml:"hostPID"`
		HostIPC                       bool             `yaml:"hostIPC"`
		SecurityContext               securityContext  `yaml:"securityContext"`
		Containers                    []container      `yaml:"containers"`
		InitContainers                []container      `yaml:"initContainers"`
		Volumes                       []map[string]any `yaml:"volumes"`
	}
	securityContext struct {
		RunAsNonRoot             *bool `yaml:"runAsNonRoot"`
		RunAsUser                *int  `yaml:"runAsUser"`
		Privileged               bool  `yaml:"privileged"`
		AllowPrivilegeEscalation *bool `yaml:"allowPrivilegeEscalation"`
		ReadOnlyRootFilesystem   bool  `yaml:"readOnlyRootFilesystem"`
		SeccompProfile           struct {
			Type string `yaml:"type"`
		} `yaml:"seccompProfile"`
		Capabilities struct {
			Add  []string `yaml:"add"`
			Drop []string `yaml:"drop"`
		} `yaml:"capabilities"`
	}
	container struct {
		Name            string   `yaml:"name"`
		Image           string   `yaml:"image"`
		ImagePullPolicy string   `yaml:"imagePullPolicy"`
		Command         []string `yaml:"command"`
		Ports           []struct {
			Name          string `yaml:"name"`
			ContainerPort int    `yaml:"containerPort"`
		} `yaml:"ports"`
		EnvFrom []struct {
			ConfigMapRef *struct {
				Name string `yaml:"name"`
			} `yaml:"configMapRef"`
			SecretRef *struct {
				Name string `yaml:"name"`
			} `yaml:"secretRef"`
		} `yaml:"envFrom"`
		Env []struct {
			Name      string `yaml:"name"`
			Value     string `yaml:"value"`
			ValueFrom *struct {
				SecretKeyRef    *keyRef `yaml:"secretKeyRef"`
				ConfigMapKeyRef *keyRef `yaml:"configMapKeyRef"`
			} `yaml:"valueFrom"`
		} `yaml:"env"`
		StartupProbe   *probe `yaml:"startupProbe"`
		ReadinessProbe *probe `yaml:"readinessProbe"`
		LivenessProbe  *probe `yaml:"livenessProbe"`
		Lifecycle      struct {
			PreStop *struct {
				Exec *struct {
					Command []string `yaml:"command"`
				} `yaml:"exec"`
				Sleep *struct {
					Seconds int `yaml:"seconds"`
				} `yaml:"sleep"`
			} `yaml:"preStop"`
		} `yaml:"lifecycle"`
		Resources struct {
			Requests map[string]string `yaml:"requests"`
			Limits   map[string]string `yaml:"limits"`
		} `yaml:"resources"`
		SecurityContext securityContext `yaml:"securityContext"`
	}
	keyRef struct {
		Name string `yaml:"name"`
		Key  string `yaml:"key"`
	}
	probe struct {
		HTTPGet *struct {
			Path string `yaml:"path"`
			Port any    `yaml:"port"`
		} `yaml:"httpGet"`
		Exec *struct {
			Command []string `yaml:"command"`
		} `yaml:"exec"`
	}
)

// overlay is one built kustomize overlay, its objects by kind/name.
type overlay struct {
	name    string
	objects map[string]object
}

func (o overlay) get(kind, name string) (object, bool) {
	obj, ok := o.objects[kind+"/"+name]
	return obj, ok
}

// secretsEnv is what a deployment's secrets.env holds: keygen's output, as its README says.
func secretsEnv(t *testing.T) []byte {
	t.Helper()
	cmd := exec.Command("go", "run", "./scripts/keygen", "-tokens")
	cmd.Dir = ".."
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("go run ./scripts/keygen -tokens: %v\n%s", err, stderr.Bytes())
	}
	return out
}

// buildOverlays builds every overlay under k8s/overlays with the kustomize API, as `kubectl apply -k`
// would, each with a secrets.env made by keygen (the file is not committed).
func buildOverlays(t *testing.T) []overlay {
	t.Helper()
	mem := filesys.MakeFsInMemory()
	err := filepath.WalkDir("k8s", func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || d.Name() == "secrets.env" {
			return err
		}
		b, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		return mem.WriteFile("/"+filepath.ToSlash(path), b)
	})
	if err != nil {
		t.Fatal(err)
	}
	entries, err := os.ReadDir(filepath.Join("k8s", "overlays"))
	if err != nil {
		t.Fatal(err)
	}
	secrets := secretsEnv(t)
	var out []overlay
	for _, e := range entries {
		if !e.IsDir() {
			continue
		}
		dir := "/k8s/overlays/" + e.Name()
		if err := mem.WriteFile(dir+"/secrets.env", secrets); err != nil {
			t.Fatal(err)
		}
		res, err := krusty.MakeKustomizer(krusty.MakeDefaultOptions()).Run(mem, dir)
		if err != nil {
			t.Fatalf("kustomize build k8s/overlays/%s: %v", e.Name(), err)
		}
		y, err := res.AsYaml()
		if err != nil {
			t.Fatal(err)
		}
		o := overlay{name: e.Name(), objects: map[string]object{}}
		dec := yaml.NewDecoder(bytes.NewReader(y))
		for {
			var obj object
			if err := dec.Decode(&obj); errors.Is(err, io.EOF) {
				break
			} else if err != nil {
				t.Fatalf("overlay %s: %v", e.Name(), err)
			}
			o.objects[obj.Kind+"/"+obj.Metadata.Name] = obj
		}
		out = append(out, o)
	}
	names := make([]string, len(out))
	for i, o := range out {
		names[i] = o.name
	}
	for _, want := range []string{"dev", "prod"} {
		if !slices.Contains(names, want) {
			t.Errorf("k8s/overlays has no %s overlay (has %v)", want, names)
		}
	}
	return out
}

// maxDrain bounds INLAY_DRAIN in the deploy files: long enough for endpoints and the shell's health
// check to drop the pod, short enough for a quick rollout.
const maxDrain = 15 * time.Second

func TestKubernetes(t *testing.T) {
	procs := loadProcfile(t)
	dirs := cmdDirs(t)
	procDirs := map[string]string{}
	for _, p := range procs {
		procDirs[p.binary] = dirs[p.binary]
	}
	req := prodRequired(t, procDirs)
	// The reading of the code finds what the code refuses: a guard against a reading that finds nothing.
	if !slices.Contains(req["shelld"], required{name: "INLAY_SHELL_PRIVATE_KEY"}) {
		t.Fatalf("the shell's INLAY_SHELL_PRIVATE_KEY is not among its prod:\"required\" variables %v", req["shelld"])
	}
	// The processes whose code reads <NAME>_ADMIN_ADDR serve /metrics on that admin listener.
	admin := map[string]bool{}
	for _, p := range procs {
		_, admin[p.name] = envDefault(t, adminVar(p))
	}
	dockerfileBase := finalStage(t)
	for _, o := range buildOverlays(t) {
		t.Run(o.name, func(t *testing.T) {
			checkOverlay(t, o, procs, req, admin, dockerfileBase)
		})
	}
}

// adminVar is the variable of a process's admin listener: SHELL_ADMIN_ADDR for SHELL_ADDR.
func adminVar(p process) string {
	return strings.TrimSuffix(p.addrVar, "_ADDR") + "_ADMIN_ADDR"
}

func checkOverlay(t *testing.T, o overlay, procs []process, req map[string][]required, admin map[string]bool, imageBase string) {
	ns, ok := o.get("Namespace", "inlay")
	if !ok || ns.Metadata.Labels["pod-security.kubernetes.io/enforce"] != "restricted" {
		t.Errorf("no Namespace inlay enforcing Pod Security restricted: %+v", ns.Metadata.Labels)
	}
	for key, obj := range o.objects {
		if obj.Kind != "Namespace" && obj.Metadata.Namespace != "inlay" {
			t.Errorf("%s is in namespace %q, want inlay", key, obj.Metadata.Namespace)
		}
		if obj.Kind == "Deployment" {
			checkRestricted(t, key, obj.Spec.Template.Spec)
		}
	}
	cm, ok := o.get("ConfigMap", "inlay")
	if !ok {
		t.Fatal("no ConfigMap inlay")
	}
	if got, want := cm.Data["INLAY_TEAMS"], teamsValue(procs); got != want {
		t.Errorf("ConfigMap INLAY_TEAMS = %q, want %q", got, want)
	}
	shutdown, err := time.ParseDuration(cm.Data["INLAY_SHUTDOWN_TIMEOUT"])
	if err != nil {
		t.Errorf("ConfigMap INLAY_SHUTDOWN_TIMEOUT: %v", err)
	}
	drain, err := time.ParseDuration(cm.Data["INLAY_DRAIN"])
	if err != nil {
		t.Errorf("ConfigMap INLAY_DRAIN: %v", err)
	}
	for _, p := range procs {
		d, ok := o.get("Deployment", p.name)
		if !ok {
			t.Errorf("no Deployment %s", p.name)
			continue
		}
		pod := d.Spec.Template
		if match := labels(d.Spec.Selector["matchLabels"]); len(match) == 0 || !equalMaps(match, pod.Metadata.Labels) {
			t.Errorf("Deployment %s: selector %v does not match its pod labels %v", p.name, match, pod.Metadata.Labels)
		}
		if len(pod.Spec.Containers) != 1 {
			t.Errorf("Deployment %s: %d containers, want 1", p.name, len(pod.Spec.Containers))
			continue
		}
		c := pod.Spec.Containers[0]
		checkImage(t, o.name, p, c)
		env := resolveEnv(t, o, p.name, c)
		ports := map[string]int{}
		for _, cp := range c.Ports {
			ports[cp.Name] = cp.ContainerPort
		}
		if ports["http"] != p.port {
			t.Errorf("Deployment %s: container port http = %d, want %d", p.name, ports["http"], p.port)
		}
		if want := ":" + strconv.Itoa(p.port); env[p.addrVar] != want {
			t.Errorf("Deployment %s: %s=%q, want %q", p.name, p.addrVar, env[p.addrVar], want)
		}
		for _, r := range req[p.binary] {
			if v := env[r.name]; strings.TrimSpace(v) == "" || (r.def != "" && v == r.def) {
				t.Errorf("Deployment %s: %s is %q; the process refuses to start in prod without it (prod:\"required\")", p.name, r.name, v)
			}
		}
		checkServiceURLs(t, o, p.name, env)
		checkProbes(t, p.name, c)
		if c.Resources.Requests["cpu"] == "" || c.Resources.Requests["memory"] == "" || c.Resources.Limits["memory"] == "" {
			t.Errorf("Deployment %s: resources %+v, want cpu and memory requests and a memory limit", p.name, c.Resources)
		}
		checkMemoryLimit(t, p.name, env["GOMEMLIMIT"], c.Resources.Limits["memory"])
		if !c.SecurityContext.ReadOnlyRootFilesystem {
			t.Errorf("Deployment %s: the root filesystem is writable", p.name)
		}
		checkDrain(t, p.name, c, pod.Spec.TerminationGracePeriodSeconds, drain, shutdown)
		if _, set := env[adminVar(p)]; admin[p.name] && !set {
			t.Errorf("Deployment %s: %s is unset, so /metrics is on loopback only", p.name, adminVar(p))
		}
		checkMetrics(t, p, pod.Metadata.Annotations, env, ports)
		checkPDB(t, o, p.name, pod.Metadata.Labels, d.Spec.Replicas)
		checkAutoscaling(t, o, p.name, d.Spec.Replicas, c.Resources.Requests["cpu"])
		s, ok := o.get("Service", p.name)
		if !ok {
			t.Errorf("no Service %s", p.name)
			continue
		}
		if len(s.Spec.Ports) != 1 || s.Spec.Ports[0].Port != p.port {
			t.Errorf("Service %s: ports %+v, want %d", p.name, s.Spec.Ports, p.port)
		}
		if sel := labels(s.Spec.Selector); len(sel) == 0 || !equalMaps(sel, pod.Metadata.Labels) {
			t.Errorf("Service %s: selector %v does not select the Deployment's pods %v", p.name, sel, pod.Metadata.Labels)
		}
	}
	// Every Deployment of Inlay belongs to a process of the Procfile.
	for _, obj := range o.objects {
		if obj.Kind == "Deployment" && obj.Metadata.Labels["app.kubernetes.io/part-of"] == "inlay" &&
			!slices.ContainsFunc(procs, func(p process) bool { return p.name == obj.Metadata.Name }) {
			t.Errorf("Deployment %s is not a process of the Procfile", obj.Metadata.Name)
		}
	}
	if o.name == "dev" {
		checkDevStores(t, o, procs)
	}
}

// checkImage: dev runs the image built on this machine, prod a pinned release; neither is pulled
// when the node has it.
func checkImage(t *testing.T, overlay string, p process, c container) {
	t.Helper()
	if !slices.Equal(c.Command, []string{"/usr/local/bin/" + p.binary}) {
		t.Errorf("Deployment %s runs %v, want /usr/local/bin/%s", p.name, c.Command, p.binary)
	}
	if c.ImagePullPolicy != "IfNotPresent" {
		t.Errorf("Deployment %s: imagePullPolicy %q, want IfNotPresent", p.name, c.ImagePullPolicy)
	}
	name, tag, _ := strings.Cut(c.Image[strings.LastIndex(c.Image, "/")+1:], ":")
	switch {
	case overlay == "dev" && c.Image != "inlay:dev":
		t.Errorf("Deployment %s: image %q, want the local inlay:dev", p.name, c.Image)
	case name != "inlay" || tag == "" || tag == "latest":
		t.Errorf("Deployment %s: image %q, want inlay with a pinned tag", p.name, c.Image)
	}
}

// resolveEnv is the container's environment as the kubelet would set it: its ConfigMaps, then env
// (values, Secret and ConfigMap keys). A key that resolves to nothing is an error.
func resolveEnv(t *testing.T, o overlay, name string, c container) map[string]string {
	t.Helper()
	env := map[string]string{}
	for _, ef := range c.EnvFrom {
		switch {
		case ef.ConfigMapRef != nil:
			cm, ok := o.get("ConfigMap", ef.ConfigMapRef.Name)
			if !ok {
				t.Errorf("Deployment %s reads ConfigMap %s, which the overlay lacks", name, ef.ConfigMapRef.Name)
			}
			for k, v := range cm.Data {
				env[k] = v
			}
		case ef.SecretRef != nil:
			t.Errorf("Deployment %s reads all of Secret %s: give each process only the keys it needs", name, ef.SecretRef.Name)
		}
	}
	for _, e := range c.Env {
		switch {
		case e.ValueFrom == nil:
			env[e.Name] = e.Value
		case e.ValueFrom.SecretKeyRef != nil:
			ref := e.ValueFrom.SecretKeyRef
			s, ok := o.get("Secret", ref.Name)
			v, err := base64.StdEncoding.DecodeString(s.Data[ref.Key])
			if !ok || err != nil || len(v) == 0 {
				t.Errorf("Deployment %s: %s comes from key %s of Secret %s, which is missing or empty", name, e.Name, ref.Key, ref.Name)
			}
			env[e.Name] = string(v)
		case e.ValueFrom.ConfigMapKeyRef != nil:
			ref := e.ValueFrom.ConfigMapKeyRef
			cm, _ := o.get("ConfigMap", ref.Name)
			env[e.Name] = cm.Data[ref.Key]
		}
	}
	return env
}

// checkServiceURLs: a URL in the environment naming a host of the cluster (a Service's bare name,
// such as explore's http://shell-admin:9080) names a Service of the overlay with that port.
func checkServiceURLs(t *testing.T, o overlay, name string, env map[string]string) {
	t.Helper()
	for k, v := range env {
		if k == "INLAY_TEAMS" {
			continue // checked against the Procfile
		}
		u, err := url.Parse(v)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || strings.Contains(u.Hostname(), ".") {
			continue
		}
		s, ok := o.get("Service", u.Hostname())
		if !ok || !slices.ContainsFunc(s.Spec.Ports, func(sp servicePort) bool { return strconv.Itoa(sp.Port) == u.Port() }) {
			t.Errorf("Deployment %s: %s=%s, but no Service %s has port %s", name, k, v, u.Hostname(), u.Port())
		}
	}
}

func checkProbes(t *testing.T, name string, c container) {
	t.Helper()
	for _, pr := range []struct {
		kind, path string
		probe      *probe
	}{{"startup", "/healthz", c.StartupProbe}, {"readiness", "/readyz", c.ReadinessProbe}, {"liveness", "/healthz", c.LivenessProbe}} {
		if pr.probe == nil || pr.probe.HTTPGet == nil || pr.probe.HTTPGet.Path != pr.path || pr.probe.HTTPGet.Port != "http" {
			t.Errorf("Deployment %s: no %s probe on http %s", name, pr.kind, pr.path)
		}
	}
}

// checkDrain: the process drains itself on SIGTERM (INLAY_DRAIN, /readyz 503 while it still serves),
// so no preStop sleep doubles it, and the grace period covers the drain and the process's shutdown.
func checkDrain(t *testing.T, name string, c container, grace *int, drain, shutdown time.Duration) {
	t.Helper()
	if pre := c.Lifecycle.PreStop; pre != nil && (pre.Sleep != nil || pre.Exec != nil) {
		t.Errorf("Deployment %s: a preStop hook delays SIGTERM, and the process drains for INLAY_DRAIN after it: the drain is doubled", name)
	}
	if drain <= 0 || drain > maxDrain {
		t.Errorf("Deployment %s: INLAY_DRAIN %s, want more than 0 and at most %s", name, drain, maxDrain)
	}
	g := 30 // Kubernetes' default
	if grace != nil {
		g = *grace
	}
	if need := drain + shutdown; time.Duration(g)*time.Second <= need {
		t.Errorf("Deployment %s: terminationGracePeriodSeconds %d does not cover INLAY_DRAIN %s + INLAY_SHUTDOWN_TIMEOUT %s", name, g, drain, shutdown)
	}
}

// checkMetrics: Prometheus scrapes /metrics where the process serves it: the admin listener when the
// process has one (<NAME>_ADMIN_ADDR), else its own port.
func checkMetrics(t *testing.T, p process, ann, env map[string]string, ports map[string]int) {
	t.Helper()
	want := p.port
	adminVar := adminVar(p)
	if addr, ok := env[adminVar]; ok {
		_, port, _ := strings.Cut(addr, ":")
		if strings.HasPrefix(addr, "127.") || strings.HasPrefix(addr, "localhost") || port == "" {
			t.Errorf("Deployment %s: %s=%q is not reachable from other pods", p.name, adminVar, addr)
		}
		want, _ = strconv.Atoi(port)
		if ports["admin"] != want {
			t.Errorf("Deployment %s: container port admin = %d, want %d (%s)", p.name, ports["admin"], want, adminVar)
		}
	}
	if ann["prometheus.io/scrape"] != "true" || ann["prometheus.io/port"] != strconv.Itoa(want) || ann["prometheus.io/path"] != "/metrics" {
		t.Errorf("Deployment %s: Prometheus annotations %v, want scrape on %d /metrics", p.name, ann, want)
	}
}

// checkPDB: one PodDisruptionBudget selects the process's pods and lets a drain evict one of them.
func checkPDB(t *testing.T, o overlay, name string, podLabels map[string]string, replicas *int) {
	t.Helper()
	var found []object
	for _, obj := range o.objects {
		if obj.Kind != "PodDisruptionBudget" {
			continue
		}
		if match := labels(obj.Spec.Selector["matchLabels"]); len(match) > 0 && subset(match, podLabels) {
			found = append(found, obj)
		}
	}
	if len(found) != 1 {
		t.Errorf("Deployment %s: %d PodDisruptionBudgets select its pods, want 1", name, len(found))
		return
	}
	pdb := found[0].Spec
	n := 1
	if replicas != nil {
		n = *replicas
	}
	switch {
	case pdb.MaxUnavailable != nil:
		if v, ok := pdb.MaxUnavailable.(int); ok && v < 1 {
			t.Errorf("PodDisruptionBudget of %s: maxUnavailable %d blocks every eviction", name, v)
		}
	case pdb.MinAvailable != nil:
		if v, ok := pdb.MinAvailable.(int); ok && v >= n {
			t.Errorf("PodDisruptionBudget of %s: minAvailable %d with %d replicas blocks every eviction", name, v, n)
		}
	default:
		t.Errorf("PodDisruptionBudget of %s sets neither maxUnavailable nor minAvailable", name)
	}
}

// allowedVolumes are the volume types Pod Security "restricted" admits.
var allowedVolumes = []string{"configMap", "csi", "downwardAPI", "emptyDir", "ephemeral", "persistentVolumeClaim", "projected", "secret"}

// checkRestricted applies Pod Security "restricted" (v1.30) to a pod template.
func checkRestricted(t *testing.T, key string, pod podSpec) {
	t.Helper()
	if pod.HostNetwork || pod.HostPID || pod.HostIPC {
		t.Errorf("%s: shares a host namespace", key)
	}
	for _, v := range pod.Volumes {
		for typ := range v {
			if typ != "name" && !slices.Contains(allowedVolumes, typ) {
				t.Errorf("%s: volume type %s is not allowed", key, typ)
			}
		}
	}
	podSC := pod.SecurityContext
	if podSC.RunAsUser != nil && *podSC.RunAsUser == 0 {
		t.Errorf("%s: runs as root", key)
	}
	for _, c := range append(slices.Clone(pod.InitContainers), pod.Containers...) {
		sc := c.SecurityContext
		where := key + " container " + c.Name
		if sc.Privileged {
			t.Errorf("%s: privileged", where)
		}
		if sc.AllowPrivilegeEscalation == nil || *sc.AllowPrivilegeEscalation {
			t.Errorf("%s: allowPrivilegeEscalation is not false", where)
		}
		if !slices.Contains(sc.Capabilities.Drop, "ALL") {
			t.Errorf("%s: capabilities do not drop ALL", where)
		}
		for _, c := range sc.Capabilities.Add {
			if c != "NET_BIND_SERVICE" {
				t.Errorf("%s: adds capability %s", where, c)
			}
		}
		nonRoot := sc.RunAsNonRoot
		if nonRoot == nil {
			nonRoot = podSC.RunAsNonRoot
		}
		if nonRoot == nil || !*nonRoot {
			t.Errorf("%s: runAsNonRoot is not true", where)
		}
		if sc.RunAsUser != nil && *sc.RunAsUser == 0 {
			t.Errorf("%s: runs as root", where)
		}
		seccomp := sc.SeccompProfile.Type
		if seccomp == "" {
			seccomp = podSC.SeccompProfile.Type
		}
		if seccomp != "RuntimeDefault" && seccomp != "Localhost" {
			t.Errorf("%s: seccompProfile %q, want RuntimeDefault", where, seccomp)
		}
	}
}

// checkDevStores: the dev overlay runs the stores, and PostgreSQL creates each team's database (prod
// mode does not create them).
func checkDevStores(t *testing.T, o overlay, procs []process) {
	t.Helper()
	for _, store := range []string{"postgres", "redis", "rabbitmq"} {
		if _, ok := o.get("Service", store); !ok {
			t.Errorf("no Service %s for the stores", store)
		}
		if _, ok := o.get("Deployment", store); !ok {
			t.Errorf("no Deployment %s for the stores", store)
		}
	}
	init, _ := o.get("ConfigMap", "postgres-init")
	sql := strings.Join(slices.Collect(mapsValues(init.Data)), "\n")
	for _, p := range procs {
		if p.team && !regexp.MustCompile(`(?m)^CREATE DATABASE inlay_`+p.name+`;$`).MatchString(sql) {
			t.Errorf("ConfigMap postgres-init does not create inlay_%s", p.name)
		}
	}
}

func mapsValues(m map[string]string) func(func(string) bool) {
	return func(yield func(string) bool) {
		for _, v := range m {
			if !yield(v) {
				return
			}
		}
	}
}

func subset(a, b map[string]string) bool {
	for k, v := range a {
		if b[k] != v {
			return false
		}
	}
	return true
}

// checkAutoscaling: in prod every process scales on CPU through one HorizontalPodAutoscaler (at
// least two replicas, a utilization target that leaves headroom, against the container's CPU
// request) and its Deployment sets no replicas, so that an apply does not undo the autoscaler; dev
// runs one replica of each, without autoscalers.
func checkAutoscaling(t *testing.T, o overlay, name string, replicas *int, cpuRequest string) {
	t.Helper()
	var found []object
	for _, obj := range o.objects {
		if obj.Kind == "HorizontalPodAutoscaler" && obj.Spec.ScaleTargetRef.Name == name {
			found = append(found, obj)
		}
	}
	if o.name != "prod" {
		if len(found) != 0 {
			t.Errorf("overlay %s: Deployment %s has an autoscaler", o.name, name)
		}
		return
	}
	if len(found) != 1 {
		t.Errorf("Deployment %s: %d HorizontalPodAutoscalers, want 1", name, len(found))
		return
	}
	h := found[0]
	if h.APIVersion != "autoscaling/v2" || h.Spec.ScaleTargetRef.Kind != "Deployment" {
		t.Errorf("autoscaler of %s: %s targeting a %s, want autoscaling/v2 targeting the Deployment", name, h.APIVersion, h.Spec.ScaleTargetRef.Kind)
	}
	if h.Spec.MinReplicas == nil || *h.Spec.MinReplicas < 2 || h.Spec.MaxReplicas < *h.Spec.MinReplicas {
		t.Errorf("autoscaler of %s: replicas %v–%d, want at least 2 and max ≥ min", name, h.Spec.MinReplicas, h.Spec.MaxReplicas)
	}
	if len(h.Spec.Metrics) != 1 || h.Spec.Metrics[0].Type != "Resource" || h.Spec.Metrics[0].Resource.Name != "cpu" ||
		h.Spec.Metrics[0].Resource.Target.Type != "Utilization" ||
		h.Spec.Metrics[0].Resource.Target.AverageUtilization < 30 || h.Spec.Metrics[0].Resource.Target.AverageUtilization > 80 {
		t.Errorf("autoscaler of %s: metrics %+v, want CPU utilization between 30%% and 80%%", name, h.Spec.Metrics)
	}
	if cpuRequest == "" {
		t.Errorf("autoscaler of %s: the container requests no CPU, so utilization is undefined", name)
	}
	if replicas != nil {
		t.Errorf("Deployment %s sets replicas %d beside its autoscaler: every apply would reset it", name, *replicas)
	}
}

// checkMemoryLimit: a Go process under a container's memory limit sets GOMEMLIMIT below it (the
// runtime then collects harder as the heap nears it, instead of the kernel killing the pod: the
// shell reached 377–432 MiB under overload without it, BENCHMARKS.md), with room for what is not
// Go heap (stacks, the runtime, fasthttp's buffers): at most 7/8 of the limit.
func checkMemoryLimit(t *testing.T, name, goLimit, limit string) {
	t.Helper()
	lim, ok := mebibytes(limit, "Mi")
	gl, gok := mebibytes(goLimit, "MiB")
	switch {
	case !ok:
		t.Errorf("Deployment %s: memory limit %q, want a whole number of Mi", name, limit)
	case !gok:
		t.Errorf("Deployment %s: GOMEMLIMIT %q, want a whole number of MiB below the memory limit %s", name, goLimit, limit)
	case gl*8 > lim*7 || gl < lim/2:
		t.Errorf("Deployment %s: GOMEMLIMIT %s for a memory limit of %s, want between 1/2 and 7/8 of it", name, goLimit, limit)
	}
}

func mebibytes(v, unit string) (int, bool) {
	n, err := strconv.Atoi(strings.TrimSuffix(v, unit))
	return n, err == nil && strings.HasSuffix(v, unit) && n > 0
}

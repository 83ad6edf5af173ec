package e2e

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/inlay-dev/inlay/internal/procfile"
)

// Timeouts of the harness. They bound waiting, never pace it: readiness is polled.
const (
	readyTimeout = 60 * time.Second // from exec to every /readyz answering 200
	stopTimeout  = 15 * time.Second // from SIGTERM to exit, before SIGKILL
	pollInterval = 50 * time.Millisecond
	logTailBytes = 64 << 10 // per process, dumped when a test fails
	// noticeBytes bounds the WARN and ERROR lines kept per process beyond the tail (the first ones
	// are kept: they are the cause; the tail has the last).
	noticeBytes = 256 << 10
)

// Platform is the whole of Inlay running for one test: every process of deploy/Procfile on a free
// port, against its own databases, Redis key prefix and exchange.
type Platform struct {
	// Shell is the shell's base URL, http://127.0.0.1:<port>: the storefront.
	Shell string
	// URLs holds every process's base URL by its Procfile name (shell, decide, mobile, ...).
	URLs map[string]string
	// Admin holds the admin listener's base URL (/metrics, the shell's purge API) of each process
	// that faces the internet and so keeps them off its public port: shell, mobile, embed.
	Admin map[string]string
	// Env is the environment every process was started with (beyond the test's own).
	Env []string
	// DBPrefix, RedisPrefix and Exchange isolate this platform's data; all of it is removed when
	// the test ends.
	DBPrefix, RedisPrefix, Exchange string
	// ShellPrivateKey signs Inlay-Context like the shell does; tests use it to call teams directly.
	ShellPrivateKey ed25519.PrivateKey

	t     testing.TB
	bins  *binaries
	store stores
	mu    sync.Mutex
	procs map[string]*process
}

// Option changes how Start starts the platform.
type Option func(*options)

type options struct {
	env      []string
	only     []string
	replicas map[string]int
}

// WithEnv adds KEY=value assignments to every process's environment (after the harness's own, so
// they win).
func WithEnv(kv ...string) Option {
	return func(o *options) { o.env = append(o.env, kv...) }
}

// Only starts just the named processes (Procfile names). The team registry still names every team,
// so a team that is not started is a team that is down.
func Only(names ...string) Option {
	return func(o *options) { o.only = append(o.only, names...) }
}

// Replicas runs n instances of the named team: the first under its Procfile name, the others as
// "<name>-2", "<name>-3", ... (each a process of its own on its own port, in URLs, Stop and
// Restart), all of them in the team registry (INLAY_TEAMS "a|b"). The extra instances start once the
// platform is ready, on the databases, queue and keys the first has set up.
func Replicas(name string, n int) Option {
	return func(o *options) {
		if o.replicas == nil {
			o.replicas = map[string]int{}
		}
		o.replicas[name] = n
	}
}

// Start builds every binary (once per test binary), starts the platform and waits until every
// process answers /readyz with 200. Everything is stopped and removed when t ends: processes (whole
// process groups), databases, Redis keys, queues and the exchange. A process that fails to start fails
// the test with its log.
func Start(t testing.TB, opts ...Option) *Platform {
	t.Helper()
	var o options
	for _, opt := range opts {
		opt(&o)
	}
	bins, err := build()
	if err != nil {
		t.Fatalf("build the platform: %v", err)
	}
	all, err := procfile.ParseFile(filepath.Join(bins.root, "deploy", "Procfile"))
	if err != nil {
		t.Fatal(err)
	}
	procs := all
	if len(o.only) > 0 {
		procs = slices.DeleteFunc(slices.Clone(all), func(p procfile.Process) bool { return !slices.Contains(o.only, p.Name) })
		if len(procs) != len(o.only) {
			t.Fatalf("Only(%v): some names are not in deploy/Procfile", o.only)
		}
	}

	id := strings.ReplaceAll(uuid.NewString()[:13], "-", "")
	pub, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatalf("generate shell key: %v", err)
	}
	mobilePub, mobilePriv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatalf("generate mobile key: %v", err)
	}
	embedPub, embedPriv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatalf("generate embed key: %v", err)
	}
	p := &Platform{
		URLs:            map[string]string{},
		DBPrefix:        "inlay_e2e_" + id + "_",
		RedisPrefix:     "e2e_" + id + ":",
		Exchange:        "inlay.e2e." + id,
		ShellPrivateKey: priv,
		t:               t,
		bins:            bins,
		store:           newStores(),
		procs:           map[string]*process{},
	}
	if err := p.store.reachable(); err != nil {
		t.Fatal(err)
	}
	// Cleanup runs even when a start below fails, and removes whatever got created.
	t.Cleanup(p.stop)

	// Extra instances of a team (Replicas), in Procfile order.
	var extras []procfile.Process
	for _, proc := range procs {
		for k := 2; k <= o.replicas[proc.Name]; k++ {
			if !bins.isTeam(proc.Binary()) {
				t.Fatalf("Replicas(%s): not a team", proc.Name)
			}
			extra := proc
			extra.Name = fmt.Sprintf("%s-%d", proc.Name, k)
			extras = append(extras, extra)
		}
	}
	addrs, err := freeAddrs(len(all) + len(adminProcs) + len(extras))
	if err != nil {
		t.Fatal(err)
	}
	extraAddrs := addrs[len(all)+len(adminProcs):]
	for i, extra := range extras {
		p.URLs[extra.Name] = "http://" + extraAddrs[i]
	}
	p.Admin = map[string]string{}
	var adminEnv []string
	for i, name := range adminProcs {
		addr := addrs[len(all)+i]
		p.Admin[name] = "http://" + addr
		adminEnv = append(adminEnv, strings.ToUpper(name)+"_ADMIN_ADDR="+addr)
	}
	var teams []string
	for i, proc := range all {
		p.URLs[proc.Name] = "http://" + addrs[i]
		if bins.isTeam(proc.Binary()) {
			instances := []string{p.URLs[proc.Name]}
			for k := 2; k <= o.replicas[proc.Name]; k++ {
				instances = append(instances, p.URLs[fmt.Sprintf("%s-%d", proc.Name, k)])
			}
			teams = append(teams, proc.Name+"="+strings.Join(instances, "|"))
		}
	}
	p.Shell = p.URLs["shell"]
	p.Env = []string{
		"INLAY_ENV=dev",
		"LOG_LEVEL=info",
		"POSTGRES_URL=" + p.store.postgresURL,
		"REDIS_URL=" + p.store.redisURL,
		"AMQP_URL=" + p.store.amqpURL,
		"INLAY_DB_PREFIX=" + p.DBPrefix,
		"INLAY_REDIS_PREFIX=" + p.RedisPrefix,
		"INLAY_EXCHANGE=" + p.Exchange,
		"INLAY_SHELL_PRIVATE_KEY=" + base64.StdEncoding.EncodeToString(priv.Seed()),
		"INLAY_SHELL_PUBLIC_KEY=" + base64.StdEncoding.EncodeToString(pub),
		"INLAY_MOBILE_PRIVATE_KEY=" + base64.StdEncoding.EncodeToString(mobilePriv.Seed()),
		"INLAY_MOBILE_PUBLIC_KEY=" + base64.StdEncoding.EncodeToString(mobilePub),
		"INLAY_EMBED_PRIVATE_KEY=" + base64.StdEncoding.EncodeToString(embedPriv.Seed()),
		"INLAY_EMBED_PUBLIC_KEY=" + base64.StdEncoding.EncodeToString(embedPub),
		"INLAY_TEAMS=" + strings.Join(teams, ","),
		"INLAY_SHUTDOWN_TIMEOUT=5s",
		"INLAY_PURGE_TOKEN=" + uuid.NewString(),
		"EMBED_STOREFRONT_URL=" + p.Shell,
	}
	p.Env = append(p.Env, adminEnv...)
	// A team that calls the shell's admin API (explore purges its cached fragments) reads
	// <CONTEXT>_SHELL_URL: point every one at this platform's shell, never at the default port.
	for _, proc := range all {
		p.Env = append(p.Env, strings.ToUpper(proc.Name)+"_SHELL_URL="+p.Admin["shell"])
	}
	p.Env = append(p.Env, o.env...)

	for i, proc := range all {
		if !slices.ContainsFunc(procs, func(q procfile.Process) bool { return q.Name == proc.Name }) {
			continue
		}
		pr, err := p.newProcess(proc, addrs[i])
		if err != nil {
			t.Fatal(err)
		}
		p.procs[proc.Name] = pr
	}
	p.startAll(t, procs)
	if len(extras) > 0 {
		for i, extra := range extras {
			pr, err := p.newProcess(extra, extraAddrs[i])
			if err != nil {
				t.Fatal(err)
			}
			p.mu.Lock()
			p.procs[extra.Name] = pr
			p.mu.Unlock()
		}
		p.startAll(t, extras)
	}
	return p
}

// adminProcs are the processes with an admin listener of their own (<NAME>_ADMIN_ADDR).
var adminProcs = []string{"shell", "mobile", "embed"}

// URL returns the base URL of the named process, failing the test for an unknown name.
func (p *Platform) URL(t testing.TB, name string) string {
	t.Helper()
	u, ok := p.URLs[name]
	if !ok {
		t.Fatalf("no process %q in deploy/Procfile", name)
	}
	return u
}

// Stop stops the named process (as a team going down) and waits until it has exited.
func (p *Platform) Stop(t testing.TB, name string) {
	t.Helper()
	pr := p.process(t, name)
	if err := pr.stop(); err != nil {
		t.Fatalf("stop %s: %v", name, err)
	}
}

// Restart starts the named process again on the same port and waits until it is ready.
func (p *Platform) Restart(t testing.TB, name string) {
	t.Helper()
	pr := p.process(t, name)
	if err := pr.stop(); err != nil {
		t.Fatalf("stop %s: %v", name, err)
	}
	if err := pr.start(); err != nil {
		t.Fatal(err)
	}
	if err := pr.waitReady(context.Background(), readyTimeout); err != nil {
		t.Fatalf("%v\n%s", err, pr.logs.tail())
	}
}

// Logs returns the tail of the named process's output.
func (p *Platform) Logs(t testing.TB, name string) string {
	t.Helper()
	return p.process(t, name).logs.tail()
}

func (p *Platform) process(t testing.TB, name string) *process {
	t.Helper()
	p.mu.Lock()
	defer p.mu.Unlock()
	pr, ok := p.procs[name]
	if !ok {
		t.Fatalf("process %q is not part of this platform", name)
	}
	return pr
}

func (p *Platform) newProcess(proc procfile.Process, addr string) (*process, error) {
	bin, ok := p.bins.path(proc.Binary())
	if !ok {
		return nil, fmt.Errorf("deploy/Procfile: %s runs %s, but no cmd package builds that binary", proc.Name, proc.Command[0])
	}
	addrVar, _, ok := proc.AddrVar()
	if !ok {
		return nil, fmt.Errorf("deploy/Procfile: %s sets no *_ADDR variable", proc.Name)
	}
	env := append(os.Environ(), p.Env...)
	for _, e := range proc.Env {
		if e.Name != addrVar {
			env = append(env, e.Name+"="+e.Value)
		}
	}
	env = append(env, addrVar+"="+addr)
	logs := &logBuffer{max: logTailBytes}
	if dir := os.Getenv("INLAY_E2E_LOGS"); dir != "" {
		// Every line of every process, for a failure the tail and the warnings do not explain.
		dir = filepath.Join(dir, strings.NewReplacer("/", "_", " ", "_").Replace(p.t.Name()))
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return nil, fmt.Errorf("INLAY_E2E_LOGS: %w", err)
		}
		f, err := os.OpenFile(filepath.Join(dir, proc.Name+".log"), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
		if err != nil {
			return nil, fmt.Errorf("INLAY_E2E_LOGS: %w", err)
		}
		logs.file = f // closed by stop, once the process has exited
	}
	return &process{name: proc.Name, bin: bin, args: proc.Command[1:], dir: p.bins.root, env: env,
		url: "http://" + addr, logs: logs}, nil
}

// startAll starts the processes together and waits until each is ready; a failure fails t with the
// process's log.
func (p *Platform) startAll(t testing.TB, procs []procfile.Process) {
	t.Helper()
	for _, proc := range procs {
		if err := p.procs[proc.Name].start(); err != nil {
			t.Fatal(err)
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), readyTimeout)
	defer cancel()
	var wg sync.WaitGroup
	errs := make([]error, len(procs))
	for i, proc := range procs {
		wg.Go(func() {
			pr := p.procs[proc.Name]
			if err := pr.waitReady(ctx, readyTimeout); err != nil {
				errs[i] = fmt.Errorf("%w\n--- %s log ---\n%s", err, proc.Name, pr.logs.tail())
			}
		})
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		t.Fatalf("start the platform: %v", err)
	}
}

// stop ends every process and removes every piece of data the platform created.
func (p *Platform) stop() {
	p.mu.Lock()
	procs := p.procs
	p.mu.Unlock()
	var wg sync.WaitGroup
	for _, pr := range procs {
		wg.Go(func() {
			if err := pr.stop(); err != nil {
				p.t.Errorf("stop %s: %v", pr.name, err)
			}
		})
	}
	wg.Wait()
	for _, pr := range procs {
		pr.logs.close()
	}
	if p.t.Failed() || testing.Verbose() {
		for _, name := range slices.Sorted(func(yield func(string) bool) {
			for n := range procs {
				if !yield(n) {
					return
				}
			}
		}) {
			if n := procs[name].logs.notices(); n != "" {
				p.t.Logf("--- %s warnings and errors (all, from its start) ---\n%s", name, n)
			}
			p.t.Logf("--- %s log (tail) ---\n%s", name, procs[name].logs.tail())
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if err := p.store.remove(ctx, p.DBPrefix, p.RedisPrefix, p.Exchange); err != nil {
		p.t.Errorf("remove the platform's data: %v", err)
	}
}

// process is one running binary in its own process group.
type process struct {
	name, bin, dir, url string
	args, env           []string
	logs                *logBuffer

	mu   sync.Mutex
	cmd  *exec.Cmd
	done chan struct{} // closed when cmd has exited
}

func (pr *process) start() error {
	pr.mu.Lock()
	defer pr.mu.Unlock()
	cmd := exec.Command(pr.bin, pr.args...)
	cmd.Dir = pr.dir
	cmd.Env = pr.env
	cmd.Stdout = pr.logs
	cmd.Stderr = pr.logs
	// Its own process group, so stopping it stops anything it started; and killed with the test
	// binary, so a test killed by its timeout leaves nothing behind.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("start %s: %w", pr.name, err)
	}
	done := make(chan struct{})
	go func() {
		_ = cmd.Wait()
		close(done)
	}()
	pr.cmd, pr.done = cmd, done
	return nil
}

// stop sends SIGTERM to the process group, then SIGKILL when it has not exited in stopTimeout.
func (pr *process) stop() error {
	pr.mu.Lock()
	defer pr.mu.Unlock()
	if pr.cmd == nil {
		return nil
	}
	defer func() { pr.cmd = nil }()
	pgid := pr.cmd.Process.Pid
	select {
	case <-pr.done:
		// Exited by itself: still clear its group.
		_ = syscall.Kill(-pgid, syscall.SIGKILL)
		return nil
	default:
	}
	if err := syscall.Kill(-pgid, syscall.SIGTERM); err != nil && !errors.Is(err, syscall.ESRCH) {
		return fmt.Errorf("signal %s: %w", pr.name, err)
	}
	timer := time.NewTimer(stopTimeout)
	defer timer.Stop()
	select {
	case <-pr.done:
		_ = syscall.Kill(-pgid, syscall.SIGKILL) // anything left in its group
		return nil
	case <-timer.C:
		_ = syscall.Kill(-pgid, syscall.SIGKILL)
		<-pr.done
		return fmt.Errorf("%s did not stop within %s of SIGTERM; killed", pr.name, stopTimeout)
	}
}

// waitReady polls /readyz until it answers 200, the process exits, or the deadline passes.
func (pr *process) waitReady(ctx context.Context, timeout time.Duration) error {
	pr.mu.Lock()
	done := pr.done
	pr.mu.Unlock()
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	client := &http.Client{Timeout: 2 * time.Second}
	ticker := time.NewTicker(pollInterval)
	defer ticker.Stop()
	var last string
	for {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, pr.url+"/readyz?full=1", nil)
		if err != nil {
			return err
		}
		resp, err := client.Do(req)
		if err == nil {
			body := new(bytes.Buffer)
			_, _ = body.ReadFrom(resp.Body)
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
			last = fmt.Sprintf("%s: %s", resp.Status, strings.TrimSpace(body.String()))
		} else {
			last = err.Error()
		}
		select {
		case <-done:
			return fmt.Errorf("%s exited before it was ready", pr.name)
		case <-ctx.Done():
			return fmt.Errorf("%s not ready at %s/readyz within %s (last: %s)", pr.name, pr.url, timeout, last)
		case <-ticker.C:
		}
	}
}

// logBuffer keeps the last max bytes a process wrote and, apart, its WARN and ERROR lines from the
// start (up to noticeBytes): under load the tail has long lost the warning that explains a failure.
type logBuffer struct {
	mu      sync.Mutex
	max     int
	buf     []byte
	partial []byte // the start of a line not yet ended
	long    bool   // the line being written is longer than max: no log line, skipped to its end
	notable []byte
	dropped int      // notable lines past noticeBytes
	file    *os.File // every byte, when INLAY_E2E_LOGS names a directory
}

func (b *logBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.file != nil {
		_, _ = b.file.Write(p)
	}
	b.buf = append(b.buf, p...)
	if over := len(b.buf) - b.max; over > 0 {
		b.buf = append(b.buf[:0], b.buf[over:]...)
	}
	rest := p
	for {
		i := bytes.IndexByte(rest, '\n')
		if i < 0 {
			if !b.long && len(b.partial)+len(rest) <= b.max {
				b.partial = append(b.partial, rest...)
			} else {
				b.partial, b.long = b.partial[:0], true
			}
			break
		}
		line := rest[:i+1]
		if len(b.partial) > 0 {
			line = append(b.partial, line...)
			b.partial = b.partial[:0]
		}
		if b.long {
			b.long = false
		} else {
			b.keep(line)
		}
		rest = rest[i+1:]
	}
	return len(p), nil
}

// keep adds a whole line to the notable ones when it is one.
func (b *logBuffer) keep(line []byte) {
	if !notable(line) {
		return
	}
	if len(b.notable)+len(line) <= noticeBytes {
		b.notable = append(b.notable, line...)
	} else {
		b.dropped++
	}
}

// notable reports whether a log line (JSON or text) is a warning or an error, or the Go runtime's
// word that the process is going down (a panic, a fatal error, a data race).
func notable(line []byte) bool {
	for _, s := range []string{`"level":"WARN"`, `"level":"ERROR"`, "level=WARN", "level=ERROR"} {
		if bytes.Contains(line, []byte(s)) {
			return true
		}
	}
	for _, s := range []string{"panic:", "fatal error:", "WARNING: DATA RACE"} {
		if bytes.HasPrefix(line, []byte(s)) {
			return true
		}
	}
	return false
}

func (b *logBuffer) tail() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return string(b.buf)
}

// notices returns the process's WARN and ERROR lines (with its last line when it has not ended it),
// and how many more were left out.
func (b *logBuffer) notices() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	out := string(b.notable)
	if len(b.partial) > 0 && notable(b.partial) {
		out += string(b.partial) + "\n"
	}
	if b.dropped > 0 {
		out += fmt.Sprintf("... and %d more\n", b.dropped)
	}
	return out
}

// close closes the log file, when there is one; later writes go to the buffer alone.
func (b *logBuffer) close() {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.file != nil {
		_ = b.file.Close()
		b.file = nil
	}
}

// freeAddrs returns n distinct free 127.0.0.1 addresses. All are held open together while chosen, so
// none repeats.
func freeAddrs(n int) ([]string, error) {
	addrs := make([]string, 0, n)
	var lns []net.Listener
	defer func() {
		for _, ln := range lns {
			ln.Close()
		}
	}()
	for range n {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return nil, fmt.Errorf("free port: %w", err)
		}
		lns = append(lns, ln)
		addrs = append(addrs, ln.Addr().String())
	}
	return addrs, nil
}

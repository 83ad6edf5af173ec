package fragments

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"sort"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/valyala/fasthttp"
)

// Instance is one running copy of a team: a base URL of the registry. The shell, the BFFs and their
// proxies send a team's requests to its instances in turn, skipping those whose /readyz fails.
type Instance struct {
	// Team is the context the instance belongs to.
	Team string
	// Base is the instance's base URL, without a trailing slash.
	Base string

	scheme, hostHdr, addr, prefix string
	ready                         atomic.Bool
	version                       atomic.Pointer[string] // its manifest's version, as last read by Check
}

// Version is the version of the instance's manifest as its last health check read it, or "".
func (i *Instance) Version() string {
	if v := i.version.Load(); v != nil {
		return *v
	}
	return ""
}

// Ready reports whether the instance is in rotation: its last /readyz answered 200 (or was not asked
// yet), and no connection to it was refused since.
func (i *Instance) Ready() bool { return i.ready.Load() }

// URL returns the absolute URL of path on the instance.
func (i *Instance) URL(path string) string { return i.Base + path }

func newInstance(team, base string) (*Instance, error) {
	u, err := url.Parse(base)
	if err != nil || u.Host == "" || (u.Scheme != "http" && u.Scheme != "https") {
		return nil, fmt.Errorf("team %s: base URL %q must be http(s)://host[:port][/path]", team, base)
	}
	addr := u.Host
	if u.Port() == "" {
		if u.Scheme == "https" {
			addr += ":443"
		} else {
			addr += ":80"
		}
	}
	in := &Instance{Team: team, Base: base, scheme: u.Scheme, hostHdr: u.Host, addr: addr,
		prefix: trimSlash(u.Path)}
	in.ready.Store(true)
	return in, nil
}

func trimSlash(s string) string {
	for len(s) > 0 && s[len(s)-1] == '/' {
		s = s[:len(s)-1]
	}
	return s
}

// Instances is the rotation of every team's instances: round robin over the ready ones, a health
// check of each instance's /readyz (Run), and Down for an instance that refused a connection. A team
// with one instance is never checked: there is nothing to balance, and its failures are the
// breaker's business. It is safe for concurrent use.
type Instances struct {
	teams  map[string]*rotation
	names  []string
	client *http.Client
}

type rotation struct {
	all  []*Instance
	next atomic.Uint32

	mu   sync.Mutex
	seen map[string]int // each version's order of first sight (Current)
}

// NewInstances builds the rotation of a registry (ParseTeams).
func NewInstances(teams Teams) (*Instances, error) {
	in := &Instances{teams: make(map[string]*rotation, len(teams)),
		client: &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 2, IdleConnTimeout: 30 * time.Second},
			CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}}
	for name, bases := range teams {
		if len(bases) == 0 {
			return nil, fmt.Errorf("team %s: no base URL", name)
		}
		r := &rotation{}
		for _, b := range bases {
			inst, err := newInstance(name, b)
			if err != nil {
				return nil, err
			}
			r.all = append(r.all, inst)
		}
		in.teams[name] = r
		in.names = append(in.names, name)
	}
	sort.Strings(in.names)
	return in, nil
}

// All returns the team's instances in registry order, or nil for an unknown team.
func (in *Instances) All(team string) []*Instance {
	if r, ok := in.teams[team]; ok {
		return r.all
	}
	return nil
}

// Pick returns the team's next instance in rotation other than not (which may be nil): the next ready
// one, or, when none is ready, the next one at all (a team whose every instance fails its check is
// still asked, and its breaker and the fallbacks take it from there). It returns nil for an unknown
// team, and for a team whose only instance is not.
func (in *Instances) Pick(team string, not *Instance) *Instance {
	return in.PickVersion(team, not, "")
}

// PickVersion is Pick preferring an instance whose manifest has version (when it is not ""): during a
// rolling deploy a page composed with one version's manifest (its stylesheets) gets its fragments
// from instances of that version, ready ones first, then one that is draining (it still serves),
// and from another version's only when none of its own is left.
func (in *Instances) PickVersion(team string, not *Instance, version string) *Instance {
	r, ok := in.teams[team]
	if !ok {
		return nil
	}
	n := len(r.all)
	if n == 1 {
		if r.all[0] == not {
			return nil
		}
		return r.all[0]
	}
	start := int(r.next.Add(1) % uint32(n))
	// In order of preference: ready and of the version; of the version (a draining instance still
	// serves, and one that refuses is retried elsewhere); ready; any.
	var sameVersion, ready, fallback *Instance
	for k := range n {
		inst := r.all[(start+k)%n]
		if inst == not {
			continue
		}
		match := version == "" || inst.Version() == version
		switch {
		case inst.Ready() && match:
			return inst
		case match && sameVersion == nil:
			sameVersion = inst
		case inst.Ready() && ready == nil:
			ready = inst
		case fallback == nil:
			fallback = inst
		}
	}
	for _, inst := range []*Instance{sameVersion, ready, fallback} {
		if inst != nil {
			return inst
		}
	}
	return nil
}

// Current returns the team's newest manifest version among its ready instances: of their versions,
// the one the health checks found last (a rolling deploy rolls forward; a rollback, once no instance
// of the newer version is left, back), or "" while none is known (a team of one instance is never
// checked).
func (in *Instances) Current(team string) string {
	r, ok := in.teams[team]
	if !ok {
		return ""
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	cur, order := "", -1
	for _, inst := range r.all {
		v := inst.Version()
		if n, ok := r.seen[v]; ok && v != "" && inst.Ready() && n > order {
			cur, order = v, n
		}
	}
	return cur
}

func (r *rotation) saw(version string) {
	if version == "" {
		return
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.seen == nil {
		r.seen = map[string]int{}
	}
	if _, ok := r.seen[version]; !ok {
		r.seen[version] = len(r.seen)
	}
}

// Down takes an instance out of rotation until its next health check answers 200: it refused a
// connection, so it is stopping or not started. An instance of a one-instance team stays in.
func (in *Instances) Down(inst *Instance) {
	if inst == nil || len(in.All(inst.Team)) < 2 {
		return
	}
	inst.ready.Store(false)
}

// Check asks /readyz of every instance of every team that has several, each within timeout, and
// puts each in or out of rotation by its answer.
func (in *Instances) Check(ctx context.Context, timeout time.Duration) {
	var wg sync.WaitGroup
	for _, name := range in.names {
		r := in.teams[name]
		if len(r.all) < 2 {
			continue
		}
		for _, inst := range r.all {
			wg.Go(func() {
				err := in.probe(ctx, inst, timeout)
				if err == nil {
					// Its version before it is back in rotation: a restarted instance may run a new one.
					v := in.manifestVersion(ctx, inst, timeout)
					inst.version.Store(&v)
					r.saw(v)
				}
				inst.ready.Store(err == nil)
			})
		}
	}
	wg.Wait()
}

func (in *Instances) probe(ctx context.Context, inst *Instance, timeout time.Duration) error {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, inst.URL("/readyz"), nil)
	if err != nil {
		return err
	}
	resp, err := in.client.Do(req)
	if err != nil {
		return err
	}
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("%s/readyz: status %d", inst.Base, resp.StatusCode)
	}
	return nil
}

// manifestVersion reads the version of the instance's manifest, or "" when it has none.
func (in *Instances) manifestVersion(ctx context.Context, inst *Instance, timeout time.Duration) string {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, inst.URL(ManifestPath), nil)
	if err != nil {
		return ""
	}
	resp, err := in.client.Do(req)
	if err != nil {
		return ""
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return ""
	}
	var m struct {
		Version string `json:"version"`
	}
	if json.NewDecoder(io.LimitReader(resp.Body, 1<<20)).Decode(&m) != nil {
		return ""
	}
	return m.Version
}

// HealthInterval is how often Run asks the instances' /readyz by default: well within a draining
// instance's INLAY_DRAIN (5 s in the deploy files), so it leaves the rotation before it stops.
const HealthInterval = time.Second

// Run checks the instances every interval (HealthInterval when zero), each check within the same
// bound, until ctx is done. It returns nil at once when no team has several instances.
func (in *Instances) Run(ctx context.Context, interval time.Duration) error {
	if interval <= 0 {
		interval = HealthInterval
	}
	several := false
	for _, r := range in.teams {
		several = several || len(r.all) > 1
	}
	if !several {
		return nil
	}
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		in.Check(ctx, interval)
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
	}
}

// Close releases the health check's idle connections.
func (in *Instances) Close() { in.client.CloseIdleConnections() }

// Refused reports whether err means the request never reached a handler of the instance: the
// connection was refused, or was reset or closed before any byte of the answer (an instance that
// is stopping). Such a request may go to another instance.
func Refused(err error) bool {
	return errors.Is(err, syscall.ECONNREFUSED) || errors.Is(err, syscall.ECONNRESET) ||
		errors.Is(err, fasthttp.ErrConnectionClosed) || errors.Is(err, io.EOF) || errors.Is(err, syscall.EPIPE)
}

package fragments

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"slices"
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

	failures     atomic.Int32 // requests in a row that failed (Instances.Failed), reset by a success
	ejections    atomic.Int32 // ejections in a row with no success between them (each one longer)
	ejectedUntil atomic.Int64 // Unix nanoseconds; out of rotation until then (Instances.Failed)
}

// Version is the version of the instance's manifest as its last health check read it, or "".
func (i *Instance) Version() string {
	if v := i.version.Load(); v != nil {
		return *v
	}
	return ""
}

// Ready reports whether the instance is healthy: its last /readyz answered 200 (or was not asked
// yet), and no connection to it was refused since. A healthy instance may still be ejected (Ejected)
// for the requests that failed on it.
func (i *Instance) Ready() bool { return i.ready.Load() }

// Ejected reports whether the instance is out of rotation, until when, for requests that failed on
// it in a row (Instances.Failed).
func (i *Instance) Ejected(now time.Time) (bool, time.Time) {
	if !i.ejected(now) {
		return false, time.Time{}
	}
	return true, time.Unix(0, i.ejectedUntil.Load())
}

func (i *Instance) ejected(now time.Time) bool {
	u := i.ejectedUntil.Load()
	return u != 0 && now.UnixNano() < u
}

// serving reports whether Pick sends requests to the instance first: healthy and not ejected.
func (i *Instance) serving(now time.Time) bool { return i.ready.Load() && !i.ejected(now) }

// URL returns the absolute URL of path on the instance. Its host is the instance's address; send
// the request with Host as its Host header.
func (i *Instance) URL(path string) string { return i.Base + path }

// Host is the Host header of requests to the instance: the registry's host[:port], also when the
// instance is one of the addresses a host name resolved to.
func (i *Instance) Host() string { return i.hostHdr }

// Addr is the host:port the instance's connections are dialled to.
func (i *Instance) Addr() string { return i.addr }

// Scheme is "http" or "https".
func (i *Instance) Scheme() string { return i.scheme }

// Prefix is the path the team's paths are below ("" for the root).
func (i *Instance) Prefix() string { return i.prefix }

// TLSName is the server name to verify an https instance's certificate against: the registry's
// host, never a resolved address.
func (i *Instance) TLSName() string {
	if h, _, err := net.SplitHostPort(i.hostHdr); err == nil {
		return h
	}
	return i.hostHdr
}

func parseBase(team, base string) (*url.URL, error) {
	u, err := url.Parse(base)
	if err != nil || u.Host == "" || (u.Scheme != "http" && u.Scheme != "https") {
		return nil, fmt.Errorf("team %s: base URL %q must be http(s)://host[:port][/path]", team, base)
	}
	return u, nil
}

func defaultPort(u *url.URL) string {
	if p := u.Port(); p != "" {
		return p
	}
	if u.Scheme == "https" {
		return "443"
	}
	return "80"
}

// newInstance is the instance of a registry URL as it stands: dialled by its host (a name is resolved
// by the dialer at each connection).
func newInstance(team, base string) (*Instance, error) {
	u, err := parseBase(team, base)
	if err != nil {
		return nil, err
	}
	in := &Instance{Team: team, Base: base, scheme: u.Scheme, hostHdr: u.Host,
		addr: net.JoinHostPort(u.Hostname(), defaultPort(u)), prefix: trimSlash(u.Path)}
	in.ready.Store(true)
	return in, nil
}

// newAddressInstance is the instance at ip of a registry URL whose host is a name: dialled at ip, with
// the name as its Host header (and TLS server name).
func newAddressInstance(team string, u *url.URL, ip string) *Instance {
	addr := net.JoinHostPort(ip, defaultPort(u))
	in := &Instance{Team: team, Base: u.Scheme + "://" + addr + trimSlash(u.Path), scheme: u.Scheme,
		hostHdr: u.Host, addr: addr, prefix: trimSlash(u.Path)}
	in.ready.Store(true)
	return in
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
// breaker's business. A registry URL whose host is a DNS name (decide=http://decide.svc:8101) stands,
// once resolved (Resolve, and Run every InstancesOptions.DNSRefresh), for one instance per address
// the name resolves to; an address that goes away leaves the rotation, a new one joins it. It is safe
// for concurrent use.
type Instances struct {
	teams  map[string]*rotation
	names  []string
	client *http.Client
	opts   InstancesOptions
}

// Resolver looks a host name up, as net.Resolver.LookupHost does: its addresses, as IP literals.
type Resolver func(ctx context.Context, host string) ([]string, error)

// InstancesOptions configures NewInstancesWith.
type InstancesOptions struct {
	// DNSRefresh is how often Run resolves the registry's host names again; zero never resolves them
	// (each is one instance, resolved by the dialer at each connection).
	DNSRefresh time.Duration
	// Resolve looks the names up; net.DefaultResolver.LookupHost when nil.
	Resolve Resolver
	// ResolveTimeout bounds one lookup [2s].
	ResolveTimeout time.Duration
}

type rotation struct {
	srcs []*source
	all  atomic.Pointer[[]*Instance] // every source's instances, in registry order
	next atomic.Uint32

	mu   sync.Mutex
	seen map[string]int // each version's order of first sight (Current)

	ejectMu sync.Mutex // makes each ejection's check of the others and its own mark one step
}

// source is one URL of the registry: one instance, or, for a host name that is resolved, one per
// address it resolved to.
type source struct {
	u     *url.URL
	name  string // the host name to resolve; "" for an IP literal or when names are not resolved
	insts []*Instance
}

func (r *rotation) instances() []*Instance { return *r.all.Load() }

func (r *rotation) publish() {
	var all []*Instance
	for _, s := range r.srcs {
		all = append(all, s.insts...)
	}
	r.all.Store(&all)
}

// NewInstances builds the rotation of a registry (ParseTeams), its host names dialled as they are.
func NewInstances(teams Teams) (*Instances, error) {
	return NewInstancesWith(teams, InstancesOptions{})
}

// NewInstancesWith builds the rotation of a registry (ParseTeams). With opts.DNSRefresh set, a URL
// whose host is a name is one instance dialled by that name until Resolve (or Run) has resolved it.
func NewInstancesWith(teams Teams, opts InstancesOptions) (*Instances, error) {
	if opts.Resolve == nil {
		opts.Resolve = net.DefaultResolver.LookupHost
	}
	if opts.ResolveTimeout <= 0 {
		opts.ResolveTimeout = 2 * time.Second
	}
	in := &Instances{teams: make(map[string]*rotation, len(teams)), opts: opts,
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
			src := &source{insts: []*Instance{inst}}
			src.u, _ = parseBase(name, b) // newInstance parsed it
			if host := src.u.Hostname(); opts.DNSRefresh > 0 && net.ParseIP(host) == nil {
				src.name = host
			}
			r.srcs = append(r.srcs, src)
		}
		r.publish()
		in.teams[name] = r
		in.names = append(in.names, name)
	}
	sort.Strings(in.names)
	return in, nil
}

// Resolve looks every host name of the registry up again and makes each of its addresses an instance
// of the team (one already known keeps its health and version). A lookup that fails or finds nothing
// leaves the name's instances as they were: a DNS blip never empties a team.
func (in *Instances) Resolve(ctx context.Context) {
	var wg sync.WaitGroup
	for _, name := range in.names {
		r := in.teams[name]
		for _, src := range r.srcs {
			if src.name == "" {
				continue
			}
			wg.Go(func() {
				lctx, cancel := context.WithTimeout(ctx, in.opts.ResolveTimeout)
				defer cancel()
				addrs, err := in.opts.Resolve(lctx, src.name)
				if err != nil || len(addrs) == 0 {
					return
				}
				ips := make([]string, 0, len(addrs))
				for _, a := range addrs {
					if ip := net.ParseIP(a); ip != nil && !slices.Contains(ips, ip.String()) {
						ips = append(ips, ip.String())
					}
				}
				if len(ips) == 0 {
					return
				}
				sort.Strings(ips)
				r.mu.Lock()
				defer r.mu.Unlock()
				insts := make([]*Instance, 0, len(ips))
				for _, ip := range ips {
					addr := net.JoinHostPort(ip, defaultPort(src.u))
					i := slices.IndexFunc(src.insts, func(x *Instance) bool { return x.addr == addr })
					if i >= 0 {
						insts = append(insts, src.insts[i])
					} else {
						insts = append(insts, newAddressInstance(name, src.u, ip))
					}
				}
				src.insts = insts
				r.publish()
			})
		}
	}
	wg.Wait()
}

// resolves reports whether any URL of the registry is a host name Run resolves.
func (in *Instances) resolves() bool {
	for _, r := range in.teams {
		for _, s := range r.srcs {
			if s.name != "" {
				return true
			}
		}
	}
	return false
}

// All returns the team's instances in registry order, or nil for an unknown team.
func (in *Instances) All(team string) []*Instance {
	if r, ok := in.teams[team]; ok {
		return r.instances()
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
	all := r.instances()
	n := len(all)
	if n == 1 {
		if all[0] == not {
			return nil
		}
		return all[0]
	}
	start := int(r.next.Add(1) % uint32(n))
	now := time.Now()
	// In order of preference: serving (ready, not ejected) and of the version; of the version and
	// not ejected (a draining instance still serves, and one that refuses is retried elsewhere);
	// serving; any (an ejected instance of the version among them: its fragments were failing).
	var sameVersion, ready, fallback *Instance
	for k := range n {
		inst := all[(start+k)%n]
		if inst == not {
			continue
		}
		match := version == "" || inst.Version() == version
		ejected := inst.ejected(now)
		serving := inst.Ready() && !ejected
		switch {
		case serving && match:
			return inst
		case match && !ejected && sameVersion == nil:
			sameVersion = inst
		case serving && ready == nil:
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
	now := time.Now()
	for _, inst := range r.instances() {
		v := inst.Version()
		if n, ok := r.seen[v]; ok && v != "" && inst.serving(now) && n > order {
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

// Answered records the version an instance's answer said it runs (VersionHeader), when its health
// check last read another: it was replaced since (restarted with a new version on the same address).
func (in *Instances) Answered(inst *Instance, version string) {
	if inst == nil || version == "" || inst.Version() == version {
		return
	}
	inst.version.Store(&version)
	if r, ok := in.teams[inst.Team]; ok {
		r.saw(version)
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

// Failed records a request that failed on inst: a 5xx answer or a transport error other than a
// refusal (Down is for those; Client.outcome says which errors count, and timeouts do not). After
// failures requests in a row on it, the instance is ejected (out of rotation) for d, and Failed
// returns until when: its /readyz may well answer 200 while its fragments fail (a broken database
// connection, a bad build), and the team's breaker, which counts the team's requests in a row, never opens while another
// instance's successes come between them. An instance that fails again on its first request back is
// ejected again at once, each time for twice as long (up to 8 d) until it answers one. At most half
// of a team's instances are ejected at once, and only while another of them is serving: a team whose
// every instance fails is its breaker's business, and a team of one is never ejected.
func (in *Instances) Failed(inst *Instance, failures int, d time.Duration) (time.Time, bool) {
	if inst == nil || failures <= 0 || int(inst.failures.Add(1)) < failures {
		return time.Time{}, false
	}
	r, ok := in.teams[inst.Team]
	if !ok {
		return time.Time{}, false
	}
	r.ejectMu.Lock()
	defer r.ejectMu.Unlock()
	now := time.Now()
	if inst.ejected(now) {
		return time.Time{}, false // a request sent before the ejection, failing after it
	}
	all := r.instances()
	ejected, serving := 0, 0
	for _, o := range all {
		if o.ejected(now) {
			ejected++
		} else if o != inst && o.serving(now) {
			serving++
		}
	}
	if serving == 0 || 2*(ejected+1) > len(all) {
		return time.Time{}, false
	}
	k := min(inst.ejections.Add(1)-1, 3)
	until := now.Add(d << k)
	// Back in rotation, its first failure ejects it again.
	inst.failures.Store(int32(failures) - 1)
	inst.ejectedUntil.Store(until.UnixNano())
	return until, true
}

// Succeeded records a request that inst answered (below 500): its failures and ejections in a row
// start again.
func (in *Instances) Succeeded(inst *Instance) {
	if inst == nil {
		return
	}
	if inst.failures.Load() != 0 {
		inst.failures.Store(0)
	}
	if inst.ejections.Load() != 0 {
		inst.ejections.Store(0)
	}
}

// Check asks /readyz of every instance of every team that has several, each within timeout, and
// puts each in or out of rotation by its answer.
func (in *Instances) Check(ctx context.Context, timeout time.Duration) {
	var wg sync.WaitGroup
	for _, name := range in.names {
		r := in.teams[name]
		all := r.instances()
		if len(all) < 2 {
			continue
		}
		for _, inst := range all {
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
	req.Host = inst.Host()
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
	req.Host = inst.Host()
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
// bound, and resolves the registry's host names every InstancesOptions.DNSRefresh (at once first),
// until ctx is done. It returns nil at once when no team has several instances and no name is
// resolved.
func (in *Instances) Run(ctx context.Context, interval time.Duration) error {
	if interval <= 0 {
		interval = HealthInterval
	}
	resolves := in.resolves()
	several := false
	for _, r := range in.teams {
		several = several || len(r.instances()) > 1
	}
	if !several && !resolves {
		return nil
	}
	var lookup <-chan time.Time
	if resolves {
		in.Resolve(ctx)
		t := time.NewTicker(in.opts.DNSRefresh)
		defer t.Stop()
		lookup = t.C
	}
	t := time.NewTicker(interval)
	defer t.Stop()
	in.Check(ctx, interval)
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-lookup:
			in.Resolve(ctx)
		case <-t.C:
			in.Check(ctx, interval)
		}
	}
}

// Close releases the health check's idle connections.
func (in *Instances) Close() { in.client.CloseIdleConnections() }

// Refused reports whether err means the request never reached a handler of the instance: the
// connection was refused, or was reset or closed before any byte of the answer (an instance that
// is stopping). Such a request may go to another instance when sending it twice is harmless (a
// refused connection sent nothing; Client.try's retryable says which others).
func Refused(err error) bool {
	return errors.Is(err, syscall.ECONNREFUSED) || errors.Is(err, syscall.ECONNRESET) ||
		errors.Is(err, fasthttp.ErrConnectionClosed) || errors.Is(err, io.EOF) || errors.Is(err, syscall.EPIPE)
}

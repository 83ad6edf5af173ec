package compose

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/inlay-dev/inlay/fragments"
)

// Errors of resolving a tag's src.
var (
	// ErrBadSrc is a src that is not "context/name[?query]".
	ErrBadSrc = errors.New("compose: src must be context/name[?query]")
	// ErrUnknownContext is a src naming a context that is not registered.
	ErrUnknownContext = errors.New("compose: unknown context")
	// ErrUnknownFragment is a src naming a fragment that is not in its team's manifest.
	ErrUnknownFragment = errors.New("compose: fragment not in manifest")
)

// Team is a registered context: its instances' base URLs come from configuration, its manifest from
// the team.
type Team struct {
	Name      string
	Instances []string
	state     atomic.Pointer[teamState]
}

// teamState is one read of a team's manifest, swapped atomically on refresh.
type teamState struct {
	// loaded is false until the manifest was read once, and when the team has none (404): then any
	// well-formed fragment name is allowed with default settings.
	loaded bool
	// answered is true once the team answered a manifest request (200 or 404).
	answered bool
	manifest fragments.Manifest
	// css and js are the asset URLs (under the shell's /static/{context}/) per fragment.
	css map[string][]string
	js  map[string][]string
}

// Manifest returns the team's current manifest and whether it has one.
func (t *Team) Manifest() (fragments.Manifest, bool) {
	s := t.state.Load()
	if s == nil || !s.loaded {
		return fragments.Manifest{}, false
	}
	return s.manifest, true
}

// Version is the team's manifest version, or "".
func (t *Team) Version() string {
	if s := t.state.Load(); s != nil {
		return s.manifest.Version
	}
	return ""
}

// Teams is what the shell knows of the team registry (fragments.Teams, the platform's one registry):
// every context it may compose from, each with its manifest as last read.
type Teams struct {
	client *fragments.Client
	log    *slog.Logger
	byName map[string]*Team
	names  []string
}

// NewTeams registers the teams of the registry. Manifests are read by Refresh.
func NewTeams(client *fragments.Client, teams fragments.Teams, log *slog.Logger) *Teams {
	t := &Teams{client: client, log: log, byName: make(map[string]*Team, len(teams))}
	for name, bases := range teams {
		team := &Team{Name: name, Instances: bases}
		team.state.Store(&teamState{})
		t.byName[name] = team
		t.names = append(t.names, name)
	}
	sort.Strings(t.names)
	return t
}

// Team returns a registered team.
func (t *Teams) Team(name string) (*Team, bool) {
	team, ok := t.byName[name]
	return team, ok
}

// Names lists the registered contexts, sorted.
func (t *Teams) Names() []string { return t.names }

// Refresh reads every team's manifest in parallel, each within timeout. A team that cannot be
// reached keeps its previous manifest; a team that answers 404 has none. The first error is
// returned after all have been tried.
func (t *Teams) Refresh(ctx context.Context, timeout time.Duration) error {
	var wg sync.WaitGroup
	errs := make([]error, len(t.names))
	for i, name := range t.names {
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs[i] = t.refreshTeam(ctx, t.byName[name], timeout)
		}()
	}
	wg.Wait()
	return errors.Join(errs...)
}

func (t *Teams) refreshTeam(ctx context.Context, team *Team, timeout time.Duration) error {
	// From an instance of the newest version the health checks found: during a rolling deploy the
	// team's manifest moves forward once, instead of from one instance's version to another's.
	resp, err := t.client.Fetch(ctx, fragments.FetchRequest{Team: team.Name, Path: fragments.ManifestPath, Timeout: timeout,
		Version: t.client.Instances().Current(team.Name)})
	if err != nil {
		return fmt.Errorf("manifest of %s: %w", team.Name, err)
	}
	switch {
	case resp.Status == 404:
		team.state.Store(&teamState{answered: true})
		return nil
	case resp.Status != 200:
		return fmt.Errorf("manifest of %s: status %d", team.Name, resp.Status)
	}
	var m fragments.Manifest
	if err := json.Unmarshal(resp.Body, &m); err != nil {
		return fmt.Errorf("manifest of %s: %w", team.Name, err)
	}
	old := team.state.Load()
	st := &teamState{loaded: true, answered: true, manifest: m, css: map[string][]string{}, js: map[string][]string{}}
	for name, f := range m.Fragments {
		for _, p := range f.CSS {
			st.css[name] = append(st.css[name], assetURL(team.Name, p))
		}
		for _, p := range f.JS {
			st.js[name] = append(st.js[name], assetURL(team.Name, p))
		}
	}
	team.state.Store(st)
	if old == nil || old.manifest.Version != m.Version {
		t.log.Info("manifest loaded", "team", team.Name, "version", m.Version, "fragments", len(m.Fragments))
	}
	return nil
}

// assetURL maps a manifest asset path (under the team's /static/) to the shell's /static/{context}/.
func assetURL(team, p string) string {
	if strings.HasPrefix(p, "http://") || strings.HasPrefix(p, "https://") || strings.HasPrefix(p, "//") {
		return "/static/" + team + "/" + strings.TrimLeft(p[strings.Index(p, "//")+2:], "/")
	}
	p = strings.TrimPrefix(p, "/")
	p = strings.TrimPrefix(p, "static/")
	return "/static/" + team + "/" + p
}

// Run re-reads the manifests every interval until ctx is done, so a team's new version takes effect
// without restarting the shell. While a manifest cannot be read (a team still starting, or down), it
// retries sooner — 250 ms, doubling up to interval — so a page soon gets the team's assets. A team
// whose instances' health checks found a version newer than its manifest's (an instance of a new
// version is ready) is read again within a second. Failures are logged, never fatal.
func (t *Teams) Run(ctx context.Context, interval, timeout time.Duration) error {
	const firstRetry = 250 * time.Millisecond
	next := interval
	if t.unread() {
		next = min(firstRetry, interval)
	}
	timer := time.NewTimer(next)
	defer timer.Stop()
	versions := time.NewTicker(versionCheck)
	defer versions.Stop()
	for {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-versions.C:
			t.refreshNewVersions(ctx, timeout)
			continue
		case <-timer.C:
		}
		err := t.Refresh(ctx, timeout)
		if ctx.Err() != nil {
			return ctx.Err()
		}
		switch {
		case err == nil:
			next = interval
		case next >= interval:
			t.log.Warn("manifest refresh", "error", err.Error())
			next = min(firstRetry, interval)
		default:
			t.log.Debug("manifest refresh, retrying soon", "error", err.Error(), "in", next*2)
			next = min(next*2, interval)
		}
		timer.Reset(next)
	}
}

// versionCheck is how often Run compares the teams' manifest versions with their instances'.
const versionCheck = time.Second

// refreshNewVersions reads again the manifest of every team whose instances run a newer version than
// its manifest's.
func (t *Teams) refreshNewVersions(ctx context.Context, timeout time.Duration) {
	for _, name := range t.names {
		team := t.byName[name]
		if cur := t.client.Instances().Current(name); cur != "" && cur != team.Version() {
			if err := t.refreshTeam(ctx, team, timeout); err != nil {
				t.log.Warn("manifest refresh for a new version", "team", name, "version", cur, "error", err.Error())
			}
		}
	}
}

// Unread lists the teams that have not answered a manifest request since the start (sorted).
func (t *Teams) Unread() []string {
	var out []string
	for _, name := range t.names {
		if s := t.byName[name].state.Load(); s == nil || !s.answered {
			out = append(out, name)
		}
	}
	return out
}

// unread reports whether a team's manifest has never been read (nor answered 404).
func (t *Teams) unread() bool {
	for _, team := range t.byName {
		if s := team.state.Load(); s == nil || !s.loaded {
			return true
		}
	}
	return false
}

// ref is a resolved src: which team, which fragment, with which parameters.
type ref struct {
	team    *Team
	name    string
	path    string // "/fragments/name"
	query   string
	frag    fragments.Fragment
	version string // its version: the fragment is fetched from an instance of it when one is ready
	css, js []string
}

// resolve checks a tag's src against the registry: the context must be registered and, when the team
// has a manifest, the fragment must be in it; parameters the manifest does not name are dropped. A
// src is never a URL.
func (t *Teams) resolve(src string) (ref, error) {
	p, q, _ := strings.Cut(src, "?")
	ctxName, name, ok := strings.Cut(p, "/")
	if !ok || !validName(ctxName) || !validName(name) {
		return ref{}, fmt.Errorf("%w: %q", ErrBadSrc, src)
	}
	team, ok := t.byName[ctxName]
	if !ok {
		return ref{}, fmt.Errorf("%w %q", ErrUnknownContext, ctxName)
	}
	r := ref{team: team, name: name, path: "/fragments/" + name}
	st := team.state.Load()
	if st == nil || !st.answered {
		// The team has not answered for its manifest yet (it is starting, or down), so what its
		// fragments declare is unknown: each is fetched for this visitor alone, never cached, with the
		// whole context, CSRF token included, so a form rendered in that window still submits.
		r.frag = fragments.Fragment{Cache: fragments.Private, CSRF: true}
	}
	if st != nil && st.loaded {
		f, ok := st.manifest.Fragments[name]
		if !ok {
			return ref{}, fmt.Errorf("%w: %s/%s", ErrUnknownFragment, ctxName, name)
		}
		r.frag, r.version = f, st.manifest.Version
		r.css, r.js = st.css[name], st.js[name]
		if q != "" {
			vals, err := url.ParseQuery(q)
			if err != nil {
				return ref{}, fmt.Errorf("%w: %q: %w", ErrBadSrc, src, err)
			}
			// Only the declared parameters, in the manifest's order: a canonical cache key.
			var b strings.Builder
			for _, k := range f.Params {
				for _, v := range vals[k] {
					if b.Len() > 0 {
						b.WriteByte('&')
					}
					b.WriteString(url.QueryEscape(k))
					b.WriteByte('=')
					b.WriteString(url.QueryEscape(v))
				}
			}
			r.query = b.String()
		}
		return r, nil
	}
	if q != "" {
		if !cleanQuery(q) {
			vals, err := url.ParseQuery(q)
			if err != nil {
				return ref{}, fmt.Errorf("%w: %q: %w", ErrBadSrc, src, err)
			}
			q = vals.Encode()
		}
		r.query = q
	}
	return r, nil
}

// validName accepts a context or fragment name: lower-case letters, digits, '-' and '_'.
func validName(s string) bool {
	if s == "" || len(s) > 64 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-' || c == '_' || c >= 'A' && c <= 'Z') {
			return false
		}
	}
	return true
}

// cleanQuery reports whether q can go on the wire as it is.
func cleanQuery(q string) bool {
	for i := 0; i < len(q); i++ {
		c := q[i]
		if c <= ' ' || c >= 0x7f || c == '#' || c == '"' || c == '<' || c == '>' || c == '\\' {
			return false
		}
	}
	return true
}

// PurgePrefix returns the cache key prefix a purge of target removes: "context" purges all of a
// team's fragments, "context/name" one fragment with any parameters, "context/name?params" one copy
// (in every locale).
func (t *Teams) PurgePrefix(target string) (string, error) {
	if !strings.Contains(target, "/") {
		if _, ok := t.byName[target]; !ok {
			return "", fmt.Errorf("%w %q", ErrUnknownContext, target)
		}
		return target + "/", nil
	}
	r, err := t.resolve(target)
	if err != nil {
		return "", err
	}
	if !strings.Contains(target, "?") {
		return r.team.Name + "/" + r.name + "?", nil
	}
	return r.team.Name + "/" + r.name + "?" + r.query + "#", nil
}

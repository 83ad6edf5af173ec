// Package teams reads the team registry the backends-for-frontend speak HTTP to: INLAY_TEAMS, a
// comma-separated list of context=baseURL pairs. Team URLs come only from this configuration, never
// from a request (DESIGN.md §6).
package teams

import (
	"fmt"
	"net/url"
	"regexp"
	"sort"
	"strings"
)

// DefaultRegistry is INLAY_TEAMS's local default: every team on its DESIGN.md §8 port.
const DefaultRegistry = "decide=http://127.0.0.1:8101,explore=http://127.0.0.1:8102," +
	"checkout=http://127.0.0.1:8103,inspire=http://127.0.0.1:8104,inventory=http://127.0.0.1:8105," +
	"payments=http://127.0.0.1:8106,accounts=http://127.0.0.1:8107"

// Registry maps a context name to its team's base URL.
type Registry map[string]*url.URL

var contextName = regexp.MustCompile(`^[a-z][a-z0-9-]{0,31}$`)

// Parse reads a registry such as "decide=http://127.0.0.1:8101,explore=http://127.0.0.1:8102". It
// rejects empty or duplicate names, names that are not lower-case identifiers, and URLs that are not
// absolute http(s) URLs without query or fragment.
func Parse(s string) (Registry, error) {
	r := Registry{}
	for _, pair := range strings.Split(s, ",") {
		pair = strings.TrimSpace(pair)
		if pair == "" {
			continue
		}
		name, raw, ok := strings.Cut(pair, "=")
		name, raw = strings.TrimSpace(name), strings.TrimSpace(raw)
		if !ok || !contextName.MatchString(name) {
			return nil, fmt.Errorf("INLAY_TEAMS: %q is not context=url with a lower-case context name", pair)
		}
		if _, dup := r[name]; dup {
			return nil, fmt.Errorf("INLAY_TEAMS: context %q appears twice", name)
		}
		u, err := url.Parse(raw)
		if err != nil {
			return nil, fmt.Errorf("INLAY_TEAMS: %s: %w", name, err)
		}
		if (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.RawQuery != "" || u.Fragment != "" {
			return nil, fmt.Errorf("INLAY_TEAMS: %s: %q is not an absolute http(s) base URL", name, raw)
		}
		u.Path = strings.TrimSuffix(u.Path, "/")
		r[name] = u
	}
	if len(r) == 0 {
		return nil, fmt.Errorf("INLAY_TEAMS: no teams")
	}
	return r, nil
}

// Names returns the registered contexts in alphabetical order.
func (r Registry) Names() []string {
	names := make([]string, 0, len(r))
	for n := range r {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

// URL returns the absolute URL of path on the named team, or false when the team is not registered.
func (r Registry) URL(name, path string) (string, bool) {
	base, ok := r[name]
	if !ok {
		return "", false
	}
	return base.String() + "/" + strings.TrimPrefix(path, "/"), true
}

package fragments

import (
	"fmt"
	"net/url"
	"sort"
	"strings"
)

// DefaultTeams is the team registry's local default: every team on its own port (docs/architecture.md).
const DefaultTeams = "decide=http://127.0.0.1:8101,explore=http://127.0.0.1:8102," +
	"checkout=http://127.0.0.1:8103,inspire=http://127.0.0.1:8104,inventory=http://127.0.0.1:8105," +
	"payments=http://127.0.0.1:8106,accounts=http://127.0.0.1:8107"

// Teams is the team registry (INLAY_TEAMS): each context's base URL, without a trailing slash. Team
// URLs come only from it, never from a request (docs/security.md). It is the one registry of the
// platform: the shell (its client and composition engine), the BFFs and a publisher's catch-up
// read it with ParseTeams.
type Teams map[string]string

// ParseTeams reads a registry such as "decide=http://127.0.0.1:8101,explore=http://127.0.0.1:8102";
// an empty one is DefaultTeams. It rejects duplicate contexts, context names that are not lower-case
// names, and URLs that are not absolute http(s) URLs without query or fragment.
func ParseTeams(s string) (Teams, error) {
	if strings.TrimSpace(s) == "" {
		s = DefaultTeams
	}
	teams := Teams{}
	for _, pair := range strings.Split(s, ",") {
		pair = strings.TrimSpace(pair)
		if pair == "" {
			continue
		}
		name, base, ok := strings.Cut(pair, "=")
		name, base = strings.TrimSpace(name), strings.TrimSpace(base)
		if !ok || !validTeamName(name) {
			return nil, fmt.Errorf("team registry: %q is not context=url with a lower-case context name", pair)
		}
		if _, dup := teams[name]; dup {
			return nil, fmt.Errorf("team registry: context %s appears twice", name)
		}
		u, err := url.Parse(base)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.User != nil ||
			u.RawQuery != "" || u.ForceQuery || u.Fragment != "" {
			return nil, fmt.Errorf("team registry: %s: %q is not an absolute http(s) base URL", name, base)
		}
		teams[name] = strings.TrimRight(base, "/")
	}
	if len(teams) == 0 {
		return nil, fmt.Errorf("team registry: no teams in %q", s)
	}
	return teams, nil
}

func validTeamName(s string) bool {
	if s == "" || len(s) > 64 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-' || c == '_') {
			return false
		}
	}
	return true
}

// Names returns the registered contexts in alphabetical order.
func (t Teams) Names() []string {
	names := make([]string, 0, len(t))
	for n := range t {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

// URL returns the absolute URL of path on the named team, or false when the team is not registered.
func (t Teams) URL(name, path string) (string, bool) {
	base, ok := t[name]
	if !ok {
		return "", false
	}
	return base + "/" + strings.TrimPrefix(path, "/"), true
}

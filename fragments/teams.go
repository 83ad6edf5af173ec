package fragments

import (
	"fmt"
	"net/url"
	"slices"
	"sort"
	"strings"
)

// DefaultTeams is the team registry's local default: every team on its own port (docs/architecture.md).
const DefaultTeams = "decide=http://127.0.0.1:8101,explore=http://127.0.0.1:8102," +
	"checkout=http://127.0.0.1:8103,inspire=http://127.0.0.1:8104,inventory=http://127.0.0.1:8105," +
	"payments=http://127.0.0.1:8106,accounts=http://127.0.0.1:8107"

// Teams is the team registry (INLAY_TEAMS): each context's instances, as base URLs without a trailing
// slash. Team URLs come only from it, never from a request (docs/security.md). It is the one registry
// of the platform: the shell (its client, proxy and composition engine), the BFFs and a publisher's
// catch-up read it with ParseTeams. A team with several instances is balanced across them
// (Instances).
type Teams map[string][]string

// ParseTeams reads a registry such as "decide=http://127.0.0.1:8101,explore=http://127.0.0.1:8102";
// a team with several instances lists them separated by "|":
// "decide=http://10.0.0.1:8101|http://10.0.0.2:8101". An empty registry is DefaultTeams. It rejects
// duplicate contexts and instances, context names that are not lower-case names, and URLs that are
// not absolute http(s) URLs without query or fragment.
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
		var bases []string
		for b := range strings.SplitSeq(base, "|") {
			b = strings.TrimSpace(b)
			u, err := url.Parse(b)
			if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.User != nil ||
				u.RawQuery != "" || u.ForceQuery || u.Fragment != "" {
				return nil, fmt.Errorf("team registry: %s: %q is not an absolute http(s) base URL", name, b)
			}
			b = strings.TrimRight(b, "/")
			if slices.Contains(bases, b) {
				return nil, fmt.Errorf("team registry: %s: instance %s appears twice", name, b)
			}
			bases = append(bases, b)
		}
		teams[name] = bases
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

// URL returns the absolute URL of path on the named team's first instance, or false when the team is
// not registered.
func (t Teams) URL(name, path string) (string, bool) {
	bases := t[name]
	if len(bases) == 0 {
		return "", false
	}
	return bases[0] + "/" + strings.TrimPrefix(path, "/"), true
}

// String writes the registry back in ParseTeams' form, teams in alphabetical order.
func (t Teams) String() string {
	var b strings.Builder
	for i, name := range t.Names() {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString(name + "=" + strings.Join(t[name], "|"))
	}
	return b.String()
}

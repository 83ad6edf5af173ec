package fragments

import (
	"strings"
	"testing"
)

func TestParseTeams(t *testing.T) {
	t.Parallel()
	all := map[string]string{
		"decide": "http://127.0.0.1:8101", "explore": "http://127.0.0.1:8102", "checkout": "http://127.0.0.1:8103",
		"inspire": "http://127.0.0.1:8104", "inventory": "http://127.0.0.1:8105", "payments": "http://127.0.0.1:8106",
		"accounts": "http://127.0.0.1:8107"}
	tests := []struct {
		name    string
		in      string
		want    map[string]string
		wantErr string
	}{
		{name: "default", in: DefaultTeams, want: all},
		{name: "empty is the default", in: " ", want: all},
		{name: "spaces and trailing slash", in: " decide = http://a:1/ , explore=https://b/x/ ,",
			want: map[string]string{"decide": "http://a:1", "explore": "https://b/x"}},
		{name: "several instances", in: "decide=http://a:1/| http://b:2/ ,explore=http://c",
			want: map[string]string{"decide": "http://a:1|http://b:2", "explore": "http://c"}},
		{name: "no teams", in: " , ", wantErr: "no teams"},
		{name: "empty instance", in: "decide=http://a|", wantErr: "absolute"},
		{name: "duplicate instance", in: "decide=http://a|http://a/", wantErr: "twice"},
		{name: "no equals", in: "decide", wantErr: "not context=url"},
		{name: "no name", in: "=http://x", wantErr: "not context=url"},
		{name: "space in name", in: "a b=http://x", wantErr: "not context=url"},
		{name: "upper-case name", in: "Decide=http://a", wantErr: "not context=url"},
		{name: "duplicate", in: "decide=http://a,decide=http://b", wantErr: "twice"},
		{name: "no url", in: "decide=", wantErr: "absolute"},
		{name: "relative url", in: "decide=/x", wantErr: "absolute"},
		{name: "other scheme", in: "decide=file:///etc", wantErr: "absolute"},
		{name: "query", in: "decide=http://a/?x=1", wantErr: "absolute"},
		{name: "fragment", in: "decide=http://a/#x", wantErr: "absolute"},
		{name: "credentials", in: "decide=http://u:p@a/", wantErr: "absolute"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got, err := ParseTeams(tt.in)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("ParseTeams(%q) error = %v, want one containing %q", tt.in, err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("ParseTeams(%q): %v", tt.in, err)
			}
			if len(got) != len(tt.want) {
				t.Fatalf("ParseTeams(%q) = %v, want %v", tt.in, got, tt.want)
			}
			for name, u := range tt.want {
				if strings.Join(got[name], "|") != u {
					t.Errorf("team %s = %q, want %q", name, got[name], u)
				}
			}
		})
	}
}

func TestTeamsURLAndNames(t *testing.T) {
	t.Parallel()
	r, err := ParseTeams("decide=http://a:1/base/,explore=http://b:2")
	if err != nil {
		t.Fatal(err)
	}
	if u, ok := r.URL("decide", "/v1/products"); !ok || u != "http://a:1/base/v1/products" {
		t.Errorf("URL = %q, %v", u, ok)
	}
	if _, ok := r.URL("inspire", "/v1"); ok {
		t.Error("URL of an unregistered team must report false")
	}
	if got := strings.Join(r.Names(), ","); got != "decide,explore" {
		t.Errorf("Names = %q", got)
	}
	if got := r.String(); got != "decide=http://a:1/base,explore=http://b:2" {
		t.Errorf("String = %q", got)
	}
	back, err := ParseTeams(r.String())
	if err != nil || back.String() != r.String() {
		t.Errorf("ParseTeams(String()) = %v, %v", back, err)
	}
}

// TestParsedTeamsMakeAClient: every registry ParseTeams accepts is one NewClient accepts.
func TestParsedTeamsMakeAClient(t *testing.T) {
	t.Parallel()
	teams, err := ParseTeams("decide=http://127.0.0.1:8101/,explore=https://explore.example/x")
	if err != nil {
		t.Fatal(err)
	}
	c, err := NewClient(ClientOptions{Teams: teams})
	if err != nil {
		t.Fatal(err)
	}
	c.Close()
}

package teams

import (
	"strings"
	"testing"
)

func TestParse(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		in      string
		want    map[string]string
		wantErr string
	}{
		{name: "default", in: DefaultRegistry, want: map[string]string{
			"decide": "http://127.0.0.1:8101", "explore": "http://127.0.0.1:8102", "checkout": "http://127.0.0.1:8103",
			"inspire": "http://127.0.0.1:8104", "inventory": "http://127.0.0.1:8105", "payments": "http://127.0.0.1:8106",
			"accounts": "http://127.0.0.1:8107"}},
		{name: "spaces and trailing slash", in: " decide = http://a:1/ , explore=https://b/x/ ,",
			want: map[string]string{"decide": "http://a:1", "explore": "https://b/x"}},
		{name: "empty", in: " , ", wantErr: "no teams"},
		{name: "no equals", in: "decide", wantErr: "not context=url"},
		{name: "upper-case name", in: "Decide=http://a", wantErr: "not context=url"},
		{name: "duplicate", in: "decide=http://a,decide=http://b", wantErr: "twice"},
		{name: "relative url", in: "decide=/x", wantErr: "absolute"},
		{name: "other scheme", in: "decide=file:///etc", wantErr: "absolute"},
		{name: "query", in: "decide=http://a/?x=1", wantErr: "absolute"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got, err := Parse(tt.in)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("Parse(%q) error = %v, want one containing %q", tt.in, err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("Parse(%q): %v", tt.in, err)
			}
			if len(got) != len(tt.want) {
				t.Fatalf("Parse(%q) = %d teams, want %d", tt.in, len(got), len(tt.want))
			}
			for name, u := range tt.want {
				if got[name] == nil || got[name].String() != u {
					t.Errorf("team %s = %v, want %s", name, got[name], u)
				}
			}
		})
	}
}

func TestRegistryURL(t *testing.T) {
	t.Parallel()
	r, err := Parse("decide=http://a:1/base")
	if err != nil {
		t.Fatal(err)
	}
	if u, ok := r.URL("decide", "/v1/products"); !ok || u != "http://a:1/base/v1/products" {
		t.Errorf("URL = %q, %v", u, ok)
	}
	if _, ok := r.URL("explore", "/v1"); ok {
		t.Error("URL of an unregistered team must report false")
	}
	if got := strings.Join(r.Names(), ","); got != "decide" {
		t.Errorf("Names = %q", got)
	}
}

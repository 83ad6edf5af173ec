package procfile

import (
	"strings"
	"testing"
)

func TestParse(t *testing.T) {
	t.Parallel()
	procs, err := Parse(strings.NewReader(`# comment: with a colon
shell: SHELL_ADDR=:8080 bin/shelld

decide: LOG_LEVEL=debug DECIDE_ADDR=127.0.0.1:8101 bin/decided -flag x
`))
	if err != nil {
		t.Fatal(err)
	}
	if len(procs) != 2 {
		t.Fatalf("got %d processes, want 2", len(procs))
	}
	tests := []struct {
		p              Process
		name, binary   string
		addrVar, value string
		port           int
		args           int
	}{
		{procs[0], "shell", "shelld", "SHELL_ADDR", ":8080", 8080, 1},
		{procs[1], "decide", "decided", "DECIDE_ADDR", "127.0.0.1:8101", 8101, 3},
	}
	for _, tt := range tests {
		if tt.p.Name != tt.name || tt.p.Binary() != tt.binary || len(tt.p.Command) != tt.args {
			t.Errorf("process = %+v, want %s running %s with %d words", tt.p, tt.name, tt.binary, tt.args)
		}
		v, val, ok := tt.p.AddrVar()
		if !ok || v != tt.addrVar || val != tt.value {
			t.Errorf("%s AddrVar = %s=%s %v", tt.name, v, val, ok)
		}
		if port, err := tt.p.Port(); err != nil || port != tt.port {
			t.Errorf("%s Port = %d, %v", tt.name, port, err)
		}
	}
}

func TestParseErrors(t *testing.T) {
	t.Parallel()
	tests := map[string]string{
		"empty":        "# nothing\n\n",
		"no colon":     "shell bin/shelld\n",
		"bad name":     "Shell: bin/shelld\n",
		"duplicate":    "a: bin/a\na: bin/b\n",
		"no command":   "a: A_ADDR=:1\n",
		"empty though": "a:\n",
	}
	for name, in := range tests {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			if _, err := Parse(strings.NewReader(in)); err == nil {
				t.Fatalf("Parse(%q) succeeded, want an error", in)
			}
		})
	}
}

func TestPortErrors(t *testing.T) {
	t.Parallel()
	for _, p := range []Process{
		{Name: "a", Command: []string{"bin/a"}},
		{Name: "a", Env: []EnvVar{{"A_ADDR", "localhost"}}, Command: []string{"bin/a"}},
		{Name: "a", Env: []EnvVar{{"A_ADDR", ":70000"}}, Command: []string{"bin/a"}},
	} {
		if port, err := p.Port(); err == nil {
			t.Errorf("Port of %+v = %d, want an error", p.Env, port)
		}
	}
}

// Package procfile reads deploy/Procfile, the one list of Inlay's processes: the e2e harness starts
// what it names, and the deploy tests check compose.yaml and the Kubernetes manifests against it.
//
// A line is `name: [VAR=value ...] bin/<binary> [args...]`; blank lines and lines starting with # are
// ignored. The process's listen address is the *_ADDR variable set on its line.
package procfile

import (
	"bufio"
	"fmt"
	"io"
	"os"
	"path"
	"regexp"
	"strconv"
	"strings"
)

// Process is one line of a Procfile.
type Process struct {
	// Name is the process name: shell, decide, mobile, ...
	Name string
	// Env holds the VAR=value assignments before the command, in order.
	Env []EnvVar
	// Command is the command and its arguments, after the assignments.
	Command []string
}

// EnvVar is one assignment on a Procfile line.
type EnvVar struct {
	Name, Value string
}

// Binary is the base name of the command: "shelld" for bin/shelld.
func (p Process) Binary() string { return path.Base(p.Command[0]) }

// AddrVar returns the name and value of the process's *_ADDR assignment.
func (p Process) AddrVar() (name, value string, ok bool) {
	for _, e := range p.Env {
		if strings.HasSuffix(e.Name, "_ADDR") {
			return e.Name, e.Value, true
		}
	}
	return "", "", false
}

// Port is the port of the process's listen address.
func (p Process) Port() (int, error) {
	name, value, ok := p.AddrVar()
	if !ok {
		return 0, fmt.Errorf("process %s sets no *_ADDR variable", p.Name)
	}
	i := strings.LastIndexByte(value, ':')
	port, err := strconv.Atoi(value[i+1:])
	if i < 0 || err != nil || port <= 0 || port > 65535 {
		return 0, fmt.Errorf("process %s: %s=%q has no valid port", p.Name, name, value)
	}
	return port, nil
}

var (
	nameRE   = regexp.MustCompile(`^[a-z][a-z0-9-]*$`)
	assignRE = regexp.MustCompile(`^([A-Z][A-Z0-9_]*)=(\S*)$`)
)

// Parse reads a Procfile. It rejects duplicate or malformed names and lines without a command.
func Parse(r io.Reader) ([]Process, error) {
	var procs []Process
	seen := map[string]bool{}
	sc := bufio.NewScanner(r)
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		name, cmd, ok := strings.Cut(line, ":")
		name = strings.TrimSpace(name)
		if !ok || !nameRE.MatchString(name) {
			return nil, fmt.Errorf("procfile line %d: want `name: command`, got %q", n, line)
		}
		if seen[name] {
			return nil, fmt.Errorf("procfile line %d: process %s appears twice", n, name)
		}
		seen[name] = true
		p := Process{Name: name}
		fields := strings.Fields(cmd)
		for len(fields) > 0 {
			m := assignRE.FindStringSubmatch(fields[0])
			if m == nil {
				break
			}
			p.Env = append(p.Env, EnvVar{Name: m[1], Value: m[2]})
			fields = fields[1:]
		}
		if len(fields) == 0 {
			return nil, fmt.Errorf("procfile line %d: process %s has no command", n, name)
		}
		p.Command = fields
		procs = append(procs, p)
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("read procfile: %w", err)
	}
	if len(procs) == 0 {
		return nil, fmt.Errorf("procfile has no processes")
	}
	return procs, nil
}

// ParseFile reads the Procfile at path.
func ParseFile(path string) ([]Process, error) {
	f, err := os.Open(path) //nolint:gosec // G304: the caller names the repository's own Procfile
	if err != nil {
		return nil, fmt.Errorf("open procfile: %w", err)
	}
	defer f.Close()
	procs, err := Parse(f)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return procs, nil
}

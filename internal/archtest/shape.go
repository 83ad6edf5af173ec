package archtest

import (
	"encoding/json"
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
)

// rootMayImport are the module packages a team's root package may import besides the standard
// library.
var rootMayImport = []string{"services/kit/errs", "services/kit/clientip"}

// adapters are a team's storage packages; ports are the packages that must reach them only through
// interfaces.
var (
	adapters = []string{"postgres", "redis"}
	ports    = []string{"ui", "api", "events"}
)

// CheckShape returns every import in pkgs that breaks a team's shape: a root package importing
// anything but the standard library, services/kit/errs and services/kit/clientip (its own external tests may import it), and
// a package under ui/, api/ or events/ importing the same team's postgres/ or redis/.
func CheckShape(module string, pkgs []Package) []Violation {
	var out []Violation
	for _, p := range pkgs {
		ctx, rest := teamPath(module, p.ImportPath)
		if ctx == "" {
			continue
		}
		for _, imp := range p.Imports {
			switch {
			case rest == "":
				if !isStdlib(imp) && imp != p.ImportPath && !slices.Contains(qualify(module, rootMayImport), imp) {
					out = append(out, Violation{From: p.ImportPath, To: "imports " + imp, Rule: "a team's root package imports only the standard library, services/kit/errs and services/kit/clientip"})
				}
			case slices.Contains(ports, first(rest)):
				if impCtx, impRest := teamPath(module, imp); impCtx == ctx && slices.Contains(adapters, first(impRest)) {
					out = append(out, Violation{From: p.ImportPath, To: "imports " + imp, Rule: "ui/, api/ and events/ reach postgres/ and redis/ only through interfaces; cmd/ wires them"})
				}
			}
		}
	}
	return out
}

// routingKey is the shape of an event type: {context}.{aggregate}.{event}.v{n}.
var routingKey = regexp.MustCompile(`^[a-z][a-z0-9_-]*\.[a-z][a-z0-9_-]*\.[a-z][a-z0-9_-]*\.v[0-9]+$`)

// CheckEventHomes walks the teams under servicesDir (the repository's services/) and returns every
// place a published event lives outside events/: a string constant shaped like a routing key
// declared in a team's postgres/ or redis/ (outside tests), and an example event (a testdata/*.json
// holding an envelope with type, source, subject and data) outside events/testdata.
func CheckEventHomes(servicesDir string) ([]Violation, error) {
	var out []Violation
	teams, err := os.ReadDir(servicesDir)
	if err != nil {
		return nil, fmt.Errorf("list teams: %w", err)
	}
	for _, t := range teams {
		if !t.IsDir() || shared[t.Name()] {
			continue
		}
		dir := filepath.Join(servicesDir, t.Name())
		err := filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
			if err != nil || d.IsDir() {
				return err
			}
			rel, _ := filepath.Rel(dir, path)
			parts := strings.Split(filepath.ToSlash(rel), "/")
			where := "services/" + t.Name() + "/" + filepath.ToSlash(rel)
			switch {
			case slices.Contains(adapters, parts[0]) && strings.HasSuffix(path, ".go") && !strings.HasSuffix(path, "_test.go") &&
				!slices.Contains(parts, "testdata"):
				keys, err := routingKeyConsts(path)
				if err != nil {
					return err
				}
				for _, k := range keys {
					out = append(out, Violation{From: where, To: "declares " + k, Rule: "published event types live in events/, never in storage"})
				}
			case strings.HasSuffix(path, ".json") && slices.Contains(parts, "testdata") &&
				!(parts[0] == "events" && parts[1] == "testdata"):
				if isEnvelope(path) {
					out = append(out, Violation{From: where, To: "holds an example event", Rule: "example events live in events/testdata"})
				}
			}
			return nil
		})
		if err != nil {
			return nil, fmt.Errorf("walk %s: %w", dir, err)
		}
	}
	return out, nil
}

// routingKeyConsts returns the string constants of a Go file that are shaped like routing keys.
func routingKeyConsts(path string) ([]string, error) {
	f, err := parser.ParseFile(token.NewFileSet(), path, nil, parser.SkipObjectResolution)
	if err != nil {
		return nil, fmt.Errorf("parse %s: %w", path, err)
	}
	var keys []string
	for _, d := range f.Decls {
		g, ok := d.(*ast.GenDecl)
		if !ok || g.Tok != token.CONST {
			continue
		}
		for _, spec := range g.Specs {
			for _, v := range spec.(*ast.ValueSpec).Values {
				lit, ok := v.(*ast.BasicLit)
				if !ok || lit.Kind != token.STRING {
					continue
				}
				if s, err := strconv.Unquote(lit.Value); err == nil && routingKey.MatchString(s) {
					keys = append(keys, s)
				}
			}
		}
	}
	return keys, nil
}

// isEnvelope reports whether the JSON file at path is an event envelope.
func isEnvelope(path string) bool {
	b, err := os.ReadFile(path)
	if err != nil {
		return false
	}
	var e struct {
		Type, Source, Subject string
		Data                  json.RawMessage
	}
	if json.Unmarshal(b, &e) != nil {
		return false
	}
	return routingKey.MatchString(e.Type) && e.Source != "" && e.Subject != "" && len(e.Data) > 0
}

// teamPath splits a team package's path into its context and the rest ("checkout", "ui/cart");
// ctx is "" for a package of no team.
func teamPath(module, path string) (ctx, rest string) {
	ctx = team(module, path)
	if ctx == "" {
		return "", ""
	}
	rest = strings.TrimPrefix(strings.TrimPrefix(path, module+"/services/"+ctx), "/")
	return ctx, rest
}

func first(rest string) string {
	f, _, _ := strings.Cut(rest, "/")
	return f
}

func qualify(module string, paths []string) []string {
	out := make([]string, len(paths))
	for i, p := range paths {
		out[i] = module + "/" + p
	}
	return out
}

// isStdlib reports whether path is a standard library package: its first element has no dot.
func isStdlib(path string) bool {
	f, _, _ := strings.Cut(path, "/")
	return !strings.Contains(f, ".")
}

// Package archtest enforces the rules that keep Inlay's teams independent (docs/architecture.md) with a test,
// not with trust:
//
//   - services/<a> never imports services/<b>; every team may import services/kit (and fragments).
//   - The shell, the BFFs and every other shared package import no team package.
//
// Both follow from one rule on every import edge of the module, tests included: a team's packages
// (services/<context>/...) are imported only by packages of the same team. The one exception is e2e,
// the end-to-end tests of the whole platform, which may read a team's seed data to know what the
// storefront must show; nothing imports e2e.
//
// Inside a team, one shape (CheckShape, CheckEventHomes):
//
//   - The root package (services/<context>) is the team's language: types, rules, errors. It imports
//     only the standard library, services/kit/errs and services/kit/clientip (both
//     dependency-free: error codes, and who a client is).
//   - ui/, api/ and events/ never import the team's postgres/ or redis/: they depend on small
//     interfaces that the root package or the consumer declares. Only cmd/ wires adapters together.
//   - Published event types and their examples live in events/ (events/testdata), never in storage:
//     no routing key is declared in postgres/ or redis/, and no example envelope lies outside events/.
package archtest

import (
	"fmt"
	"strings"
)

// Package is a package of the module with what it imports (its tests' imports included).
type Package struct {
	ImportPath string
	Imports    []string
}

// Violation is one import that breaks the rule.
type Violation struct {
	From, To string
	// Rule is the shape rule broken (CheckShape, CheckEventHomes); empty for an import across teams.
	Rule string
}

func (v Violation) String() string {
	if v.Rule != "" {
		return fmt.Sprintf("%s: %s (%s)", v.From, v.To, v.Rule)
	}
	return fmt.Sprintf("%s imports %s", v.From, v.To)
}

// shared names the packages under services/ that every team may import.
var shared = map[string]bool{"kit": true}

// platformTests are the packages (relative to the module) that test the whole platform and may
// import any team.
var platformTests = []string{"e2e"}

// Check returns every import in pkgs of a team package by a package outside that team. module is
// the module path, github.com/inlay-dev/inlay.
func Check(module string, pkgs []Package) []Violation {
	var out []Violation
	for _, p := range pkgs {
		if isPlatformTest(module, p.ImportPath) {
			continue
		}
		from := team(module, p.ImportPath)
		for _, imp := range p.Imports {
			to := team(module, imp)
			if to == "" || to == from {
				continue
			}
			out = append(out, Violation{From: p.ImportPath, To: imp})
		}
	}
	return out
}

// team returns the team owning path ("decide" for module/services/decide/postgres), or "" for a
// package that belongs to no team: services/kit, shell, bff, fragments, anything outside the module.
func team(module, path string) string {
	rest, ok := strings.CutPrefix(path, module+"/services/")
	if !ok {
		return ""
	}
	name, _, _ := strings.Cut(rest, "/")
	if shared[name] {
		return ""
	}
	return name
}

func isPlatformTest(module, path string) bool {
	for _, t := range platformTests {
		if path == module+"/"+t || strings.HasPrefix(path, module+"/"+t+"/") {
			return true
		}
	}
	return false
}

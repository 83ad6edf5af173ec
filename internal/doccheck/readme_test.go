package doccheck

import (
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
)

var (
	// Variables read through config.Load: `env:"NAME"` struct tags (not in tests: those are fixtures).
	tagRE = regexp.MustCompile(`env:"([A-Z][A-Z0-9_]*)"`)
	// Variables read directly, in code and tests.
	getenvRE = regexp.MustCompile(`(?:Getenv|LookupEnv)\("([A-Z][A-Z0-9_]*)"\)`)
	// Variables of the scripts: ${NAME:-default}.
	shellRE = regexp.MustCompile(`\$\{([A-Z][A-Z0-9_]*):-`)
)

// ignored are variables of the environment and the Go runtime, not of Inlay.
var ignored = map[string]bool{"HOME": true, "PATH": true, "EUID": true, "GOGC": true, "GOMAXPROCS": true, "GOMEMLIMIT": true}

func TestReadmeNamesEveryVariable(t *testing.T) {
	readme, err := os.ReadFile(filepath.Join("..", "..", "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	vars := map[string]string{} // name -> first file that reads it
	err = filepath.WalkDir(filepath.Join("..", ".."), func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			if name := d.Name(); (strings.HasPrefix(name, ".") && name != "." && name != "..") || name == "bin" || name == "node_modules" || name == "testdata" {
				return filepath.SkipDir
			}
			return nil
		}
		var res []*regexp.Regexp
		switch {
		case strings.HasSuffix(path, "_test.go"):
			res = []*regexp.Regexp{getenvRE}
		case strings.HasSuffix(path, ".go"):
			res = []*regexp.Regexp{tagRE, getenvRE}
		case strings.HasSuffix(path, ".sh"):
			res = []*regexp.Regexp{shellRE}
		default:
			return nil
		}
		b, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		for _, re := range res {
			for _, m := range re.FindAllSubmatch(b, -1) {
				name := string(m[1])
				// A script's own variable, set by the script itself, is not configuration.
				if re == shellRE && regexp.MustCompile(`(^|[\s;(])`+name+`=`).Match(b) {
					continue
				}
				if vars[name] == "" {
					vars[name] = path
				}
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(vars) < 10 {
		t.Fatalf("found only %d variables; the scan is broken", len(vars))
	}
	for _, name := range slices.Sorted(func(yield func(string) bool) {
		for n := range vars {
			if !yield(n) {
				return
			}
		}
	}) {
		if !ignored[name] && !strings.Contains(string(readme), "`"+name+"`") {
			t.Errorf("README.md does not name %s (read in %s): add it to the configuration tables", name, vars[name])
		}
	}
}

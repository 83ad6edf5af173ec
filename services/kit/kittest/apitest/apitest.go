// Package apitest keeps a team's example API responses — api/testdata/*.json, the contract the
// backends-for-frontend decode, as consumers decode events' examples — true to what the team's
// handlers really answer: a test compares each real response with its example by shape (the same
// keys at every level and the same JSON types; ids, times and numbers may differ), so a response
// cannot change without its example changing too, and the BFF's tests decoding that example then
// fail when they no longer fit.
package apitest

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"slices"
	"strings"
	"testing"
)

// Example fails t unless got (a response body) has the shape of the example stored at path (see
// SameShape). With update it first rewrites path from got, indented, for a deliberate change
// (`go test -update`).
func Example(t testing.TB, path string, got []byte, update bool) {
	t.Helper()
	if update {
		var b bytes.Buffer
		if err := json.Indent(&b, got, "", "  "); err != nil {
			t.Fatalf("%s: the response is not JSON: %v", path, err)
		}
		b.WriteByte('\n')
		if err := os.WriteFile(path, b.Bytes(), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want := Read(t, path)
	if err := SameShape(want, got); err != nil {
		t.Errorf("%s: the response's shape differs from the example (go test -update to accept): %v\n got %s", path, err, got)
	}
}

// Read returns the example stored at path (a team's api/testdata/*.json, read as a file and never
// imported); it fails t when the file is missing or not JSON.
func Read(t testing.TB, path string) []byte {
	t.Helper()
	raw, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test -update in the team's api package to write it)", err)
	}
	if !json.Valid(raw) {
		t.Fatalf("%s is not JSON", path)
	}
	return raw
}

// Decode decodes the example stored at path into v strictly: a field of the example that v's type
// does not have, or a value of another type, fails t. A consumer's test uses it to show its types
// read the team's example.
func Decode(t testing.TB, path string, v any) {
	t.Helper()
	dec := json.NewDecoder(bytes.NewReader(Read(t, path)))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		t.Fatalf("decode %s: %v", path, err)
	}
}

// SameShape reports how got differs in shape from example (nil when it does not): every object must
// have the same keys, every value the same JSON type (null only where the example has null), and
// every element of an array the shape of the example array's first element. An empty array on
// either side matches any array.
func SameShape(example, got []byte) error {
	var e, g any
	if err := json.Unmarshal(example, &e); err != nil {
		return fmt.Errorf("example: %w", err)
	}
	if err := json.Unmarshal(got, &g); err != nil {
		return fmt.Errorf("response: %w", err)
	}
	return sameShape("$", e, g)
}

func sameShape(path string, e, g any) error {
	if kind(e) != kind(g) {
		return fmt.Errorf("%s is %s, the example has %s", path, kind(g), kind(e))
	}
	switch e := e.(type) {
	case map[string]any:
		g := g.(map[string]any) //nolint:forcetypeassert // same kind
		if missing, extra := diff(e, g); len(missing) > 0 || len(extra) > 0 {
			return fmt.Errorf("%s: missing %v, not in the example %v", path, missing, extra)
		}
		for _, k := range sortedKeys(e) {
			if err := sameShape(path+"."+k, e[k], g[k]); err != nil {
				return err
			}
		}
	case []any:
		g := g.([]any) //nolint:forcetypeassert // same kind
		if len(e) == 0 {
			return nil
		}
		for i, el := range e[1:] {
			if err := sameShape(fmt.Sprintf("%s[%d] (example)", path, i+1), e[0], el); err != nil {
				return err
			}
		}
		for i, el := range g {
			if err := sameShape(fmt.Sprintf("%s[%d]", path, i), e[0], el); err != nil {
				return err
			}
		}
	}
	return nil
}

func kind(v any) string {
	switch v.(type) {
	case nil:
		return "null"
	case bool:
		return "a boolean"
	case float64:
		return "a number"
	case string:
		return "a string"
	case []any:
		return "an array"
	default:
		return "an object"
	}
}

func diff(e, g map[string]any) (missing, extra []string) {
	for k := range e {
		if _, ok := g[k]; !ok {
			missing = append(missing, k)
		}
	}
	for k := range g {
		if _, ok := e[k]; !ok {
			extra = append(extra, k)
		}
	}
	slices.Sort(missing)
	slices.Sort(extra)
	return missing, extra
}

func sortedKeys(m map[string]any) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.SortFunc(keys, strings.Compare)
	return keys
}

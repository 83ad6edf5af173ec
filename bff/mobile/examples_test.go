package mobile

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"sort"
	"testing"
)

// TestTeamExamples decodes each team's api/testdata example into the type the BFF reads it with,
// and checks that every field that type names is in the example with a value of the same JSON type:
// a team that renames, drops or retypes a field the BFF reads fails this test (a field the BFF does
// not read may come and go).
func TestTeamExamples(t *testing.T) {
	for _, tc := range []struct {
		team, name string
		into       any
	}{
		{"explore", "categories", &exploreCategories{}},
		{"explore", "category", &exploreCategory{}},
		{"explore", "search", &exploreSearch{}},
		{"explore", "stores", &exploreStores{}},
		{"checkout", "cart", &checkoutCart{}},
		{"checkout", "order", &checkoutOrder{}},
		{"checkout", "orders", &checkoutOrders{}},
		{"inspire", "recommendations", &inspireRecommendations{}},
		{"decide", "product", &decideProduct{}},
		{"decide", "variant", &decideVariant{}},
		{"inventory", "stock", &inventoryStock{}},
		{"accounts", "session", &signIn{}},
		{"accounts", "whoami", &whoami{}},
	} {
		t.Run(tc.team+"/"+tc.name, func(t *testing.T) {
			raw, err := os.ReadFile(filepath.Join("..", "..", "services", tc.team, "api", "testdata", tc.name+".json"))
			if err != nil {
				t.Fatal(err)
			}
			if err := json.Unmarshal(raw, tc.into); err != nil {
				t.Fatalf("decode: %v", err)
			}
			ours, err := json.Marshal(tc.into)
			if err != nil {
				t.Fatal(err)
			}
			if err := covers(raw, ours); err != nil {
				t.Errorf("%T reads a field the example does not have: %v", tc.into, err)
			}
			if reflect.ValueOf(tc.into).Elem().IsZero() {
				t.Error("nothing decoded")
			}
		})
	}
}

// TestTeamProblemExamples: the BFF reads the detail of the teams' problem answers (passed on to the
// app for a primary team's 4xx).
func TestTeamProblemExamples(t *testing.T) {
	for _, team := range []string{"checkout", "accounts"} {
		raw, err := os.ReadFile(filepath.Join("..", "..", "services", team, "api", "testdata", "problem.json"))
		if err != nil {
			t.Fatal(err)
		}
		detail, fields := problemDetail(raw)
		if detail == "" {
			t.Errorf("%s's problem example has no detail the BFF reads: %s", team, raw)
		}
		if bytes.Contains(raw, []byte(`"fields"`)) && len(fields) == 0 {
			t.Errorf("%s's problem example names fields the BFF does not read: %s", team, raw)
		}
	}
}

// TestCoversFails shows covers catches a renamed field and a changed type.
func TestCoversFails(t *testing.T) {
	ours := []byte(`{"a":{"b":[{"c":1}]}}`)
	for _, example := range []string{`{"a":{"b":[{"d":1}]}}`, `{"a":{"b":[{"c":"1"}]}}`, `{"a":{}}`} {
		if covers([]byte(example), ours) == nil {
			t.Errorf("covers(%s, %s) = nil", example, ours)
		}
	}
	if err := covers([]byte(`{"a":{"b":[{"c":2,"e":true}]},"f":null}`), ours); err != nil {
		t.Errorf("an example with more fields: %v", err)
	}
}

// covers reports the first key of ours (the BFF's type, re-encoded) that example lacks or has with
// another JSON type; arrays compare by their first elements.
func covers(example, ours []byte) error {
	var e, o any
	if err := json.Unmarshal(example, &e); err != nil {
		return err
	}
	if err := json.Unmarshal(ours, &o); err != nil {
		return err
	}
	return coversAt("$", e, o)
}

func coversAt(path string, e, o any) error {
	switch o := o.(type) {
	case map[string]any:
		em, ok := e.(map[string]any)
		if !ok {
			return fmt.Errorf("%s: the example has %T, not an object", path, e)
		}
		keys := make([]string, 0, len(o))
		for k := range o {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			ev, ok := em[k]
			if !ok {
				return fmt.Errorf("%s.%s is missing", path, k)
			}
			if err := coversAt(path+"."+k, ev, o[k]); err != nil {
				return err
			}
		}
	case []any:
		ea, ok := e.([]any)
		if !ok {
			return fmt.Errorf("%s: the example has %T, not an array", path, e)
		}
		if len(ea) > 0 && len(o) > 0 {
			return coversAt(path+"[0]", ea[0], o[0])
		}
	default:
		if o != nil && e != nil && reflect.TypeOf(o) != reflect.TypeOf(e) {
			return fmt.Errorf("%s: the example has %T, the BFF reads %T", path, e, o)
		}
	}
	return nil
}

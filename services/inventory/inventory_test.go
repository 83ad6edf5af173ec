package inventory_test

import (
	"maps"
	"slices"
	"testing"

	"github.com/inlay-dev/inlay/services/inventory"
	"github.com/inlay-dev/inlay/services/kit/errs"
)

func TestNormalize(t *testing.T) {
	t.Parallel()
	type L = inventory.Line
	for _, tc := range []struct {
		name    string
		in      []L
		want    []L
		invalid bool
	}{
		{"sorted", []L{{"B", 1}, {"A", 2}}, []L{{"A", 2}, {"B", 1}}, false},
		{"merged", []L{{"A", 1}, {"B", 1}, {"A", 3}}, []L{{"A", 4}, {"B", 1}}, false},
		{"trimmed", []L{{" A ", 1}}, []L{{"A", 1}}, false},
		{"no lines", nil, nil, true},
		{"empty sku", []L{{"", 1}}, nil, true},
		{"zero", []L{{"A", 0}}, nil, true},
		{"negative", []L{{"A", -1}}, nil, true},
		{"too many", []L{{"A", inventory.MaxQuantity + 1}}, nil, true},
		{"too many merged", []L{{"A", inventory.MaxQuantity}, {"A", 1}}, nil, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := inventory.Normalize(tc.in)
			if tc.invalid {
				if errs.Code(err) != errs.EINVALID {
					t.Errorf("Normalize(%v) = %v, %v; want EINVALID", tc.in, got, err)
				}
				return
			}
			if err != nil || !slices.Equal(got, tc.want) {
				t.Errorf("Normalize(%v) = %v, %v; want %v", tc.in, got, err, tc.want)
			}
		})
	}
}

func TestReserve(t *testing.T) {
	t.Parallel()
	type L = inventory.Line
	onHand := map[string]int{"A": 3, "B": 1, "C": 0}
	for _, tc := range []struct {
		name  string
		lines []L
		after map[string]int
		short []string
	}{
		{"one line", []L{{"A", 2}}, map[string]int{"A": 1}, nil},
		{"everything there is", []L{{"A", 3}, {"B", 1}}, map[string]int{"A": 0, "B": 0}, nil},
		{"one short rejects all", []L{{"A", 1}, {"B", 2}}, nil, []string{"B"}},
		{"none left", []L{{"C", 1}}, nil, []string{"C"}},
		{"unknown sku", []L{{"A", 1}, {"Z", 1}}, nil, []string{"Z"}},
		{"all short, sorted", []L{{"B", 2}, {"A", 4}}, nil, []string{"A", "B"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			before := maps.Clone(onHand)
			after, short := inventory.Reserve(onHand, tc.lines)
			if !maps.Equal(after, tc.after) || !slices.Equal(short, tc.short) {
				t.Errorf("Reserve(%v) = %v, %v; want %v, %v", tc.lines, after, short, tc.after, tc.short)
			}
			if !maps.Equal(before, onHand) {
				t.Errorf("Reserve changed its input: %v", onHand)
			}
		})
	}
}

func TestValidateQuantity(t *testing.T) {
	t.Parallel()
	for q, ok := range map[int]bool{0: true, 8: true, inventory.MaxQuantity: true, -1: false, inventory.MaxQuantity + 1: false} {
		if err := inventory.ValidateQuantity(q); (err == nil) != ok {
			t.Errorf("ValidateQuantity(%d) = %v", q, err)
		}
	}
}

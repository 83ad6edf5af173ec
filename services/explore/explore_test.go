package explore_test

import (
	"slices"
	"testing"

	"github.com/inlay-dev/inlay/services/explore"
)

func TestStartPrice(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name     string
		variants []explore.Variant
		want     string
		ok       bool
	}{
		{"none", nil, "", false},
		{"one", []explore.Variant{{SKU: "a", Price: 10}}, "a", true},
		{"lowest", []explore.Variant{{SKU: "a", Price: 30}, {SKU: "b", Price: 10}, {SKU: "c", Price: 20}}, "b", true},
		{"first of equals", []explore.Variant{{SKU: "a", Price: 10}, {SKU: "b", Price: 10}}, "a", true},
	} {
		got, ok := explore.StartPrice(tc.variants)
		if ok != tc.ok || got.SKU != tc.want {
			t.Errorf("%s: %q %v, want %q %v", tc.name, got.SKU, ok, tc.want, tc.ok)
		}
	}
}

func TestSortByStartPrice(t *testing.T) {
	t.Parallel()
	products := []explore.ProductSummary{
		{ID: "c", Name: "Beta", StartPrice: 100},
		{ID: "a", Name: "Alpha", StartPrice: 300},
		{ID: "d", Name: "Beta", StartPrice: 100},
		{ID: "b", Name: "Alpha", StartPrice: 100},
	}
	explore.SortByStartPrice(products)
	var got []string
	for _, p := range products {
		got = append(got, p.ID)
	}
	if want := []string{"a", "b", "c", "d"}; !slices.Equal(got, want) {
		t.Errorf("order %v, want %v", got, want)
	}
}

func TestFilters(t *testing.T) {
	t.Parallel()
	cats := []explore.Category{{Key: "classic", Name: "Classics"}, {Key: "autonomous", Name: "Autonomous"}}
	for _, tc := range []struct {
		active string
		want   string // label of the active entry
	}{
		{"", "All"},
		{"classic", "Classics"},
		{"autonomous", "Autonomous"},
	} {
		entries := explore.Filters(cats, tc.active)
		if len(entries) != 3 || entries[0].URL != "/products" || entries[2].URL != "/products/autonomous" {
			t.Fatalf("entries %+v", entries)
		}
		var active []string
		for _, e := range entries {
			if e.Active {
				active = append(active, e.Label)
			}
		}
		if len(active) != 1 || active[0] != tc.want {
			t.Errorf("active %q: %v active, want %s", tc.active, active, tc.want)
		}
	}
}

func TestQueryTerms(t *testing.T) {
	t.Parallel()
	long := "abcdefghijabcdefghijabcdefghijabcdefghijXYZ"
	for _, tc := range []struct {
		q    string
		want []string
	}{
		{"", []string{}},
		{"   ", []string{}},
		{"Tracter", []string{"tracter"}},
		{"T-300  verde!", []string{"t", "300", "verde"}},
		{"a & b | !c:* 'd'", []string{"a", "b", "c", "d"}},
		{"red red RED", []string{"red"}},
		{"grün traktör", []string{"grün", "traktör"}},
		{"1 2 3 4 5 6 7 8 9 10", []string{"1", "2", "3", "4", "5", "6", "7", "8"}},
		{long, []string{long[:40]}},
	} {
		if got := explore.QueryTerms(tc.q); !slices.Equal(got, tc.want) {
			t.Errorf("QueryTerms(%q) = %q, want %q", tc.q, got, tc.want)
		}
	}
}

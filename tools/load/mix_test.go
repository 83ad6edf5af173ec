package load

import (
	"strings"
	"testing"
)

func TestDefaultMix(t *testing.T) {
	if err := DefaultMix.Validate(); err != nil {
		t.Fatal(err)
	}
	if got, want := DefaultMix.String(), "browse=60,search=20,add=15,buy=5"; got != want {
		t.Errorf("DefaultMix = %s, want %s", got, want)
	}
	// Pick maps [0,100) onto the kinds by their shares: count over a fine uniform grid.
	var n [numKinds]int
	for i := range 10000 {
		n[DefaultMix.Pick(float64(i)/100)]++
	}
	for k, want := range []int{6000, 2000, 1500, 500} {
		if n[k] != want {
			t.Errorf("%s picked %d of 10000, want %d", Kind(k), n[k], want)
		}
	}
	if got := DefaultMix.Pick(100); got != Buy {
		t.Errorf("Pick(100) = %s, want buy", got)
	}
}

func TestParseMix(t *testing.T) {
	m, err := ParseMix("buy=100")
	if err != nil {
		t.Fatal(err)
	}
	if m != (Mix{Buy: 100}) || m.Pick(0) != Buy || m.Pick(99.9) != Buy {
		t.Errorf("buy=100 parsed to %v", m)
	}
	if m, err := ParseMix(DefaultMix.String()); err != nil || m != DefaultMix {
		t.Errorf("ParseMix(DefaultMix.String()) = %v, %v", m, err)
	}
	for in, want := range map[string]string{
		"browse=60,search=20":          "add up to 80",
		"browse=60,search=20,dance=20": "unknown kind",
		"browse=50,browse=50":          "twice",
		"browse":                       "not kind=percent",
		"browse=x,buy=100":             "not a percentage",
		"browse=-5,buy=105":            "not a percentage",
	} {
		if _, err := ParseMix(in); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("ParseMix(%q) = %v, want an error with %q", in, err, want)
		}
	}
}

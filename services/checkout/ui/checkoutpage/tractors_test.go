package checkoutpage

import "testing"

func TestTractors(t *testing.T) {
	for n, want := range map[int]string{1: "1 tractor", 2: "2 tractors", 10: "10 tractors"} {
		if got := tractors(n); got != want {
			t.Errorf("tractors(%d) = %q, want %q", n, got, want)
		}
	}
}

package fragments_test

import (
	"testing"

	"github.com/inlay-dev/inlay/fragments"
)

func TestLocale(t *testing.T) {
	t.Parallel()
	for in, want := range map[string]string{
		"de-CH,de;q=0.9": "de-ch", "en": "en", "": "en", "x": "en", "fr;q=0.8": "fr",
		"<script>": "en", "de_DE": "en", "abcdefghijklmn": "en",
	} {
		if got := fragments.Locale(in); got != want {
			t.Errorf("Locale(%q) = %q, want %q", in, got, want)
		}
	}
}

package fragments_test

import (
	"strings"
	"testing"
	"unsafe"

	"github.com/inlay-dev/inlay/fragments"
)

func TestLocale(t *testing.T) {
	t.Parallel()
	store := []string{"en", "de", "fr-ch"}
	for in, want := range map[string]string{
		"de-CH,de;q=0.9":                 "de", // the language of a tag the store lacks
		"en":                             "en",
		"":                               "en", // the default
		"x":                              "en",
		"fr;q=0.8":                       "fr-ch", // a supported tag of that language
		"FR-CH":                          "fr-ch",
		"it,de;q=0.5,en;q=0.7":           "en", // the best weight the store has
		"de;q=0.5,en;q=0.5":              "de", // a tie: the first
		"de;q=0,en;q=0.1":                "en", // q=0: not acceptable
		"de;q=2,en;q=0.1":                "en", // a malformed weight is skipped
		"de;q=NaN,en;q=0.1":              "en",
		"*":                              "en",
		"<script>":                       "en",
		"zzqq-abc":                       "en", // any tag the store lacks: no new cache key
		"de_DE":                          "en",
		" de ; q=0.9 , it":               "de",
		strings.Repeat("xx,", 20) + "de": "en", // only the first 16 entries are read
	} {
		if got := fragments.Locale(in, store); got != want {
			t.Errorf("Locale(%q) = %q, want %q", in, got, want)
		}
	}
	if got := fragments.Locale("de-CH,de;q=0.9", nil); got != fragments.DefaultLocale {
		t.Errorf("a store naming no locales: %q, want %q", got, fragments.DefaultLocale)
	}
	// The result is the configured string, never the header's bytes (which fasthttp reuses).
	got := fragments.Locale(strings.Clone("DE"), store)
	if unsafe.StringData(got) != unsafe.StringData(store[1]) {
		t.Errorf("Locale returned %q from the header, not the configured string", got)
	}
}

func BenchmarkLocale(b *testing.B) {
	store := []string{"en", "de", "fr-ch"}
	for b.Loop() {
		if fragments.Locale("en-US,en;q=0.9,de;q=0.8", store) != "en" {
			b.Fatal("wrong locale")
		}
	}
}

func TestValidLocale(t *testing.T) {
	t.Parallel()
	for s, want := range map[string]bool{"en": true, "de-ch": true, "zh-hant-tw": true, "e": false, "EN": false,
		"1e": false, "de_ch": false, "en-": false, "de--ch": false, "abcdefghijklm": false} {
		if got := fragments.ValidLocale(s); got != want {
			t.Errorf("ValidLocale(%q) = %v, want %v", s, got, want)
		}
	}
}

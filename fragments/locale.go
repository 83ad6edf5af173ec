package fragments

import (
	"strconv"
	"strings"
)

// DefaultLocale is the locale of a store that names none.
const DefaultLocale = "en"

// maxLanguages bounds how many entries of an Accept-Language header are read.
const maxLanguages = 16

// Locale is the locale, of those the store is written in (supported, lowercase tags, the first its
// default; DefaultLocale alone when empty), that an Accept-Language header prefers: the entry of highest
// weight (the first on a tie) whose tag is supported, or whose language alone is ("de-CH" → "de"),
// or whose tag is a supported one's language ("de" → "de-ch"); the default when none is. It is the
// context's locale and what cached public fragments are keyed by, so no visitor's header can make
// more cache keys than the store has locales. The result is always one of supported's strings (or
// DefaultLocale), never a piece of the header, so it outlives the request's buffers.
func Locale(acceptLanguage string, supported []string) string {
	if len(supported) == 0 {
		supported = []string{DefaultLocale}
	}
	best, bestQ, n := supported[0], -1.0, 0
	for entry := range strings.SplitSeq(acceptLanguage, ",") {
		if n++; n > maxLanguages {
			break
		}
		tag, params, _ := strings.Cut(entry, ";")
		q := 1.0
		if v, ok := strings.CutPrefix(strings.TrimSpace(params), "q="); ok {
			f, err := strconv.ParseFloat(strings.TrimSpace(v), 64)
			if err != nil || !(f >= 0 && f <= 1) { // NaN fails both
				continue
			}
			q = f
		}
		if q <= bestQ || q == 0 {
			continue
		}
		if m := matchLocale(strings.TrimSpace(tag), supported); m != "" {
			best, bestQ = m, q
		}
	}
	return best
}

// matchLocale is the supported locale (the configured string) that tag names, ignoring case: the
// tag itself, its language alone, or a supported tag of that language; "" when none is.
func matchLocale(tag string, supported []string) string {
	if tag == "" || tag == "*" {
		return ""
	}
	lang, _, _ := strings.Cut(tag, "-")
	for _, s := range supported {
		if strings.EqualFold(s, tag) {
			return s
		}
	}
	for _, s := range supported {
		if strings.EqualFold(s, lang) {
			return s
		}
	}
	for _, s := range supported {
		if l, _, _ := strings.Cut(s, "-"); strings.EqualFold(l, tag) {
			return s
		}
	}
	return ""
}

// ValidLocale reports whether s is a locale tag a store may be written in: 2 to 12 lowercase
// letters, digits and single hyphens, starting with a letter and not ending in a hyphen ("en",
// "de-ch").
func ValidLocale(s string) bool {
	if len(s) < 2 || len(s) > 12 || s[0] < 'a' || s[0] > 'z' || strings.HasSuffix(s, "-") || strings.Contains(s, "--") {
		return false
	}
	for i := 0; i < len(s); i++ {
		if ch := s[i]; !(ch >= 'a' && ch <= 'z' || ch >= '0' && ch <= '9' || ch == '-') {
			return false
		}
	}
	return true
}

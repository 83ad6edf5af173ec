package fragments

import "strings"

// Locale is the first language of an Accept-Language header ("de-CH,de;q=0.9" → "de-ch"), or "en":
// the context's locale, and what cached public fragments are keyed by.
func Locale(acceptLanguage string) string {
	tag, _, _ := strings.Cut(acceptLanguage, ",")
	tag, _, _ = strings.Cut(tag, ";")
	tag = strings.ToLower(strings.TrimSpace(tag))
	if len(tag) < 2 || len(tag) > 12 {
		return "en"
	}
	for i := 0; i < len(tag); i++ {
		if ch := tag[i]; !(ch >= 'a' && ch <= 'z' || ch == '-') {
			return "en"
		}
	}
	return tag
}

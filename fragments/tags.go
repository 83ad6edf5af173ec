package fragments

import "strings"

// TagsHeader is the response header with which a fragment names what it shows, as cache tags such
// as "product:CL-01": the shell's purge API removes every cached fragment with a tag
// (POST /_inlay/purge {"tags":[...]}), so a team purges what shows a product without knowing the
// shell's cache keys. Tags are separated by spaces or commas.
const TagsHeader = "Inlay-Tags"

// Bounds of a fragment's tags: more, or longer ones, are dropped.
const (
	MaxTags   = 256
	MaxTagLen = 128
)

// ParseTags reads a TagsHeader value: tokens of letters, digits and ":._-", at most MaxTags of at
// most MaxTagLen bytes each, duplicates dropped; anything else is dropped.
func ParseTags(v string) []string {
	if v == "" {
		return nil
	}
	var tags []string
	seen := map[string]bool{}
	for t := range strings.FieldsFuncSeq(v, func(r rune) bool { return r == ' ' || r == ',' || r == '\t' }) {
		if len(tags) == MaxTags {
			break
		}
		if !ValidTag(t) || seen[t] {
			continue
		}
		seen[t] = true
		tags = append(tags, t)
	}
	return tags
}

// ValidTag reports whether t is a well-formed tag.
func ValidTag(t string) bool {
	if t == "" || len(t) > MaxTagLen {
		return false
	}
	for i := 0; i < len(t); i++ {
		c := t[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == ':' || c == '.' || c == '_' || c == '-') {
			return false
		}
	}
	return true
}

// JoinTags writes tags as a TagsHeader value.
func JoinTags(tags ...string) string { return strings.Join(tags, " ") }

package fragments

import (
	"net/url"
	"strings"
	"unicode"
	"unicode/utf8"
)

// TitleHeader is the response header with which a page's primary fragment names what the page
// shows ("AutoPilot X1 (Silver)"): the shell makes it the page's <title>, in the store's form
// (shell.Page.Title). Its value is the title's UTF-8 bytes percent-encoded (EncodeTitle), so a name
// in any language travels in an ASCII header.
const TitleHeader = "Inlay-Title"

// MaxTitle bounds a title, in characters; a longer one is cut.
const MaxTitle = 120

// Title names what the fragment shows, for the page's title when it is the page's primary
// fragment (TitleHeader). Other fragments' titles are ignored.
func Title(s string) RenderOption { return func(o *renderOptions) { o.title = s } }

// EncodeTitle is s as a TitleHeader value.
func EncodeTitle(s string) string { return url.PathEscape(CleanTitle(s)) }

// ParseTitle reads a TitleHeader value: "" when it is not a percent-encoded UTF-8 text.
func ParseTitle(v string) string {
	if v == "" {
		return ""
	}
	s, err := url.PathUnescape(v)
	if err != nil || !utf8.ValidString(s) {
		return ""
	}
	return CleanTitle(s)
}

// CleanTitle is s fit for a <title>: spaces and control characters (line breaks, tabs) become one
// space, bidi controls (which would reorder the rest of the tab's text) and byte order marks are
// dropped, the ends trimmed, and at most MaxTitle characters kept. Joiners stay: emoji sequences and
// scripts that need them keep their shape.
func CleanTitle(s string) string {
	var b strings.Builder
	b.Grow(len(s))
	n, space := 0, false
	for _, r := range strings.ToValidUTF8(s, "\uFFFD") {
		switch {
		case unicode.IsSpace(r) || unicode.Is(unicode.Cc, r):
			space = b.Len() > 0
			continue
		case unicode.Is(unicode.Bidi_Control, r) || r == '\uFEFF':
			continue
		}
		// A space is written only before a character that fits after it: never at the end.
		need := 1
		if space {
			need = 2
		}
		if n+need > MaxTitle {
			break
		}
		if space {
			b.WriteByte(' ')
			n++
			space = false
		}
		b.WriteRune(r)
		n++
	}
	return b.String()
}

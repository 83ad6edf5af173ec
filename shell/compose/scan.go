package compose

import (
	"bytes"
	"html"
	"time"
)

// Tag is one <inlay-fragment> element found in a document.
type Tag struct {
	// Start and End are the byte offsets of the whole element in the scanned document: from "<" of
	// the opening tag to the end of "</inlay-fragment>" when there is one, else to the end of the
	// opening tag.
	Start, End int
	// Src is the unescaped src attribute: "context/name?params".
	Src string
	// Primary marks the fragment that decides the page's status.
	Primary bool
	// Async streams the fragment out of order.
	Async bool
	// WithPrimary writes the fragment only when the page's primary answered 200: on the primary's
	// not-found page it is left out, content and fallback (a product's Add To Cart on "no such
	// product").
	WithPrimary bool
	// Timeout is the timeout attribute; zero when absent or invalid.
	Timeout time.Duration
	// Inline is the element's content between its tags, used as the last-resort fallback.
	Inline []byte
}

var (
	openTag  = []byte("<inlay-fragment")
	closeTag = []byte("</inlay-fragment")
)

// Scan finds the <inlay-fragment> elements of doc in document order and calls fn for each. Text that
// only looks like a tag (no closing ">", another element name starting with inlay-fragment) is left
// alone. Scan never fails: whatever is not a tag is text. Tag.Inline aliases doc.
func Scan(doc []byte, fn func(Tag)) {
	pos := 0
	for pos < len(doc) {
		i := bytes.Index(doc[pos:], openTag)
		if i < 0 {
			return
		}
		start := pos + i
		p := start + len(openTag)
		if p < len(doc) && !isSpace(doc[p]) && doc[p] != '>' && doc[p] != '/' {
			pos = p // <inlay-fragments or similar: not ours
			continue
		}
		t, end, ok := parseAttrs(doc, p)
		if !ok {
			return // an unterminated tag: the rest is text
		}
		t.Start = start
		t.End = end
		// Content up to the closing tag, unless another opening tag comes first (then this one was
		// written without a closing tag).
		if c := bytes.Index(doc[end:], closeTag); c >= 0 {
			next := bytes.Index(doc[end:], openTag)
			if next < 0 || next > c {
				ce := end + c + len(closeTag)
				if gt := bytes.IndexByte(doc[ce:], '>'); gt >= 0 {
					t.Inline = doc[end : end+c]
					t.End = ce + gt + 1
				}
			}
		}
		fn(t)
		pos = t.End
	}
}

// parseAttrs reads the attributes of an opening tag from p (just after its name) to its ">", and
// returns the tag and the offset after ">".
func parseAttrs(doc []byte, p int) (Tag, int, bool) {
	var t Tag
	for {
		for p < len(doc) && (isSpace(doc[p]) || doc[p] == '/') {
			p++
		}
		if p >= len(doc) {
			return t, 0, false
		}
		if doc[p] == '>' {
			return t, p + 1, true
		}
		// attribute name
		ns := p
		for p < len(doc) && !isSpace(doc[p]) && doc[p] != '=' && doc[p] != '>' && doc[p] != '/' {
			p++
		}
		name := doc[ns:p]
		for p < len(doc) && isSpace(doc[p]) {
			p++
		}
		var val []byte
		hasVal := false
		if p < len(doc) && doc[p] == '=' {
			hasVal = true
			p++
			for p < len(doc) && isSpace(doc[p]) {
				p++
			}
			if p >= len(doc) {
				return t, 0, false
			}
			switch q := doc[p]; q {
			case '"', '\'':
				e := bytes.IndexByte(doc[p+1:], q)
				if e < 0 {
					return t, 0, false
				}
				val = doc[p+1 : p+1+e]
				p += e + 2
			default:
				vs := p
				for p < len(doc) && !isSpace(doc[p]) && doc[p] != '>' {
					p++
				}
				val = doc[vs:p]
			}
		}
		switch {
		case equalFold(name, "src") && hasVal:
			t.Src = unescape(val)
		case equalFold(name, "primary"):
			t.Primary = true
		case equalFold(name, "async"):
			t.Async = true
		case equalFold(name, "with-primary"):
			t.WithPrimary = true
		case equalFold(name, "timeout") && hasVal:
			if d, err := time.ParseDuration(string(val)); err == nil && d > 0 {
				t.Timeout = d
			}
		}
	}
}

func unescape(v []byte) string {
	if bytes.IndexByte(v, '&') < 0 {
		return string(v)
	}
	return html.UnescapeString(string(v))
}

func isSpace(c byte) bool { return c == ' ' || c == '\n' || c == '\t' || c == '\r' || c == '\f' }

func equalFold(b []byte, s string) bool {
	if len(b) != len(s) {
		return false
	}
	for i := 0; i < len(b); i++ {
		c := b[i]
		if 'A' <= c && c <= 'Z' {
			c += 'a' - 'A'
		}
		if c != s[i] {
			return false
		}
	}
	return true
}

// indexFold returns the index of the ASCII-lowercase needle in b, ignoring ASCII case, or -1.
func indexFold(b []byte, needle string) int {
	n := len(needle)
	for i := 0; i+n <= len(b); i++ {
		j := bytes.IndexByte(b[i:], '<')
		if j < 0 {
			return -1
		}
		i += j
		if i+n > len(b) {
			return -1
		}
		if equalFold(b[i:i+n], needle) {
			return i
		}
	}
	return -1
}

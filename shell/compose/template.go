package compose

import "bytes"

// Template is a parsed document: text, <inlay-fragment> slots and, for pages, the positions where
// the head's assets and the async slots' content go. A Template is immutable and may be shared by
// any number of compositions (a page template file is parsed once).
type Template struct {
	parts  []part
	nslots int
}

type partKind uint8

const (
	partText    partKind = iota
	partSlot             // an <inlay-fragment> tag
	partHeadEnd          // just before </head>: stylesheets, scripts, the composer script
	partBodyEnd          // just before </body>: async slots' content
	partTitle            // the text of the page's <title>: the default when the page gets no title
)

type part struct {
	kind partKind
	text []byte
	tag  *Tag
}

// Slots returns the template's tags in document order.
func (t *Template) Slots() []Tag {
	out := make([]Tag, 0, t.nslots)
	for _, p := range t.parts {
		if p.kind == partSlot {
			out = append(out, *p.tag)
		}
	}
	return out
}

// Parse parses a page: an HTML document with <inlay-fragment> tags. The template aliases doc, which
// must not change afterwards. A document without </head> gets its assets at the start, one without
// </body> its async content at the end.
func Parse(doc []byte) *Template {
	headEnd := indexFold(doc, "</head")
	bodyEnd := lastIndexFold(doc, "</body")
	t := parse(doc, headEnd, bodyEnd)
	t.markTitle(doc, headEnd)
	if headEnd < 0 {
		t.parts = append([]part{{kind: partHeadEnd}}, t.parts...)
	}
	if bodyEnd < 0 {
		t.parts = append(t.parts, part{kind: partBodyEnd})
	}
	return t
}

// parseFragment parses a fragment's body for nested tags; nil when it has none.
func parseFragment(body []byte) *Template {
	if !hasTag(body) {
		return nil
	}
	t := parse(body, -1, -1)
	if t.nslots == 0 {
		return nil
	}
	return t
}

// fragmentNeedle is searched instead of "<inlay-fragment": HTML is full of '<', which makes a search
// led by it slow; '-' followed by "fragment" is rare.
var fragmentNeedle = []byte("-fragment")

// hasTag reports whether b contains "<inlay-fragment".
func hasTag(b []byte) bool {
	for off := 0; ; {
		i := bytes.Index(b[off:], fragmentNeedle)
		if i < 0 {
			return false
		}
		i += off
		if i >= len("<inlay") && bytes.Equal(b[i-len("<inlay"):i], openTag[:len("<inlay")]) {
			return true
		}
		off = i + 1
	}
}

func parse(doc []byte, headEnd, bodyEnd int) *Template {
	t := &Template{parts: make([]part, 0, 8)}
	text := func(from, to int) {
		for from < to {
			cut, kind := to, partText
			if headEnd >= from && headEnd < to {
				cut, kind = headEnd, partHeadEnd
			} else if bodyEnd >= from && bodyEnd < to {
				cut, kind = bodyEnd, partBodyEnd
			}
			if cut > from {
				t.parts = append(t.parts, part{kind: partText, text: doc[from:cut]})
			}
			if kind != partText {
				t.parts = append(t.parts, part{kind: kind})
			}
			from = cut
			if kind != partText {
				// The marker is before the closing tag's text, which the next round writes.
				headEnd, bodyEnd = markDone(headEnd, cut), markDone(bodyEnd, cut)
			}
		}
	}
	pos := 0
	Scan(doc, func(tag Tag) {
		text(pos, tag.Start)
		tg := tag
		t.parts = append(t.parts, part{kind: partSlot, tag: &tg})
		t.nslots++
		pos = tag.End
	})
	text(pos, len(doc))
	return t
}

// markTitle makes the text of the head's <title> element a part of its own (partTitle), which a
// composition may replace (Composition.SetTitle). It takes the first <title> of the head only when
// no script, style, comment or template opens before it (whose text could hold a "<title" that is
// no element) and its start tag has no attributes; otherwise, and when a fragment tag is in it, the
// title stays text.
func (t *Template) markTitle(doc []byte, headEnd int) {
	if headEnd < 0 {
		return
	}
	open := -1
	for off := 0; off < headEnd; {
		i := indexFold(doc[off:headEnd], "<title")
		if i < 0 {
			return
		}
		i += off
		if end := i + len("<title"); end < headEnd && doc[end] == '>' {
			open = i
			break
		}
		off = i + 1 // <title-bar>, <title x="…">: not the plain start tag
	}
	if open < 0 {
		return
	}
	for _, raw := range []string{"<script", "<style", "<!--", "<template", "<noscript", "<textarea"} {
		if indexFold(doc[:open], raw) >= 0 {
			return
		}
	}
	from := open + len("<title>")
	n := indexFold(doc[from:headEnd], "</title")
	if n < 0 {
		return
	}
	to := from + n
	for i := range t.parts {
		p := &t.parts[i]
		if p.kind != partText || len(p.text) == 0 {
			continue
		}
		start := cap(doc) - cap(p.text) // p.text aliases doc: its offset in it
		if start > from || start+len(p.text) < to {
			continue
		}
		before, title, after := p.text[:from-start], p.text[from-start:to-start], p.text[to-start:]
		parts := make([]part, 0, len(t.parts)+2)
		parts = append(parts, t.parts[:i]...)
		parts = append(parts, part{kind: partText, text: before}, part{kind: partTitle, text: title}, part{kind: partText, text: after})
		t.parts = append(parts, t.parts[i+1:]...)
		return
	}
}

func markDone(mark, cut int) int {
	if mark == cut {
		return -1
	}
	return mark
}

func lastIndexFold(b []byte, needle string) int {
	for end := len(b); end > 0; {
		i := bytes.LastIndexByte(b[:end], '<')
		if i < 0 {
			return -1
		}
		if i+len(needle) <= len(b) && equalFold(b[i:i+len(needle)], needle) {
			return i
		}
		end = i
	}
	return -1
}

package compose

import (
	"bytes"
	"reflect"
	"strings"
	"testing"
	"time"
)

func TestScan(t *testing.T) {
	tests := []struct {
		name string
		doc  string
		want []Tag
	}{
		{"none", `<html><body>hi</body></html>`, nil},
		{"simple", `a<inlay-fragment src="explore/header"></inlay-fragment>b`,
			[]Tag{{Start: 1, End: 55, Src: "explore/header", Inline: []byte{}}}},
		{"attributes", `<inlay-fragment primary src='decide/product?id=1&amp;sku=2' timeout="300ms" async>`,
			[]Tag{{Start: 0, End: 82, Src: "decide/product?id=1&sku=2", Primary: true, Async: true, Timeout: 300 * time.Millisecond}}},
		{"unquoted and self-closing", `<inlay-fragment src=a/b timeout=1s/>x`,
			[]Tag{{Start: 0, End: 36, Src: "a/b"}}},
		{"upper case attributes", `<inlay-fragment SRC="a/b" PRIMARY></inlay-fragment>`,
			[]Tag{{Start: 0, End: 51, Src: "a/b", Primary: true, Inline: []byte{}}}},
		{"inline fallback", `<inlay-fragment src="a/b"><p>soon</p></inlay-fragment>`,
			[]Tag{{Start: 0, End: 54, Src: "a/b", Inline: []byte("<p>soon</p>")}}},
		{"two without closing", `<inlay-fragment src="a/b"><inlay-fragment src="a/c"></inlay-fragment>`,
			[]Tag{{Start: 0, End: 26, Src: "a/b"}, {Start: 26, End: 69, Src: "a/c", Inline: []byte{}}}},
		{"other element", `<inlay-fragments src="a/b">`, nil},
		{"unterminated", `x<inlay-fragment src="a/b`, nil},
		{"bad timeout", `<inlay-fragment src="a/b" timeout="soon">`, []Tag{{Start: 0, End: 41, Src: "a/b"}}},
		{"gt inside quotes", `<inlay-fragment src="a/b?x=>">`, []Tag{{Start: 0, End: 30, Src: "a/b?x=>"}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var got []Tag
			Scan([]byte(tt.doc), func(tag Tag) { got = append(got, tag) })
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("Scan(%q)\n got %+v\nwant %+v", tt.doc, got, tt.want)
			}
		})
	}
}

func TestParseMarkers(t *testing.T) {
	doc := `<html><HEAD><title>x</title></HEAD><body><inlay-fragment src="a/b"></inlay-fragment><p>y</p></BODY></html>`
	tm := Parse([]byte(doc))
	var kinds []partKind
	var rebuilt strings.Builder
	for _, p := range tm.parts {
		kinds = append(kinds, p.kind)
		if p.kind == partText || p.kind == partTitle {
			rebuilt.WriteString(string(p.text))
		}
		if p.kind == partSlot {
			rebuilt.WriteString(doc[p.tag.Start:p.tag.End])
		}
	}
	want := []partKind{partText, partTitle, partText, partHeadEnd, partText, partSlot, partText, partBodyEnd, partText}
	if !reflect.DeepEqual(kinds, want) {
		t.Errorf("parts %v, want %v", kinds, want)
	}
	if rebuilt.String() != doc {
		t.Errorf("parts do not rebuild the document:\n%s", rebuilt.String())
	}
	if got := tm.Slots(); len(got) != 1 || got[0].Src != "a/b" {
		t.Errorf("Slots() = %+v", got)
	}
}

func TestParseWithoutHeadOrBody(t *testing.T) {
	tm := Parse([]byte(`<inlay-fragment src="a/b">`))
	if tm.parts[0].kind != partHeadEnd || tm.parts[len(tm.parts)-1].kind != partBodyEnd {
		t.Errorf("markers missing: %+v", tm.parts)
	}
}

// FuzzScan checks the scanner on any input: no panic, tags in order, inside the document and not
// overlapping, and a parsed template's parts rebuild the document exactly.
func FuzzScan(f *testing.F) {
	for _, s := range []string{
		`<html><head></head><body><inlay-fragment src="a/b" primary timeout="1s"></inlay-fragment></body></html>`,
		`<inlay-fragment src='x/y?a=1&amp;b=2' async>fallback</inlay-fragment>`,
		`<inlay-fragment src=a/b/>`,
		`<inlay-fragment`,
		`</inlay-fragment><inlay-fragment src="a/b" </inlay-fragment>`,
		`<inlay-fragment src="a/b"><inlay-fragment src="c/d"></inlay-fragment></inlay-fragment>`,
		`</head></body><inlay-fragment src="a/b">`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, doc []byte) {
		if hasTag(doc) != bytes.Contains(doc, openTag) {
			t.Fatalf("hasTag(%q) = %v", doc, hasTag(doc))
		}
		last := 0
		Scan(doc, func(tag Tag) {
			if tag.Start < last || tag.End <= tag.Start || tag.End > len(doc) {
				t.Fatalf("tag out of order or bounds: %+v (last end %d, len %d)", tag, last, len(doc))
			}
			if !bytes.HasPrefix(doc[tag.Start:], openTag) {
				t.Fatalf("tag does not start with %s", openTag)
			}
			last = tag.End
		})
		for _, tm := range []*Template{Parse(doc), parse(doc, -1, -1)} {
			var rebuilt []byte
			for _, p := range tm.parts {
				switch p.kind {
				case partText:
					rebuilt = append(rebuilt, p.text...)
				case partSlot:
					rebuilt = append(rebuilt, doc[p.tag.Start:p.tag.End]...)
				}
			}
			if !bytes.Equal(rebuilt, doc) {
				t.Fatalf("parts rebuild %q, want %q", rebuilt, doc)
			}
		}
	})
}

func TestHasTag(t *testing.T) {
	for doc, want := range map[string]bool{
		"":                               false,
		"<p>x</p>":                       false,
		"a-fragment":                     false,
		"<inlay-fragment src=a/b>":       true,
		"x-fragment <inlay-fragment":     true,
		"<INLAY-fragment":                false,
		strings.Repeat("<p>-f</p>", 100): false,
		strings.Repeat("<p>-f</p>", 100) + "<inlay-fragment>": true,
	} {
		if got := hasTag([]byte(doc)); got != want {
			t.Errorf("hasTag(%.30q) = %v, want %v", doc, got, want)
		}
	}
}

package fragments

import (
	"strings"
	"testing"
)

func TestParseTags(t *testing.T) {
	t.Parallel()
	for in, want := range map[string]string{
		"":                                      "",
		"product:CL-01":                         "product:CL-01",
		" product:CL-01, product:AU-02 ,,":      "product:CL-01 product:AU-02",
		"product:CL-01 product:CL-01":           "product:CL-01",
		"bad<tag> product:X\x00 ok":             "ok",
		strings.Repeat("x", MaxTagLen+1) + " y": "y",
	} {
		if got := strings.Join(ParseTags(in), " "); got != want {
			t.Errorf("ParseTags(%q) = %q, want %q", in, got, want)
		}
	}
	many := strings.Repeat("a:b ", 10)
	if n := len(ParseTags(many)); n != 1 {
		t.Errorf("duplicates: %d tags", n)
	}
	var b strings.Builder
	for i := range MaxTags + 10 {
		b.WriteString("t" + strings.Repeat("x", i%3) + ":" + string(rune('a'+i%26)) + strings.Repeat("z", i/26) + " ")
	}
	if n := len(ParseTags(b.String())); n > MaxTags {
		t.Errorf("%d tags, want at most %d", n, MaxTags)
	}
}

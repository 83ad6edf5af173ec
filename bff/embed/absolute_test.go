package embed

import (
	"regexp"
	"testing"
)

// rootRelative is the rewriting absolute implements, as a regular expression: the reference it is
// checked against.
var rootRelative = regexp.MustCompile(`(\s(?:href|src|action|poster)=["'])/([^/\\])`)

func TestAbsoluteMatchesReference(t *testing.T) {
	e := &Embed{storefront: "https://tractor.example"}
	for _, in := range []string{
		``, `/`, `href="/`, ` href="/`, ` href="/x`, ` href='/x'`, ` href="//host/x"`, ` href="/\host"`,
		`<a href="/product/CL-01?sku=CL-01-GY">x</a><img src="/static/a.svg" alt="">`,
		`<a data-href="/x" xhref="/y" HREF="/z">`, "<form\naction=\"/cart\"><video\tposter='/p.jpg'>",
		`<a href="https://other.example/x"> src=/x href= "/x"`, ` src="/` + "\n" + `"`, ` src="/é"`,
		`<img src="/a"><img src="/b"><a href="/c"><a href='//d'><a href="/e">`, `="/x ='/y  href="/`,
		` href="/a" href="/b"`, `hrefsrc="/x" srcsrc="/x" ssrc="/x" src="/x"`,
	} {
		want := string(rootRelative.ReplaceAll([]byte(in), []byte("${1}"+e.storefront+"/${2}")))
		if got := string(e.absolute([]byte(in))); got != want {
			t.Errorf("absolute(%q)\n got %q\nwant %q", in, got, want)
		}
	}
}

func FuzzAbsolute(f *testing.F) {
	f.Add(`<a href="/product/CL-01">x</a><img src='/static/a.svg'><a href="//h/x">`)
	e := &Embed{storefront: "https://tractor.example"}
	f.Fuzz(func(t *testing.T, in string) {
		want := string(rootRelative.ReplaceAll([]byte(in), []byte("${1}"+e.storefront+"/${2}")))
		if got := string(e.absolute([]byte(in))); got != want {
			t.Errorf("absolute(%q)\n got %q\nwant %q", in, got, want)
		}
	})
}

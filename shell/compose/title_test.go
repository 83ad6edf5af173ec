package compose

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/inlay-dev/inlay/fragments"
)

// titled answers a cacheable fragment that names what the page shows.
func titled(title string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		w.Header().Set("Cache-Control", "public, max-age=60")
		w.Header().Set(fragments.TitleHeader, fragments.EncodeTitle(title))
		fmt.Fprint(w, "<p>product</p>")
	}
}

// composeTitled composes doc, setting the page's title from the primary's as the shell does.
func (h *harness) composeTitled(doc string) (Outcome, string) {
	h.t.Helper()
	c := h.engine.Start(context.Background(), Parse([]byte(doc)), Request{Locale: "en"})
	out := c.Outcome()
	if out.Title != "" {
		c.SetTitle(out.Title + " · Store")
	}
	w := newFlushRecorder()
	if err := c.WriteTo(w); err != nil {
		h.t.Fatalf("WriteTo: %v", err)
	}
	return out, w.String()
}

func TestPrimaryNamesThePageTitle(t *testing.T) {
	team := newFakeTeam(t)
	team.handle("p", titled(`Häcksler <X1> & "Co"`))
	team.handle("other", titled("Not the primary"))
	h := newHarness(t, map[string]*fakeTeam{"t": team}, harnessOptions{cache: true})
	doc := fmt.Sprintf(page, `<inlay-fragment src="t/other"></inlay-fragment><inlay-fragment src="t/p" primary></inlay-fragment>`)
	want := `<title>Häcksler &lt;X1&gt; &amp; &#34;Co&#34; · Store</title>`
	for _, round := range []string{"fetched", "cached"} {
		out, body := h.composeTitled(doc)
		if out.Title != `Häcksler <X1> & "Co"` {
			t.Errorf("%s: outcome title %q", round, out.Title)
		}
		if !strings.Contains(body, want) || strings.Count(body, "<title>") != 1 {
			t.Errorf("%s: page %s, want %s", round, body, want)
		}
	}
	if n := team.count("p"); n != 1 {
		t.Errorf("%d requests for the primary, want 1 (the second page from the cache)", n)
	}

	// Another shell replica reads the copy from Redis: the title comes with it.
	other := newHarness(t, map[string]*fakeTeam{"t": team}, harnessOptions{cache: true})
	en := h.cache.local("t/p?#en")
	if en == nil {
		t.Fatal("the primary's copy was not cached")
	}
	dec, err := decodeEntry(encodeEntry(en))
	if err != nil || dec.title != `Häcksler <X1> & "Co"` {
		t.Fatalf("the cached copy's title did not survive encoding: %+v, %v", dec, err)
	}
	other.cache.putLocal("t/p?#en", dec)
	if out, body := other.composeTitled(doc); out.Title == "" || !strings.Contains(body, want) {
		t.Errorf("from a decoded copy: outcome %+v, page %s", out, body)
	}
}

func TestPageKeepsItsTitleWithoutThePrimarys(t *testing.T) {
	team := newFakeTeam(t)
	team.html("p", "<p>product</p>", "")
	team.handle("bad", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set(fragments.TitleHeader, "%ZZ") // not percent-encoding
		fmt.Fprint(w, "<p>bad</p>")
	})
	h := newHarness(t, map[string]*fakeTeam{"t": team}, harnessOptions{engine: Options{DefaultTimeout: time.Second}})
	for _, src := range []string{"t/p", "t/bad"} {
		out, body := h.composeTitled(fmt.Sprintf(page, `<inlay-fragment src="`+src+`" primary></inlay-fragment>`))
		if out.Title != "" || !strings.Contains(body, "<title>t</title>") {
			t.Errorf("%s: outcome %+v, page %s: want the template's own title", src, out, body)
		}
	}
}

func TestEntryOfThePreviousEncodingIsRead(t *testing.T) {
	e := &entry{body: []byte("<p>x</p>"), etag: `"e"`, stored: time.Unix(1, 0), maxAge: time.Second, version: "7", tags: []string{"product:CL-01"}}
	b := encodeEntry(e)
	// The previous encoding: magic IF2 and no title field (its length, 0, removed).
	old := append([]byte(entryMagicV2), b[len(entryMagic):len(b)-len(e.body)-4]...)
	old = append(old, e.body...)
	got, err := decodeEntry(old)
	if err != nil || string(got.body) != "<p>x</p>" || got.etag != `"e"` || got.title != "" || len(got.tags) != 1 {
		t.Errorf("decoded %+v, %v", got, err)
	}
}

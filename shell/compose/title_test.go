package compose

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"sync/atomic"
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

// TestRevalidationGivesACopyItsTitle: a copy stored without a title (by a shell or a team of the
// release before) gets the title a 304 of its revalidation carries.
func TestRevalidationGivesACopyItsTitle(t *testing.T) {
	team := newFakeTeam(t)
	var title atomic.Pointer[string]
	none := ""
	title.Store(&none)
	team.handle("p", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		w.Header().Set("Cache-Control", "public, max-age=1, stale-while-revalidate=60")
		w.Header().Set("ETag", `"same"`)
		if t := *title.Load(); t != "" {
			w.Header().Set(fragments.TitleHeader, fragments.EncodeTitle(t))
		}
		if r.Header.Get("If-None-Match") == `"same"` {
			w.WriteHeader(http.StatusNotModified)
			return
		}
		fmt.Fprint(w, "<p>product</p>")
	})
	h := newHarness(t, map[string]*fakeTeam{"t": team}, harnessOptions{cache: true})
	doc := fmt.Sprintf(page, `<inlay-fragment src="t/p" primary></inlay-fragment>`)
	if out, _ := h.composeTitled(doc); out.Title != "" {
		t.Fatalf("first page titled %q", out.Title)
	}
	named := "SmartFarm Titan"
	title.Store(&named)
	h.now.Advance(2 * time.Second) // stale: served, and revalidated in the background
	h.composeTitled(doc)
	deadline := time.Now().Add(10 * time.Second)
	for en := h.cache.local("t/p?#en"); en == nil || en.title != named; en = h.cache.local("t/p?#en") {
		if time.Now().After(deadline) {
			t.Fatalf("the revalidated copy has no title: %+v", en)
		}
		time.Sleep(5 * time.Millisecond)
	}
	if out, body := h.composeTitled(doc); out.Title != named || !strings.Contains(body, "<title>SmartFarm Titan · Store</title>") {
		t.Errorf("after the 304: outcome %+v, page %s", out, body)
	}
	if team.count("p") != 2 {
		t.Errorf("%d requests, want 2 (the page, its revalidation)", team.count("p"))
	}
}

func TestOnlyTheHeadsTitleElementIsReplaced(t *testing.T) {
	for name, doc := range map[string]string{
		"in a script first":  `<html><head><script>x='<title>'</script><title>t</title></head><body></body></html>`,
		"in a comment first": `<html><head><!-- <title>old</title> --><title>t</title></head><body></body></html>`,
		"a custom element":   `<html><head><title-bar>x</title-bar></head><body></body></html>`,
		"with attributes":    `<html><head><title data-x="a>b">t</title></head><body></body></html>`,
		"only in the body":   `<html><head></head><body><title>t</title></body></html>`,
		"without a head":     `<title>t</title><p>x</p>`,
	} {
		tm := Parse([]byte(doc))
		for _, p := range tm.parts {
			if p.kind == partTitle {
				t.Errorf("%s: a title part %q", name, p.text)
			}
		}
	}
	tm := Parse([]byte(`<html><HEAD><meta charset="utf-8"><TITLE>Store</TITLE><script src="/a.js"></script></HEAD><body></body></html>`))
	var titles []string
	for _, p := range tm.parts {
		if p.kind == partTitle {
			titles = append(titles, string(p.text))
		}
	}
	if len(titles) != 1 || titles[0] != "Store" {
		t.Errorf("title parts %q, want [Store]", titles)
	}
}

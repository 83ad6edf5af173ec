package storepicker_test

import (
	"context"
	"slices"
	"strings"
	"testing"

	"github.com/PuerkitoBio/goquery"

	"github.com/inlay-dev/inlay/services/explore"
	"github.com/inlay-dev/inlay/services/explore/ui/internal/uitest"
	"github.com/inlay-dev/inlay/services/explore/ui/storepicker"
)

func catalog() uitest.Catalog {
	return uitest.Catalog{StoresFunc: func(context.Context) ([]explore.Store, error) { return uitest.Stores(), nil }}
}

var images = map[string]string{"store-a": "/static/explore/img/store-a.1.svg", "store-b": "/static/explore/img/store-b.1.svg",
	"store-c": "/static/explore/img/store-c.1.svg", "store-d": "/static/explore/img/store-d.1.svg"}

func TestPicker(t *testing.T) {
	t.Parallel()
	res, doc := uitest.Get(t, "/", storepicker.Handler(catalog(), images, "/static/explore/store-picker.1.js"), "/")
	if res.StatusCode != 200 {
		t.Fatalf("status %d", res.StatusCode)
	}
	root := doc.Find(`[data-testid="explore-store-picker"][data-boundary="explore"][data-explore-store-picker]`)
	if root.Length() != 1 {
		t.Fatal("no picker root")
	}
	if got := uitest.Texts(doc, `button[data-testid="store-picker-open"]`); !slices.Equal(got, []string{"choose a store"}) {
		t.Errorf("open button %q", got)
	}
	dialog := root.Find(`dialog[data-testid="store-picker-dialog"]`)
	if dialog.Length() != 1 || dialog.AttrOr("id", "") != storepicker.DialogID {
		t.Fatal("no dialog")
	}
	// The dialog opens and closes by invoker commands: no script needed.
	for sel, command := range map[string]string{`[data-testid="store-picker-open"]`: "show-modal", `[data-explore-close]`: "close"} {
		b := root.Find(sel)
		if b.AttrOr("type", "") != "button" || b.AttrOr("commandfor", "") != storepicker.DialogID || b.AttrOr("command", "") != command {
			t.Errorf("%s: type %q commandfor %q command %q", sel, b.AttrOr("type", ""), b.AttrOr("commandfor", ""), b.AttrOr("command", ""))
		}
	}
	var ids []string
	dialog.Find(`[data-testid="store-picker-store"]`).Each(func(i int, s *goquery.Selection) {
		id, _ := s.Attr("data-store-id")
		ids = append(ids, id)
		// A submit button of the form around the picker: a store can be chosen without JavaScript.
		sel := s.Find(`button[type="submit"][data-testid="store-picker-select"][formnovalidate]`)
		if v, _ := sel.Attr("data-explore-select"); v != id || strings.TrimSpace(sel.Text()) != "select" ||
			sel.AttrOr("name", "") != storepicker.ChoiceField || sel.AttrOr("value", "") != id {
			t.Errorf("store %s: select button %q for %q", id, sel.Text(), v)
		}
		if src, _ := s.Find("img").Attr("src"); src != images[id] {
			t.Errorf("store %s: image %q", id, src)
		}
		want := uitest.Stores()[i]
		if got := strings.TrimSpace(s.Find("[data-store-name]").Text()); got != want.Name {
			t.Errorf("store %s: name %q", id, got)
		}
		if got := strings.TrimSpace(s.Find("address").Text()); got != want.Street+", "+want.City {
			t.Errorf("store %s: address %q", id, got)
		}
	})
	if !slices.Equal(ids, []string{"store-a", "store-b", "store-c", "store-d"}) {
		t.Errorf("stores %v", ids)
	}
	if src, _ := root.Find(`script[type="module"]`).Attr("src"); src != "/static/explore/store-picker.1.js" {
		t.Errorf("script %q", src)
	}
	if strings.TrimSpace(root.Find(`[data-testid="store-picker-chosen"]`).Text()) != "" {
		t.Error("a store is shown as chosen before any was selected")
	}
}

func TestPickerShowsTheSelectedStore(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct{ target, chosen string }{
		{"/?selected=store-c", "Central Mall|Clown Street 3, Cryo"},
		{"/?selected=store-x", "|"},
	} {
		_, doc := uitest.Get(t, "/", storepicker.Handler(catalog(), images, "/s.js"), tc.target)
		chosen := doc.Find(`[data-testid="store-picker-chosen"]`)
		got := chosen.Find("strong").Text() + "|" + chosen.Find("address").Text()
		if got != tc.chosen {
			t.Errorf("%s: chosen %q, want %q", tc.target, got, tc.chosen)
		}
	}
}

package seed_test

import (
	"strings"
	"testing"

	"github.com/inlay-dev/inlay/services/explore/seed"
)

func TestSeed(t *testing.T) {
	t.Parallel()
	d, err := seed.Load()
	if err != nil {
		t.Fatal(err)
	}
	if len(d.Categories) != 2 || len(d.Stores) != 4 || len(d.Teasers) != 2 {
		t.Fatalf("%d categories, %d stores, %d teasers; want 2, 4, 2", len(d.Categories), len(d.Stores), len(d.Teasers))
	}
	keys := map[string]bool{}
	for _, c := range d.Categories {
		if c.Key == "" || c.Name == "" || c.Title == "" {
			t.Errorf("incomplete category %+v", c)
		}
		keys[c.Key] = true
	}
	for _, tz := range d.Teasers {
		if !keys[tz.Category] || tz.URL != "/products/"+tz.Category || tz.Title == "" {
			t.Errorf("teaser %+v does not link one of the categories", tz)
		}
	}
	for _, s := range d.Stores {
		if !strings.HasPrefix(s.ID, "store-") || s.Name == "" || s.Street == "" || s.City == "" {
			t.Errorf("incomplete store %+v", s)
		}
	}
}

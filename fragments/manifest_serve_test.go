package fragments_test

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/gofiber/fiber/v2"

	"github.com/inlay-dev/inlay/fragments"
)

func testManifest() fragments.Manifest {
	return fragments.Manifest{
		Name:    "explore",
		Version: "2026.11.23-1",
		Fragments: map[string]fragments.Fragment{
			"header": {
				Timeout:  fragments.Duration(300 * time.Millisecond),
				Fallback: `<header data-boundary="explore"><a href="/">Inlay</a></header>`,
				Cache:    fragments.Public,
				CSS:      []string{"header.3f2a.css"},
				JS:       []string{"header.9c1b.js"},
			},
			"search": {Params: []string{"q", "page"}, Cache: fragments.Private},
		},
	}
}

func TestManifestValidate(t *testing.T) {
	t.Parallel()
	if err := testManifest().Validate(); err != nil {
		t.Fatalf("valid manifest: %v", err)
	}
	tests := []struct {
		name   string
		change func(m *fragments.Manifest)
		want   string
	}{
		{"empty name", func(m *fragments.Manifest) { m.Name = "" }, "name"},
		{"name with slash", func(m *fragments.Manifest) { m.Name = "ex/plore" }, "name"},
		{"upper-case name", func(m *fragments.Manifest) { m.Name = "Explore" }, "name"},
		{"no version", func(m *fragments.Manifest) { m.Version = " " }, "version"},
		{"version with space", func(m *fragments.Manifest) { m.Version = "1 2" }, "version"},
		{"fragment name", func(m *fragments.Manifest) { m.Fragments["a?b"] = fragments.Fragment{Cache: fragments.Public} }, `fragment "a?b"`},
		{"bad param", func(m *fragments.Manifest) {
			setFragment(m, "search", func(f *fragments.Fragment) { f.Params = []string{"q=1"} })
		}, "param"},
		{"duplicate param", func(m *fragments.Manifest) {
			setFragment(m, "search", func(f *fragments.Fragment) { f.Params = []string{"q", "q"} })
		}, "twice"},
		{"negative timeout", func(m *fragments.Manifest) { setFragment(m, "header", func(f *fragments.Fragment) { f.Timeout = -1 }) }, "timeout"},
		{"huge timeout", func(m *fragments.Manifest) {
			setFragment(m, "header", func(f *fragments.Fragment) { f.Timeout = fragments.Duration(time.Hour) })
		}, "timeout"},
		{"tiny timeout", func(m *fragments.Manifest) { setFragment(m, "header", func(f *fragments.Fragment) { f.Timeout = 5 }) }, "timeout"},
		{"no cache policy", func(m *fragments.Manifest) { setFragment(m, "header", func(f *fragments.Fragment) { f.Cache = "" }) }, "cache"},
		{"unknown cache policy", func(m *fragments.Manifest) {
			setFragment(m, "header", func(f *fragments.Fragment) { f.Cache = "shared" })
		}, "cache"},
		{"document fallback", func(m *fragments.Manifest) {
			setFragment(m, "header", func(f *fragments.Fragment) { f.Fallback = "<HTML><body>x</body></HTML>" })
		}, "fallback"},
		{"absolute css", func(m *fragments.Manifest) {
			setFragment(m, "header", func(f *fragments.Fragment) { f.CSS = []string{"/static/a.css"} })
		}, "css"},
		{"css url", func(m *fragments.Manifest) {
			setFragment(m, "header", func(f *fragments.Fragment) { f.CSS = []string{"https://evil.example/a.css"} })
		}, "css"},
		{"css escaping static", func(m *fragments.Manifest) {
			setFragment(m, "header", func(f *fragments.Fragment) { f.CSS = []string{"../a.css"} })
		}, "css"},
		{"css not css", func(m *fragments.Manifest) {
			setFragment(m, "header", func(f *fragments.Fragment) { f.CSS = []string{"a.js"} })
		}, "css"},
		{"js not js", func(m *fragments.Manifest) {
			setFragment(m, "header", func(f *fragments.Fragment) { f.JS = []string{"a.css"} })
		}, "js"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			m := testManifest()
			tt.change(&m)
			err := m.Validate()
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("Validate = %v, want an error about %s", err, tt.want)
			}
		})
	}
}

func TestManifestValidateReportsEveryProblem(t *testing.T) {
	t.Parallel()
	m := testManifest()
	m.Version = ""
	setFragment(&m, "header", func(f *fragments.Fragment) { f.Cache = "" })
	setFragment(&m, "search", func(f *fragments.Fragment) { f.Timeout = -1 })
	err := m.Validate()
	for _, want := range []string{"version", `fragment "header": cache`, `fragment "search": timeout`} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("Validate = %v, want it to mention %s", err, want)
		}
	}
}

func setFragment(m *fragments.Manifest, name string, change func(*fragments.Fragment)) {
	f := m.Fragments[name]
	change(&f)
	m.Fragments[name] = f
}

func TestServeManifest(t *testing.T) {
	t.Parallel()
	app := fiber.New()
	fragments.ServeManifest(app, testManifest())
	resp, body := get(t, app, fragments.ManifestPath, nil)
	if resp.StatusCode != 200 {
		t.Fatalf("status %d", resp.StatusCode)
	}
	if ct := resp.Header.Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
		t.Errorf("Content-Type %q", ct)
	}
	if cc := resp.Header.Get("Cache-Control"); cc != fragments.ManifestCacheControl {
		t.Errorf("Cache-Control %q", cc)
	}
	var got fragments.Manifest
	if err := json.Unmarshal([]byte(body), &got); err != nil {
		t.Fatalf("decode %s: %v", body, err)
	}
	if got.Name != "explore" || time.Duration(got.Fragments["header"].Timeout) != 300*time.Millisecond ||
		got.Fragments["search"].Params[1] != "page" {
		t.Errorf("round trip: %+v", got)
	}
	if !strings.Contains(body, `"timeout":"300ms"`) {
		t.Errorf("timeout not written as a duration string: %s", body)
	}
	etag := resp.Header.Get("ETag")
	resp, body = get(t, app, fragments.ManifestPath, http.Header{"If-None-Match": {etag}})
	if resp.StatusCode != http.StatusNotModified || body != "" {
		t.Errorf("revalidation: %d %q, want 304", resp.StatusCode, body)
	}
}

func TestFragmentsSayTheirVersion(t *testing.T) {
	t.Parallel()
	app := fiber.New()
	m := testManifest()
	fragments.ServeManifest(app, m)
	app.Get("/fragments/header", func(c *fiber.Ctx) error { return c.SendString("<p>h</p>") })
	app.Get("/elsewhere", func(c *fiber.Ctx) error { return c.SendString("x") })
	for path, want := range map[string]string{"/fragments/header": m.Version, fragments.ManifestPath: m.Version, "/elsewhere": ""} {
		if resp, _ := get(t, app, path, nil); resp.Header.Get(fragments.VersionHeader) != want {
			t.Errorf("%s: %s %q, want %q", path, fragments.VersionHeader, resp.Header.Get(fragments.VersionHeader), want)
		}
	}
}

func TestServeManifestPanicsOnInvalid(t *testing.T) {
	t.Parallel()
	defer func() {
		r := recover()
		if r == nil || !strings.Contains(r.(string), "version") {
			t.Errorf("recover() = %v, want a panic naming the problem", r)
		}
	}()
	m := testManifest()
	m.Version = ""
	fragments.ServeManifest(fiber.New(), m)
}

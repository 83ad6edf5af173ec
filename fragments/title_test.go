package fragments_test

import (
	"strings"
	"testing"

	"github.com/gofiber/fiber/v2"

	"github.com/inlay-dev/inlay/fragments"
)

func TestTitleTravelsInTheHeader(t *testing.T) {
	app := fiber.New()
	app.Get("/f", func(c *fiber.Ctx) error {
		return fragments.Render(c, text("<p>x</p>"), fragments.Public, fragments.Title("Häcksler X1 (Grün) <b>"))
	})
	app.Get("/none", func(c *fiber.Ctx) error { return fragments.Render(c, text("<p>x</p>"), fragments.Public) })
	resp, _ := get(t, app, "/f", nil)
	v := resp.Header.Get(fragments.TitleHeader)
	for _, r := range v {
		if r > 0x7e || r < 0x20 {
			t.Fatalf("title header %q is not printable ASCII", v)
		}
	}
	if got := fragments.ParseTitle(v); got != "Häcksler X1 (Grün) <b>" {
		t.Errorf("ParseTitle(%q) = %q", v, got)
	}
	if resp, _ := get(t, app, "/none", nil); resp.Header.Get(fragments.TitleHeader) != "" {
		t.Error("a fragment without a title sent the header")
	}
}

func TestParseTitle(t *testing.T) {
	long := strings.Repeat("é", fragments.MaxTitle+10)
	for in, want := range map[string]string{
		"":                          "",
		"%ZZ":                       "", // not percent-encoding
		"%FF%FE":                    "", // not UTF-8
		"AutoPilot%20X1":            "AutoPilot X1",
		"a%0D%0ASet-Cookie:%20x":    "a Set-Cookie: x", // line breaks become a space
		"%E2%80%AEevil%E2%80%AC":    "evil",            // bidi overrides dropped
		"%20%20lots%20%20%09of%20":  "lots of",
		fragments.EncodeTitle(long): strings.Repeat("é", fragments.MaxTitle),
		fragments.EncodeTitle(strings.Repeat("a", fragments.MaxTitle-1) + " b"): strings.Repeat("a", fragments.MaxTitle-1), // no trailing space
		"%F0%9F%91%A8%E2%80%8D%F0%9F%91%A9":                                     "👨\u200d👩",                                // a joiner stays
	} {
		if got := fragments.ParseTitle(in); got != want {
			t.Errorf("ParseTitle(%q) = %q, want %q", in, got, want)
		}
	}
}

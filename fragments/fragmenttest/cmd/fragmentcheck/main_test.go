package main

import (
	"bytes"
	"context"
	"io"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/a-h/templ"
	"github.com/gofiber/fiber/v2"

	"github.com/inlay-dev/inlay/fragments"
)

// start serves a one-fragment team whose greeting fragment needs a name, verifying contexts with pub.
func start(t *testing.T, broken bool) (string, string) {
	t.Helper()
	pub, priv, err := fragments.GenerateKey()
	if err != nil {
		t.Fatal(err)
	}
	app := fiber.New(fiber.Config{DisableStartupMessage: true})
	fragments.ServeManifest(app, fragments.Manifest{Name: "inspire", Version: "1",
		Fragments: map[string]fragments.Fragment{"greeting": {Params: []string{"name"}, Cache: fragments.Public}}})
	app.Get("/fragments/greeting", fragments.Middleware(fragments.NewVerifier(pub, false)), func(c *fiber.Ctx) error {
		name := c.Query("name")
		if name == "" {
			return fiber.ErrNotFound
		}
		boundary := "inspire"
		if broken {
			boundary = "someone-else"
		}
		comp := templ.ComponentFunc(func(_ context.Context, w io.Writer) error {
			_, err := io.WriteString(w, `<p data-boundary="`+boundary+`" data-testid="greeting">hi `+templ.EscapeString(name)+`</p>`)
			return err
		})
		return fragments.Render(c, comp, fragments.Public)
	})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go func() { _ = app.Listener(ln) }()
	t.Cleanup(func() { _ = app.ShutdownWithTimeout(5 * time.Second) })
	return "http://" + ln.Addr().String(), fragments.EncodePrivateKey(priv)
}

func TestRun(t *testing.T) {
	t.Parallel()
	good, goodKey := start(t, false)
	bad, badKey := start(t, true)
	tests := []struct {
		name string
		args []string
		code int
		out  string
	}{
		{"conforming", []string{"-url", good, "-key", goodKey, "-params", "greeting:name=Ada"}, 0, "checks passed"},
		{"verbose", []string{"-v", "-url", good, "-key", goodKey, "-params", "greeting:name=Ada"}, 0, "ok   fragment greeting?name=Ada: etag"},
		{"missing params", []string{"-url", good, "-key", goodKey}, 1, "FAIL fragment greeting: status"},
		{"no key against a server that wants one", []string{"-url", good, "-params", "greeting:name=Ada"}, 1, "status 401, want 200"},
		{"wrong boundary", []string{"-url", bad, "-key", badKey, "-params", "greeting:name=Ada"}, 1, `data-boundary "someone-else", want "inspire"`},
		{"no url", nil, 2, ""},
		{"bad params", []string{"-url", good, "-params", "nocolon"}, 2, ""},
		{"bad key", []string{"-url", good, "-key", "short"}, 2, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			var out, errOut bytes.Buffer
			code := run(t.Context(), tt.args, &out, &errOut)
			if code != tt.code || !strings.Contains(out.String(), tt.out) {
				t.Errorf("run = %d, output:\n%s%s\nwant %d and %q", code, out.String(), errOut.String(), tt.code, tt.out)
			}
		})
	}
}

package storepicker_test

import (
	"bytes"
	"context"
	"html"
	"net"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/emulation"
	"github.com/chromedp/chromedp"
	"github.com/gofiber/fiber/v2"

	"github.com/inlay-dev/inlay/services/explore/static"
	"github.com/inlay-dev/inlay/services/explore/ui/internal/uitest"
	"github.com/inlay-dev/inlay/services/explore/ui/storepicker"
)

// chromium is the browser the test drives: INLAY_CHROMIUM, else Debian's package.
func chromium(t *testing.T) string {
	t.Helper()
	path := os.Getenv("INLAY_CHROMIUM")
	if path == "" {
		path = "/usr/bin/chromium"
	}
	if _, err := os.Stat(path); err != nil {
		t.Fatalf("chromium not found at %s (%v): install Debian's chromium package (make chromium) or set INLAY_CHROMIUM", path, err)
	}
	return path
}

// servePickerPage serves a page like checkout's: the picker inside a form that posts to /chosen and
// listens for explore:store-selected and records the detail on <body>, with explore's real script.
// POST /chosen answers with the store_choice it was sent.
func servePickerPage(t *testing.T) string {
	t.Helper()
	assets, err := static.New("/static")
	if err != nil {
		t.Fatal(err)
	}
	script, err := assets.URL("store-picker.js")
	if err != nil {
		t.Fatal(err)
	}
	var picker bytes.Buffer
	if err := storepicker.View(storepicker.NewViewModel(uitest.Stores(), nil, "", script)).Render(context.Background(), &picker); err != nil {
		t.Fatal(err)
	}
	page := `<!DOCTYPE html><html><head><meta charset="utf-8"><title>picker</title></head><body>
<form id="checkout" method="post" action="/chosen"><input name="first_name" value="Ada" required>` + picker.String() + `</form>
<script>
document.getElementById("checkout").addEventListener("explore:store-selected", (e) => {
  document.body.dataset.selected = e.detail;
  document.body.dataset.events = String(Number(document.body.dataset.events || 0) + 1);
});
</script></body></html>`
	app := fiber.New(fiber.Config{DisableStartupMessage: true})
	assets.Mount(app)
	app.Get("/", func(c *fiber.Ctx) error { return c.Type("html").SendString(page) })
	app.Post("/chosen", func(c *fiber.Ctx) error {
		return c.Type("html").SendString(`<!DOCTYPE html><title>chosen</title><p id="chosen">` +
			html.EscapeString(c.FormValue(storepicker.ChoiceField)+" "+c.FormValue("first_name")) + `</p>`)
	})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go func() { _ = app.Listener(ln) }()
	t.Cleanup(func() { _ = app.ShutdownWithTimeout(5 * time.Second) })
	return "http://" + ln.Addr().String() + "/"
}

// newTab starts a headless Chromium for t and returns its tab; closed when t ends.
func newTab(t *testing.T) context.Context {
	t.Helper()
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(chromium(t)),
		chromedp.UserDataDir(t.TempDir()),
		chromedp.NoSandbox,
		chromedp.DisableGPU,
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("no-first-run", true),
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-sync", true),
	)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	allocCtx, cancelAlloc := chromedp.NewExecAllocator(ctx, opts...)
	tab, cancelTab := chromedp.NewContext(allocCtx)
	t.Cleanup(func() {
		cancelTab()
		cancelAlloc()
		cancel()
	})
	return tab
}

// TestPickerInABrowser opens the dialog, selects a store and checks what checkout relies on: the
// store shown in the picker, the dialog closed, one bubbling explore:store-selected with the id.
func TestPickerInABrowser(t *testing.T) {
	t.Parallel()
	u := servePickerPage(t)
	tab := newTab(t)
	css := func(sel string) chromedp.CSS { return chromedp.CSS(sel) }
	choose := func(store string) (chosen string) {
		t.Helper()
		err := chromedp.Do(tab,
			chromedp.WaitVisible(css(`[data-testid="store-picker-open"]`)),
			chromedp.Click(css(`[data-testid="store-picker-open"]`)),
			chromedp.WaitVisible(css(`dialog[open] [data-store-id="`+store+`"] [data-testid="store-picker-select"]`)),
			chromedp.Click(css(`[data-store-id="`+store+`"] [data-testid="store-picker-select"]`)),
			chromedp.WaitReady(css(`body[data-selected="`+store+`"]`)),
		)
		if err != nil {
			t.Fatalf("choose %s: %v", store, err)
		}
		chosen, err = chromedp.Run(tab, chromedp.Text(css(`[data-testid="store-picker-chosen"]`)))
		if err != nil {
			t.Fatal(err)
		}
		return chosen
	}
	eval := func(expr string) string {
		t.Helper()
		v, err := chromedp.Run(tab, chromedp.Evaluate[string](expr))
		if err != nil {
			t.Fatalf("%s: %v", expr, err)
		}
		return v
	}

	if err := chromedp.Do(tab, chromedp.Navigate(u)); err != nil {
		t.Fatal(err)
	}
	chosen := choose("store-c")
	if selected, events := eval(`document.body.dataset.selected`), eval(`document.body.dataset.events`); selected != "store-c" || events != "1" {
		t.Errorf("explore:store-selected: detail %q, %s events; want store-c once", selected, events)
	}
	if !strings.Contains(chosen, "Central Mall") || !strings.Contains(chosen, "Clown Street 3, Cryo") {
		t.Errorf("chosen store shows %q", chosen)
	}
	if open := eval(`String(document.querySelector("dialog").open)`); open != "false" {
		t.Error("the dialog is still open")
	}

	// Choosing again replaces the choice.
	chosen = choose("store-a")
	if !strings.Contains(chosen, "Aurora Flagship Store") || strings.Contains(chosen, "Central Mall") {
		t.Errorf("after choosing again: %q", chosen)
	}
	if events := eval(`document.body.dataset.events`); events != "2" {
		t.Errorf("%s events after two choices", events)
	}
}

// TestPickerWithoutJavaScript chooses a store with scripts disabled: the dialog opens by its invoker
// command and "select" posts the form around the picker with the store id and the other fields.
func TestPickerWithoutJavaScript(t *testing.T) {
	t.Parallel()
	u := servePickerPage(t)
	tab := newTab(t)
	sel := chromedp.CSS(`[data-store-id="store-c"] [data-testid="store-picker-select"]`)
	if _, err := chromedp.Call(tab, emulation.SetScriptExecutionDisabled, emulation.SetScriptExecutionDisabledParams{Value: true}); err != nil {
		t.Fatalf("disable scripts: %v", err)
	}
	err := chromedp.Do(tab,
		chromedp.Navigate(u),
		chromedp.WaitVisible(chromedp.CSS(`[data-testid="store-picker-open"]`)),
		chromedp.Click(chromedp.CSS(`[data-testid="store-picker-open"]`)),
		chromedp.WaitVisible(sel),
		chromedp.Click(sel),
		chromedp.WaitVisible(chromedp.CSS(`#chosen`)),
	)
	if err != nil {
		t.Fatalf("choose store-c without JavaScript: %v", err)
	}
	got, err := chromedp.Run(tab, chromedp.Text(chromedp.CSS(`#chosen`)))
	if err != nil {
		t.Fatal(err)
	}
	if got != "store-c Ada" {
		t.Errorf("the form posted %q, want store-c and the other field", got)
	}
	if ran, err := chromedp.Run(tab, chromedp.Evaluate[bool](`!!document.documentElement.dataset.exploreStorePicker`)); err == nil && ran {
		t.Error("the picker's script ran: scripts were not disabled")
	}
}

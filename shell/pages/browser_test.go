package pages_test

import (
	"context"
	"net/http"
	"os"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// TestBoundaryToggle opens the product page composed by the real shell in headless Chromium and
// turns the boundary toggle on: every team's fragment is outlined (explore's header, decide's
// product) and the page names its owner.
func TestBoundaryToggle(t *testing.T) {
	t.Parallel()
	path := os.Getenv("INLAY_CHROMIUM")
	if path == "" {
		path = "/usr/bin/chromium"
	}
	if _, err := os.Stat(path); err != nil {
		t.Fatalf("chromium not found at %s (%v): install Debian's chromium package (make chromium) or set INLAY_CHROMIUM", path, err)
	}
	base := startShell(t, map[string]string{
		"explore":  fakeTeam(t, explore(nil)),
		"decide":   fakeTeam(t, map[string]http.HandlerFunc{"product": decideProduct}),
		"checkout": closedURL(t),
		"inspire":  closedURL(t),
	})

	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(path),
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
	defer cancel()
	allocCtx, cancelAlloc := chromedp.NewExecAllocator(ctx, opts...)
	defer cancelAlloc()
	tab, cancelTab := chromedp.NewContext(allocCtx)
	defer cancelTab()

	outline := func(sel string) string {
		t.Helper()
		v, err := chromedp.Run(tab, chromedp.Evaluate[string](`getComputedStyle(document.querySelector('`+sel+`')).outlineStyle`))
		if err != nil {
			t.Fatalf("outline of %s: %v", sel, err)
		}
		return v
	}
	if err := chromedp.Do(tab,
		chromedp.Navigate(base+"/product/AU-02?sku=AU-02-BL"),
		chromedp.WaitVisible(chromedp.CSS(`[data-testid="boundary-toggle"]`)),
	); err != nil {
		t.Fatal(err)
	}
	if got := outline(`[data-boundary="explore"]`); got != "none" {
		t.Errorf("explore's header outlined (%s) before the toggle", got)
	}
	if err := chromedp.Do(tab,
		chromedp.Click(chromedp.CSS(`[data-testid="boundary-toggle"]`)),
		chromedp.WaitReady(chromedp.CSS(`html.inlay-show-boundaries`)),
	); err != nil {
		t.Fatal(err)
	}
	for _, sel := range []string{`[data-boundary="explore"]`, `[data-boundary="decide"]`, `body[data-boundary-page="decide"]`} {
		if got := outline(sel); got == "none" {
			t.Errorf("%s is not outlined with the toggle on", sel)
		}
	}
}

package e2e

import (
	"context"
	"os"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// browserTimeout bounds everything one browser does in a test.
const browserTimeout = 2 * time.Minute

// Chromium is the browser the tests drive: Debian's chromium (make chromium installs it), or
// INLAY_CHROMIUM.
func Chromium() string {
	if p := os.Getenv("INLAY_CHROMIUM"); p != "" {
		return p
	}
	return "/usr/bin/chromium"
}

// Browser starts a fresh headless Chromium with an empty profile and returns the context of its
// first tab, for chromedp.Run and chromedp.Do. The browser is closed when t ends, and its output is
// logged if t fails.
func Browser(t testing.TB) context.Context {
	t.Helper()
	path := Chromium()
	if _, err := os.Stat(path); err != nil {
		t.Fatalf("chromium not found at %s (%v): install it with `make chromium` (Debian's chromium package)", path, err)
	}
	profile := t.TempDir() // removed after the browser below has exited: cleanups run last-in first-out
	out := &logBuffer{max: logTailBytes}
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(path),
		chromedp.UserDataDir(profile),
		chromedp.NoSandbox,
		chromedp.DisableGPU,
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("no-first-run", true),
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-sync", true),
		chromedp.WindowSize(1280, 900),
		chromedp.CombinedOutput(out),
	)
	ctx, cancelTimeout := context.WithTimeout(context.Background(), browserTimeout)
	allocCtx, cancelAlloc := chromedp.NewExecAllocator(ctx, opts...)
	tab, cancelTab := chromedp.NewContext(allocCtx, chromedp.WithLogf(t.Logf))
	t.Cleanup(func() {
		cancelTab()
		cancelAlloc()
		cancelTimeout()
		if t.Failed() {
			t.Logf("--- chromium output (tail) ---\n%s", out.tail())
		}
	})
	// Start the browser now, so a browser that cannot start fails here with its output.
	if err := chromedp.Do(tab); err != nil {
		t.Fatalf("start chromium: %v\n%s", err, out.tail())
	}
	return tab
}

//go:build e2e

package e2e

import (
	"net/http"
	"testing"

	"github.com/chromedp/chromedp"
)

// TestHome opens the storefront's home page through the shell in Chromium: the page renders as a
// composed page (its body names the team that owns it) and every process of the platform is ready.
func TestHome(t *testing.T) {
	t.Parallel()
	p := Start(t)

	for name, base := range p.URLs {
		resp, err := http.Get(base + "/readyz")
		if err != nil {
			t.Fatalf("%s /readyz: %v", name, err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			t.Errorf("%s /readyz = %d, want 200", name, resp.StatusCode)
		}
	}

	tab := Browser(t)
	resp, err := chromedp.Run(tab, chromedp.NavigateResponse(p.Shell+"/"))
	if err != nil {
		t.Fatalf("open %s/: %v", p.Shell, err)
	}
	if resp.Status != http.StatusOK {
		t.Fatalf("GET / = %d, want 200", resp.Status)
	}
	if err := chromedp.Do(tab, chromedp.WaitReady(chromedp.CSS("body[data-boundary-page]"))); err != nil {
		t.Fatalf("home page has no body[data-boundary-page]: %v", err)
	}
	owner, err := chromedp.Run(tab, chromedp.AttributeValue(chromedp.CSS("body"), "data-boundary-page"))
	if err != nil {
		t.Fatal(err)
	}
	if !owner.Exists || owner.Value == "" {
		t.Errorf("body data-boundary-page = %+v, want the owning team", owner)
	}
	title, err := chromedp.Run(tab, chromedp.Title())
	if err != nil {
		t.Fatal(err)
	}
	if title == "" {
		t.Error("home page has no title")
	}
}

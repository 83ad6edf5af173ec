//go:build e2e

package e2e

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os/exec"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/emulation"
	"github.com/chromedp/chromedp"
)

// partnerKeys are a partner's keys, as `embedd partners add` prints them.
type partnerKeys struct{ publishable, secret string }

// addPartner runs `embedd partners add` against the platform's embed database.
func addPartner(t testing.TB, p *Platform, name string, origins ...string) partnerKeys {
	t.Helper()
	return addPartnerRate(t, p, name, 6000, origins...)
}

// addPartnerRate is addPartner with a rate limit of perMinute requests a minute per key.
func addPartnerRate(t testing.TB, p *Platform, name string, perMinute int, origins ...string) partnerKeys {
	t.Helper()
	bins, err := build()
	if err != nil {
		t.Fatal(err)
	}
	bin, ok := bins.path("embedd")
	if !ok {
		t.Fatal("no embedd binary")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, "partners", "add", name, "-origins", strings.Join(origins, ","),
		"-fragments", "decide/product-card", "-rate", strconv.Itoa(perMinute))
	cmd.Env = p.Env
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("embedd partners add: %v\n%s", err, stderr.Bytes())
	}
	var k partnerKeys
	sc := bufio.NewScanner(bytes.NewReader(out))
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), "EMBED_PUBLISHABLE_KEY="); ok {
			k.publishable = v
		}
		if v, ok := strings.CutPrefix(sc.Text(), "EMBED_SECRET_KEY="); ok {
			k.secret = v
		}
	}
	if k.publishable == "" || k.secret == "" {
		t.Fatalf("embedd partners add printed no keys: %s", out)
	}
	return k
}

// embedGet asks bff/embed for the Product Card with the partner's secret key.
func embedGet(p *Platform, secret, sku string) (int, string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, p.URLs["embed"]+"/embed/v1/decide/product-card?sku="+sku, nil)
	if err != nil {
		return 0, "", err
	}
	req.Header.Set("Inlay-Partner-Secret", secret)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0, "", err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b), err
}

// waitEmbedReady waits until bff/embed composes the whole card: decide's stylesheet (its manifest
// read) and inspire's recommendations (its catalog caught up).
func waitEmbedReady(t testing.TB, p *Platform, secret, sku string) string {
	t.Helper()
	var body string
	sfEventually(t, sfSettle, "bff/embed composes the card with recommendations", func() (bool, string) {
		status, b, err := embedGet(p, secret, sku)
		if err != nil {
			return false, err.Error()
		}
		body = b
		return status == 200 && strings.Contains(b, `rel="stylesheet"`) && strings.Contains(b, `data-testid="inspire-recommendation"`),
			fmt.Sprintf("%d %.300s", status, b)
	})
	return body
}

// partnerPage serves a partner's page, on its own origin, that embeds the card with loader.js, once
// with the key *key holds when the page is asked for, and once with a wrong one.
func partnerPage(t testing.TB, embedURL string, key *string) *httptest.Server {
	t.Helper()
	page := func() string {
		return `<!doctype html><html><head><title>A partner</title>
<style>h2 { color: rgb(0, 128, 0); } article { border: 0 !important; }</style>
<script src="` + embedURL + `/embed/v1/loader.js" defer></script></head>
<body><h1>Tractors we like</h1><h2 id="own">Our own heading</h2>
<inlay-fragment id="card" src="decide/product-card?sku=CL-01-GY" key="` + *key + `"><p id="card-fallback">See it at The Tractor Store</p></inlay-fragment>
<inlay-fragment id="broken" src="decide/product-card?sku=CL-01-GY" key="pk_NOTAKEY"><p id="broken-fallback">Not here today</p></inlay-fragment>
</body></html>`
	}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		_, _ = io.WriteString(w, page())
	}))
	t.Cleanup(srv.Close)
	return srv
}

// cardState is what the partner page shows of its two embedded cards.
type cardState struct {
	State       string `json:"state"`
	Name        string `json:"name"`
	NameColor   string `json:"nameColor"`
	Border      string `json:"border"`
	Recs        int    `json:"recs"`
	Link        string `json:"link"`
	OwnColor    string `json:"ownColor"`
	Broken      string `json:"broken"`
	BrokenShown bool   `json:"brokenShown"`
	Event       string `json:"event"`
}

const readCards = `(() => {
	const host = document.getElementById("card"), root = host.shadowRoot;
	const q = (s) => root && root.querySelector(s);
	const broken = document.getElementById("broken");
	const card = q('[data-testid="decide-card"]'), name = q('[data-testid="decide-card-name"]');
	return {
		state: host.getAttribute("state") || "",
		name: name ? name.textContent.trim() : "",
		nameColor: name ? getComputedStyle(name).color : "",
		border: card ? getComputedStyle(card).borderTopWidth : "",
		recs: root ? root.querySelectorAll('[data-testid="inspire-recommendation"]').length : 0,
		link: q('[data-testid="decide-card-link"]') ? q('[data-testid="decide-card-link"]').href : "",
		ownColor: getComputedStyle(document.getElementById("own")).color,
		broken: broken.getAttribute("state") || "",
		brokenShown: document.getElementById("broken-fallback").getClientRects().length > 0,
		event: window.inlayEvent || "",
	};
})()`

// TestEmbedWebComponent opens a partner's page on another origin in Chromium: loader.js renders the
// Product Card in its shadow root, styled by its own stylesheet and untouched by the page's, with
// inspire's recommendations; its link leads to the storefront's product page; a wrong key shows the
// element's own fallback; the fragment's custom events reach the host; without JavaScript the
// fallback shows.
func TestEmbedWebComponent(t *testing.T) {
	t.Parallel()
	p := Start(t, WithEnv("EMBED_FRAGMENT_CACHE=false", "INLAY_MANIFEST_REFRESH=1s"))
	var key string
	site := partnerPage(t, p.URLs["embed"], &key)
	keys := addPartner(t, p, "acme", site.URL)
	key = keys.publishable
	if strings.HasPrefix(site.URL, p.Shell) || strings.HasPrefix(site.URL, p.URLs["embed"]) {
		t.Fatalf("the partner page %s shares an origin", site.URL)
	}
	_ = waitEmbedReady(t, p, keys.secret, "CL-01-GY")

	tab := Browser(t)
	if err := chromedp.Do(tab, chromedp.Navigate(site.URL)); err != nil {
		t.Fatal(err)
	}
	var st cardState
	sfEventually(t, 20*time.Second, "the partner page shows the card", func() (bool, string) {
		var err error
		if st, err = chromedp.Run(tab, chromedp.Evaluate[cardState](readCards)); err != nil {
			return false, err.Error()
		}
		return st.State == "loaded" && st.Recs > 0 && st.Broken == "fallback", fmt.Sprintf("%+v", st)
	})
	if st.Name == "" || st.Border != "1px" {
		t.Errorf("card not styled by its stylesheet: %+v", st)
	}
	if st.NameColor == "rgb(0, 128, 0)" || st.OwnColor != "rgb(0, 128, 0)" {
		t.Errorf("styles leak across the shadow boundary: card name %s, page heading %s", st.NameColor, st.OwnColor)
	}
	if want := p.Shell + "/product/CL-01?sku=CL-01-GY"; st.Link != want {
		t.Errorf("card link %q, want %q", st.Link, want)
	}
	if !st.BrokenShown {
		t.Error("the element with a wrong key does not show its fallback")
	}

	// A custom event the fragment dispatches inside the shadow root reaches the host: a second card
	// whose "events" attribute names it.
	if _, err := chromedp.Run(tab, chromedp.Evaluate[bool](`(() => { const h = document.getElementById("card"); const c = h.cloneNode(true); c.id = "card2"; c.removeAttribute("state"); c.setAttribute("events", "decide:test"); c.addEventListener("decide:test", (e) => { window.inlayEvent = "got " + e.detail; }); document.body.append(c); return true; })()`)); err != nil {
		t.Fatal(err)
	}
	sfEventually(t, 20*time.Second, "the second card loads", func() (bool, string) {
		state, err := chromedp.Run(tab, chromedp.Evaluate[string](`document.getElementById("card2").getAttribute("state") || ""`))
		if err != nil {
			return false, err.Error()
		}
		return state == "loaded", state
	})
	event, err := chromedp.Run(tab, chromedp.Evaluate[string](`(() => { const r = document.getElementById("card2").shadowRoot; r.querySelector('[data-testid="decide-card"]').dispatchEvent(new CustomEvent("decide:test", {detail: "CL-01-GY", bubbles: true})); return window.inlayEvent || ""; })()`))
	if err != nil {
		t.Fatal(err)
	}
	if event != "got CL-01-GY" {
		t.Errorf("custom event on the host: %q", event)
	}

	// The card's link leads to the storefront's product page.
	if err := chromedp.Do(tab, chromedp.Navigate(st.Link),
		chromedp.WaitVisible(chromedp.CSS(`[data-testid="decide-product"]`))); err != nil {
		t.Fatalf("the card's link %s: %v", st.Link, err)
	}

	// Without JavaScript the element's children are the fallback.
	noJS := Browser(t)
	noScript := chromedp.Func(func(ctx context.Context, tg *chromedp.Target) error {
		_, err := cdp.Call(ctx, tg, emulation.SetScriptExecutionDisabled, emulation.SetScriptExecutionDisabledParams{Value: true})
		return err
	})
	if err := chromedp.Do(noJS, noScript, chromedp.Navigate(site.URL),
		chromedp.WaitVisible(chromedp.CSS(`#card-fallback`))); err != nil {
		t.Fatalf("without JavaScript the fallback is not visible: %v", err)
	}
	// …and the element stays undefined: nothing was rendered into it.
	if undefined, err := chromedp.Run(noJS, chromedp.Evaluate[bool](`document.getElementById("card").shadowRoot === null`)); err != nil || !undefined {
		t.Errorf("without JavaScript the element got a shadow root (%v)", err)
	}
}

package pages_test

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/PuerkitoBio/goquery"

	"github.com/inlay-dev/inlay/fragments"
	"github.com/inlay-dev/inlay/services/kit/config"
	kitserver "github.com/inlay-dev/inlay/services/kit/server"
	"github.com/inlay-dev/inlay/shell/pages"
	"github.com/inlay-dev/inlay/shell/server"
)

// fakeTeam serves fragments by name from handlers; anything else is a 404 (so it has no manifest and
// the shell takes each tag as it is).
func fakeTeam(t *testing.T, handlers map[string]http.HandlerFunc) string {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h, ok := handlers[strings.TrimPrefix(r.URL.Path, "/fragments/")]
		if !ok {
			http.NotFound(w, r)
			return
		}
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		h(w, r)
	}))
	t.Cleanup(srv.Close)
	return srv.URL
}

func html(body string) http.HandlerFunc {
	return func(w http.ResponseWriter, _ *http.Request) { fmt.Fprint(w, body) }
}

// closedURL is the address of a team that is down: nothing listens there.
func closedURL(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	u := "http://" + ln.Addr().String()
	ln.Close()
	return u
}

// startShell runs the real shell with the storefront's pages over the given team registry.
func startShell(t *testing.T, teams map[string]string) string {
	t.Helper()
	var reg []string
	for name, u := range teams {
		reg = append(reg, name+"="+u)
	}
	_, key, err := fragments.GenerateKey()
	if err != nil {
		t.Fatal(err)
	}
	cfg := server.Config{
		Common:          config.Common{Env: "dev", BodyLimit: 1 << 20, ShutdownTimeout: time.Second},
		Teams:           strings.Join(reg, ","),
		PrivateKey:      fragments.EncodePrivateKey(key),
		ManifestRefresh: time.Hour,
		FragmentTimeout: 2 * time.Second,
	}
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	ctx, cancel := context.WithCancel(context.Background())
	sh, err := server.New(ctx, server.Options{Config: cfg, Log: log, Pages: pages.All()})
	if err != nil {
		t.Fatal(err)
	}
	srv := kitserver.New(kitserver.Options{Name: "shell", Log: log})
	sh.Mount(srv.App)
	srv.App.Use(sh.NotFound)
	addr := make(chan net.Addr, 1)
	done := make(chan error, 1)
	go func() { done <- srv.Serve(ctx, "127.0.0.1:0", time.Second, func(a net.Addr) { addr <- a }) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("serve: %v", err)
		}
		sh.Close()
	})
	select {
	case a := <-addr:
		return "http://" + a.String()
	case err := <-done:
		t.Fatalf("shell: %v", err)
	}
	return ""
}

var noRedirect = &http.Client{Timeout: 30 * time.Second,
	CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}

func get(t *testing.T, u string) (*http.Response, *goquery.Document) {
	t.Helper()
	res, err := noRedirect.Get(u)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	doc, err := goquery.NewDocumentFromReader(res.Body)
	if err != nil {
		t.Fatal(err)
	}
	return res, doc
}

// explore answers its shared fragments the way explore's real ones look.
func explore(extra map[string]http.HandlerFunc) map[string]http.HandlerFunc {
	h := map[string]http.HandlerFunc{
		"header": html(`<header data-boundary="explore" data-testid="explore-header"><a href="/products">Machines</a></header>`),
		"footer": html(`<footer data-boundary="explore" data-testid="explore-footer">footer</footer>`),
	}
	for k, v := range extra {
		h[k] = v
	}
	return h
}

func decideProduct(w http.ResponseWriter, r *http.Request) {
	switch {
	case r.URL.Query().Get("id") != "AU-02":
		w.WriteHeader(http.StatusNotFound)
		fmt.Fprint(w, `<section data-boundary="decide" data-testid="decide-not-found">No such tractor.</section>`)
	case r.URL.Query().Get("sku") == "":
		http.Redirect(w, r, "/product/AU-02?sku=AU-02-OG", http.StatusFound)
	default:
		w.Header().Set(fragments.TitleHeader, fragments.EncodeTitle("SmartFarm Titan ("+r.URL.Query().Get("sku")+")"))
		fmt.Fprintf(w, `<section data-boundary="decide" data-testid="decide-product">SmartFarm Titan %s</section>`, r.URL.Query().Get("sku"))
	}
}

// TestProductPageDoesNotWaitForInspire serves the product page while inspire is stopped (nothing
// listens) and while it hangs (it answers only when the test ends): either way the page is complete —
// product, add-to-cart fallback (checkout is down too), footer — with nothing in the
// recommendations slot, and it completes while inspire's request is still unanswered.
func TestProductPageDoesNotWaitForInspire(t *testing.T) {
	t.Parallel()
	release := make(chan struct{})
	t.Cleanup(func() { close(release) })
	hanging := fakeTeam(t, map[string]http.HandlerFunc{"recommendations": func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-release:
		case <-r.Context().Done():
		}
		fmt.Fprint(w, `<section data-boundary="inspire" data-testid="recommendations">late</section>`)
	}})
	for name, inspire := range map[string]string{"stopped": closedURL(t), "hanging": hanging} {
		base := startShell(t, map[string]string{
			"explore":  fakeTeam(t, explore(nil)),
			"decide":   fakeTeam(t, map[string]http.HandlerFunc{"product": decideProduct}),
			"checkout": closedURL(t),
			"inspire":  inspire,
		})
		res, doc := get(t, base+"/product/AU-02?sku=AU-02-BL")
		if res.StatusCode != 200 {
			t.Fatalf("inspire %s: status %d", name, res.StatusCode)
		}
		if got := strings.TrimSpace(doc.Find(`[data-testid="decide-product"]`).Text()); got != "SmartFarm Titan AU-02-BL" {
			t.Errorf("inspire %s: product %q", name, got)
		}
		if doc.Find(`[data-testid="add-to-cart-unavailable"]`).Length() != 1 {
			t.Errorf("inspire %s: no add-to-cart fallback", name)
		}
		if doc.Find(`[data-testid="explore-header"]`).Length() != 1 || doc.Find(`[data-testid="explore-footer"]`).Length() != 1 {
			t.Errorf("inspire %s: header or footer missing", name)
		}
		if doc.Find(`[data-testid="recommendations"]`).Length() != 0 {
			t.Errorf("inspire %s: recommendations shown", name)
		}
		if doc.Find("body").AttrOr("data-boundary-page", "") != "decide" {
			t.Errorf("inspire %s: data-boundary-page %q", name, doc.Find("body").AttrOr("data-boundary-page", ""))
		}
		if got := doc.Find("title").Text(); got != "SmartFarm Titan (AU-02-BL) · The Tractor Store" {
			t.Errorf("inspire %s: title %q: want the product's, named by decide's fragment", name, got)
		}
	}
}

// TestProductPageStreamsBeforeRecommendations reads the product page as it streams: the product and
// everything after the recommendations slot (the footer) arrive while inspire has not answered.
func TestProductPageStreamsBeforeRecommendations(t *testing.T) {
	t.Parallel()
	asked := make(chan struct{}, 1)
	release := make(chan struct{})
	inspire := fakeTeam(t, map[string]http.HandlerFunc{"recommendations": func(w http.ResponseWriter, r *http.Request) {
		asked <- struct{}{}
		select {
		case <-release:
		case <-r.Context().Done():
		}
		fmt.Fprint(w, `<section data-boundary="inspire" data-testid="recommendations">AU-03-TQ</section>`)
	}})
	base := startShell(t, map[string]string{
		"explore":  fakeTeam(t, explore(nil)),
		"decide":   fakeTeam(t, map[string]http.HandlerFunc{"product": decideProduct}),
		"checkout": fakeTeam(t, map[string]http.HandlerFunc{"add-to-cart": html(`<form data-boundary="checkout" data-testid="add-to-cart">add to basket</form>`)}),
		"inspire":  inspire,
	})
	res, err := noRedirect.Get(base + "/product/AU-02?sku=AU-02-BL")
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	<-asked
	r := bufio.NewReader(res.Body)
	var seen strings.Builder
	for !strings.Contains(seen.String(), `data-testid="explore-footer"`) {
		line, err := r.ReadString('>')
		seen.WriteString(line)
		if err != nil {
			t.Fatalf("page ended before the footer: %v\n%s", err, seen.String())
		}
	}
	// Inspire is still holding its answer here: the product, add-to-cart and footer came without it.
	for _, want := range []string{`data-testid="decide-product"`, `data-testid="add-to-cart"`} {
		if !strings.Contains(seen.String(), want) {
			t.Errorf("before recommendations: %s missing", want)
		}
	}
	if strings.Contains(seen.String(), `data-testid="recommendations"`) {
		t.Error("recommendations arrived before inspire answered")
	}
	close(release)
	// Inspire answered late: the shell gave up on it at the slot's deadline or streams it in now.
	if _, err := io.Copy(io.Discard, r); err != nil {
		t.Fatal(err)
	}
}

func TestNotFoundAndRedirect(t *testing.T) {
	t.Parallel()
	base := startShell(t, map[string]string{
		"explore": fakeTeam(t, explore(map[string]http.HandlerFunc{"category": func(w http.ResponseWriter, r *http.Request) {
			if c := r.URL.Query().Get("category"); c != "" && c != "classic" && c != "autonomous" {
				w.WriteHeader(http.StatusNotFound)
				fmt.Fprint(w, `<section data-boundary="explore" data-testid="explore-category-not-found">Category not found</section>`)
				return
			}
			fmt.Fprint(w, `<section data-boundary="explore" data-testid="explore-category">All Machines</section>`)
		}, "search": func(w http.ResponseWriter, r *http.Request) {
			if r.URL.Query().Get("q") == "refused" {
				http.Error(w, "bad query", http.StatusBadRequest)
				return
			}
			fmt.Fprint(w, `<section data-boundary="explore" data-testid="explore-search">Results</section>`)
		}})),
		"decide":  fakeTeam(t, map[string]http.HandlerFunc{"product": decideProduct}),
		"inspire": closedURL(t),
	})
	for _, tc := range []struct {
		path   string
		status int
		testid string
	}{
		{"/products", 200, "explore-category"},
		{"/products/classic", 200, "explore-category"},
		{"/products/hovercraft", 404, "explore-category-not-found"},
		{"/product/XX-99?sku=XX-99-RD", 404, "decide-not-found"},
		{"/no/such/page", 404, "error-page"},
		{"/search?q=tractor", 200, "explore-search"},
		// The primary's team refusing the request (400) is the visitor's error, not an outage (503).
		{"/search?q=refused", 400, "error-page"},
	} {
		res, doc := get(t, base+tc.path)
		if res.StatusCode != tc.status {
			t.Errorf("%s: status %d, want %d", tc.path, res.StatusCode, tc.status)
		}
		if doc.Find(`[data-testid="`+tc.testid+`"]`).Length() != 1 {
			t.Errorf("%s: no %s", tc.path, tc.testid)
		}
		// A 404 from a primary fragment is a whole page: header and footer around the message.
		if tc.status == 404 && tc.testid != "error-page" && doc.Find(`[data-testid="explore-header"]`).Length() != 1 {
			t.Errorf("%s: the 404 page has no header", tc.path)
		}
		// "No such product" offers nothing to buy: the with-primary slots (Add To Cart, whose fallback
		// would say the basket is down, and recommendations) are left out.
		if tc.status == 404 && doc.Find(`[data-testid="add-to-cart-unavailable"], inlay-slot`).Length() != 0 {
			t.Errorf("%s: the 404 page shows Add To Cart or recommendations", tc.path)
		}
	}
	res, _ := get(t, base+"/product/AU-02")
	if res.StatusCode != http.StatusFound || res.Header.Get("Location") != "/product/AU-02?sku=AU-02-OG" {
		t.Errorf("no sku: %d → %q, want a redirect to the first variant", res.StatusCode, res.Header.Get("Location"))
	}
}

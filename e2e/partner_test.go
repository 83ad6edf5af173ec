//go:build e2e

package e2e

import (
	"bytes"
	"context"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/PuerkitoBio/goquery"
)

// partnerDeadline bounds a partner page with a team stopped: the card's deadline (1 s) and bff/embed's
// answer, well inside the proxies' 3 s read timeouts.
const partnerDeadline = 3 * time.Second

// freeAddr returns a free loopback address.
func freeAddr(t testing.TB) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	return addr
}

// fill writes the file src (under deploy/) to dst with its {{NAME}} placeholders replaced.
func fill(t testing.TB, src, dst string, values map[string]string) {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("..", "deploy", src))
	if err != nil {
		t.Fatal(err)
	}
	s := string(b)
	for k, v := range values {
		s = strings.ReplaceAll(s, "{{"+k+"}}", v)
	}
	if strings.Contains(s, "{{") {
		t.Fatalf("%s: a placeholder is left", src)
	}
	if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(dst, []byte(s), 0o644); err != nil {
		t.Fatal(err)
	}
}

// startDaemon runs a proxy in its own process group until the test ends (then SIGTERM, so nginx's
// and varnishd's children go too) and waits until addr answers; its output goes to logFile.
func startDaemon(t testing.TB, addr, logFile, name string, args ...string) {
	t.Helper()
	bin, err := exec.LookPath(name)
	if err != nil {
		t.Fatalf("%s is not installed (make test installs it: scripts/ensure-proxies.sh): %v", name, err)
	}
	log, err := os.Create(logFile)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { log.Close() })
	cmd := exec.Command(bin, args...)
	cmd.Stdout, cmd.Stderr = log, log
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() { _ = cmd.Wait(); close(done) }()
	t.Cleanup(func() {
		_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGTERM)
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
			<-done
		}
		_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) // children left behind
	})
	sfEventually(t, 30*time.Second, name+" listens", func() (bool, string) {
		select {
		case <-done:
			out, _ := os.ReadFile(logFile)
			t.Fatalf("%s exited: %s", name, out)
		default:
		}
		c, err := net.DialTimeout("tcp", addr, time.Second)
		if err != nil {
			return false, err.Error()
		}
		c.Close()
		return true, ""
	})
}

// proxyDir is a directory for a proxy's configuration and files, removed when the test ends. nginx's
// and varnishd's workers run as their own users: a t.TempDir (0700 under a 0700 parent) is out of
// their reach.
func proxyDir(t testing.TB, name string) string {
	t.Helper()
	dir, err := os.MkdirTemp("", "inlay-"+name+"-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	if err := os.Chmod(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	return dir
}

// startNginx serves deploy/nginx's partner page composed by SSI from bff/embed with secret.
func startNginx(t testing.TB, embedAddr, secret string) string {
	t.Helper()
	dir := proxyDir(t, "nginx")
	addr := freeAddr(t)
	fill(t, "nginx/nginx.conf", filepath.Join(dir, "nginx.conf"), map[string]string{"LISTEN": addr, "EMBED": embedAddr, "SECRET": secret})
	fill(t, "nginx/html/index.html", filepath.Join(dir, "html", "index.html"), nil)
	if err := os.MkdirAll(filepath.Join(dir, "tmp"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(filepath.Join(dir, "logs"), 0o755); err != nil {
		t.Fatal(err)
	}
	startDaemon(t, addr, filepath.Join(dir, "nginx.log"), "nginx", "-p", dir, "-c", "nginx.conf", "-g", "daemon off;")
	return "http://" + addr
}

// startVarnish serves deploy/varnish's partner page (from a static server, the partner's own)
// composed by ESI from bff/embed with secret.
func startVarnish(t testing.TB, embedAddr, secret string) string {
	t.Helper()
	dir := proxyDir(t, "varnish")
	page, err := os.ReadFile(filepath.Join("..", "deploy", "varnish", "html", "index.html"))
	if err != nil {
		t.Fatal(err)
	}
	// The partner's server; ?sku= (a test's hook) names another tractor in the page's include.
	site := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		b := page
		if sku := r.URL.Query().Get("sku"); skuPattern.MatchString(sku) {
			b = bytes.ReplaceAll(page, []byte("sku=CL-01-GY"), []byte("sku="+sku))
		}
		_, _ = w.Write(b)
	}))
	t.Cleanup(site.Close)
	siteHost, sitePort, _ := net.SplitHostPort(strings.TrimPrefix(site.URL, "http://"))
	embedHost, embedPort, _ := net.SplitHostPort(embedAddr)
	vcl := filepath.Join(dir, "default.vcl")
	fill(t, "varnish/default.vcl", vcl, map[string]string{"SITE_HOST": siteHost, "SITE_PORT": sitePort,
		"EMBED_HOST": embedHost, "EMBED_PORT": embedPort, "SECRET": secret})
	addr := freeAddr(t)
	startDaemon(t, addr, filepath.Join(dir, "varnishd.log"), "varnishd", "-F", "-a", addr, "-f", vcl, "-n", filepath.Join(dir, "work"),
		"-T", "none", "-s", "malloc,32m")
	return "http://" + addr
}

var skuPattern = regexp.MustCompile(`^[A-Z0-9-]{1,20}$`)

// getPage GETs a partner page and how long it took.
func getPage(t testing.TB, u string) (int, *goquery.Document, string, time.Duration) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	took := time.Since(start)
	if err != nil {
		t.Fatal(err)
	}
	doc, err := goquery.NewDocumentFromReader(strings.NewReader(string(b)))
	if err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, doc, string(b), took
}

// TestPartnerPagesSSIAndESI composes a partner's page with nginx SSI and with Varnish ESI from
// bff/embed (secret key added by the proxy): the page holds the Product Card with inspire's
// recommendations resolved and links to the storefront; with decide stopped, Varnish still serves the
// card it cached (its Cache-Control allows a minute), and a page whose card is not cached (nginx
// caches nothing) comes back with the card's fallback within the deadline.
func TestPartnerPagesSSIAndESI(t *testing.T) {
	p := Start(t, WithEnv("EMBED_FRAGMENT_CACHE=false", "INLAY_MANIFEST_REFRESH=1s"))
	keys := addPartner(t, p, "proxies")
	waitEmbedReady(t, p, keys.secret, "CL-01-GY")
	embedAddr := strings.TrimPrefix(p.URLs["embed"], "http://")
	pages := map[string]string{
		"nginx SSI":   startNginx(t, embedAddr, keys.secret) + "/",
		"Varnish ESI": startVarnish(t, embedAddr, keys.secret) + "/",
	}
	for name, u := range pages {
		status, doc, body, _ := getPage(t, u)
		card := doc.Find(`[data-testid="partner-card"] [data-testid="decide-card"]`)
		if status != 200 || card.Length() != 1 {
			t.Fatalf("%s: status %d, no card:\n%s", name, status, body)
		}
		if n := card.Find(`[data-testid="inspire-recommendation"]`).Length(); n == 0 {
			t.Errorf("%s: no recommendations nested in the card:\n%s", name, body)
		}
		if strings.Contains(body, "<inlay-fragment") || strings.Contains(body, "<esi:") || strings.Contains(body, "<!--#") {
			t.Errorf("%s: a tag is left unresolved:\n%s", name, body)
		}
		if href := card.Find(`[data-testid="decide-card-link"]`).AttrOr("href", ""); href != p.Shell+"/product/CL-01?sku=CL-01-GY" {
			t.Errorf("%s: card link %q", name, href)
		}
		if doc.Find(`link[rel="stylesheet"][href^="`+p.Shell+`/static/decide/"]`).Length() == 0 {
			t.Errorf("%s: the card's stylesheet is not the storefront's", name)
		}
		if strings.Contains(body, keys.secret) {
			t.Errorf("%s: the secret key is in the page", name)
		}
	}

	p.Stop(t, "decide")
	// Varnish honours the card's Cache-Control (max-age=60): the page it cached still shows the card.
	if _, doc, body, _ := getPage(t, pages["Varnish ESI"]); doc.Find(`[data-testid="decide-card"]`).Length() != 1 {
		t.Errorf("Varnish ESI with decide stopped: the cached card is gone:\n%s", body)
	}
	// A tractor no proxy has cached: bff/embed answers the card's fallback.
	pages["Varnish ESI"] += "?sku=AU-01-SI"
	for name, u := range pages {
		status, doc, body, took := getPage(t, u)
		if status != 200 || doc.Find(`[data-testid="decide-card-fallback"]`).Length() != 1 {
			t.Errorf("%s with decide stopped: status %d, no fallback:\n%s", name, status, body)
		}
		if took > partnerDeadline {
			t.Errorf("%s with decide stopped took %s, want at most %s", name, took, partnerDeadline)
		}
		t.Logf("%s with decide stopped: %s", name, took)
	}
}

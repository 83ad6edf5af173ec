package server

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/sony/gobreaker/v2"

	"github.com/inlay-dev/inlay/fragments"
	kitserver "github.com/inlay-dev/inlay/services/kit/server"
	"github.com/inlay-dev/inlay/shell"
)

// post sends a POST to the shell with the given headers and body and returns the answer.
func post(t *testing.T, url, contentType, body string, hdr map[string]string) (*http.Response, string) {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, url, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", contentType)
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	client := &http.Client{Timeout: 30 * time.Second, CheckRedirect: func(*http.Request, []*http.Request) error {
		return http.ErrUseLastResponse
	}}
	resp, err := client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp, string(b)
}

func TestOperatorRoutesOnlyOnTheAdminListener(t *testing.T) {
	s := startShell(t, map[string]*team{"explore": newTeam(t)}, nil, nil)
	for _, path := range []string{"/metrics", "/_inlay/purge"} {
		resp, _ := get(t, s.url+path, nil)
		if resp.StatusCode != 404 {
			t.Errorf("public %s = %d, want 404", path, resp.StatusCode)
		}
	}
	if resp, _ := post(t, s.url+"/_inlay/purge", "application/json", `{"targets":["explore"]}`, nil); resp.StatusCode != 404 {
		t.Errorf("public purge = %d, want 404", resp.StatusCode)
	}
	if resp, body := get(t, s.admin+"/metrics", nil); resp.StatusCode != 200 || !strings.Contains(body, "inlay_http_request_duration_seconds") {
		t.Errorf("admin /metrics = %d", resp.StatusCode)
	}
	if resp, _ := post(t, s.admin+"/_inlay/purge", "application/json", `{"targets":["explore"]}`, nil); resp.StatusCode != 200 {
		t.Errorf("admin purge from loopback = %d, want 200", resp.StatusCode)
	}
}

// A declared body over the limit is refused at once, before the shell waits for (or buffers) it.
func TestProxyRefusesDeclaredOversizedBodyAtOnce(t *testing.T) {
	checkout := newTeam(t)
	checkout.handle("/ui/cart/add", func(w http.ResponseWriter, r *http.Request) { fmt.Fprint(w, "added") })
	s := startShell(t, map[string]*team{"checkout": checkout}, nil, nil)
	conn, err := net.Dial("tcp", strings.TrimPrefix(s.url, "http://"))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	// The test fails (rather than hangs) if the shell waits for the 2 MiB it was promised.
	_ = conn.SetDeadline(time.Now().Add(30 * time.Second))
	fmt.Fprint(conn, "POST /checkout/cart/add HTTP/1.1\r\nHost: x\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: 2097152\r\n\r\nsku=AU-04-RD")
	resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		t.Fatalf("no answer to an oversized declared body: %v", err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusRequestEntityTooLarge {
		t.Fatalf("status %d, want 413", resp.StatusCode)
	}
	if r, _ := checkout.last("/ui/cart/add"); r != nil {
		t.Error("an oversized request reached the team")
	}
}

func TestProxyBodyLimits(t *testing.T) {
	checkout := newTeam(t)
	checkout.handle("/ui/upload", func(w http.ResponseWriter, r *http.Request) { fmt.Fprint(w, "ok") })
	s := startShell(t, map[string]*team{"checkout": checkout}, nil, nil)
	form := "sku=" + strings.Repeat("a", FormBodyLimit)
	if resp, _ := post(t, s.url+"/checkout/upload", "application/x-www-form-urlencoded", form, nil); resp.StatusCode != 413 {
		t.Errorf("form post over %d bytes = %d, want 413", FormBodyLimit, resp.StatusCode)
	}
	if resp, _ := post(t, s.url+"/checkout/upload", "application/x-www-form-urlencoded", form[:FormBodyLimit], nil); resp.StatusCode != 200 {
		t.Errorf("form post of %d bytes = %d, want 200", FormBodyLimit, resp.StatusCode)
	}
	// A chunked body has no declared length: it is cut off once it passes the limit.
	req, _ := http.NewRequest(http.MethodPost, s.url+"/checkout/upload", io.MultiReader(strings.NewReader(strings.Repeat("x", 2<<20))))
	req.Header.Set("Content-Type", "application/octet-stream")
	req.ContentLength = -1
	resp, err := http.DefaultClient.Do(req)
	if err == nil {
		resp.Body.Close()
		if resp.StatusCode != 413 {
			t.Errorf("chunked 2 MiB body = %d, want 413", resp.StatusCode)
		}
	}
	if resp, _ := post(t, s.url+"/checkout/upload", "application/json", strings.Repeat("x", 512<<10), nil); resp.StatusCode != 200 {
		t.Errorf("512 KiB JSON body = %d, want 200 (under INLAY_BODY_LIMIT)", resp.StatusCode)
	}
}

func TestProxyForwardsCSRFHeaderAndRefusesCrossSite(t *testing.T) {
	checkout := newTeam(t)
	checkout.handle("/ui/cart/add", func(w http.ResponseWriter, r *http.Request) { fmt.Fprint(w, "added") })
	s := startShell(t, map[string]*team{"checkout": checkout}, nil, nil)
	resp, _ := post(t, s.url+"/checkout/cart/add", "application/x-www-form-urlencoded", "sku=a",
		map[string]string{fragments.CSRFHeader: "tok", "Sec-Fetch-Site": "same-origin"})
	if resp.StatusCode != 200 {
		t.Fatalf("same-origin post = %d", resp.StatusCode)
	}
	r, _ := checkout.last("/ui/cart/add")
	if r.Header.Get(fragments.CSRFHeader) != "tok" || r.Header.Get("Sec-Fetch-Site") != "same-origin" {
		t.Errorf("team got headers %v", r.Header)
	}
	for name, hdr := range map[string]map[string]string{
		"cross-site":              {"Sec-Fetch-Site": "cross-site", "Origin": "https://evil.example"},
		"foreign Origin, no meta": {"Origin": "https://evil.example"},
	} {
		before := len(checkout.requests)
		resp, body := post(t, s.url+"/checkout/cart/add", "application/x-www-form-urlencoded", "sku=b", hdr)
		if resp.StatusCode != 403 {
			t.Errorf("%s: status %d, want 403: %s", name, resp.StatusCode, body)
		}
		if len(checkout.requests) != before {
			t.Errorf("%s: the request reached the team", name)
		}
	}
}

func TestProxiedHTMLHasTheShellsHeadersAndErrors(t *testing.T) {
	checkout := newTeam(t)
	checkout.handle("/ui/mini-cart", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		fmt.Fprint(w, `<a href="/checkout/cart">Cart</a>`)
	})
	checkout.handle("/ui/form", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		w.WriteHeader(422)
		fmt.Fprint(w, `<form><p>Please enter your e-mail.</p></form>`)
	})
	checkout.handle("/ui/boom", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html")
		w.WriteHeader(500)
		fmt.Fprint(w, "panic in /ui/boom at db.go:12")
	})
	checkout.handle("/ui/place-order", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(409)
		fmt.Fprint(w, `{"error":{"code":"conflict","message":"Please choose one of our stores."}}`)
	})
	s := startShell(t, map[string]*team{"checkout": checkout}, nil, nil)
	// A team's JSON error for a script is written for users: it passes.
	if resp, body := post(t, s.url+"/checkout/place-order", "application/x-www-form-urlencoded", "store=x",
		map[string]string{"Accept": "application/json"}); resp.StatusCode != 409 || !strings.Contains(body, "one of our stores") {
		t.Errorf("team's JSON error: %d %s", resp.StatusCode, body)
	}
	resp, _ := get(t, s.url+"/checkout/mini-cart", nil)
	if csp := resp.Header.Get("Content-Security-Policy"); !strings.Contains(csp, "default-src 'self'") || !strings.Contains(csp, "frame-ancestors 'none'") {
		t.Errorf("proxied HTML CSP %q", csp)
	}
	if resp.Header.Get("X-Content-Type-Options") != "nosniff" {
		t.Error("proxied HTML without nosniff")
	}
	// A team's own HTML 4xx (a form with its errors) passes as it is.
	if resp, body := get(t, s.url+"/checkout/form", nil); resp.StatusCode != 422 || !strings.Contains(body, "Please enter") {
		t.Errorf("form error: %d %s", resp.StatusCode, body)
	}
	for path, want := range map[string]int{"/checkout/no-such-route": 404, "/checkout/boom": 503} {
		resp, body := get(t, s.url+path, map[string]string{"Accept": "text/html"})
		if resp.StatusCode != want || strings.Contains(body, "/ui/") || strings.Contains(body, "db.go") || !strings.Contains(body, "<html") {
			t.Errorf("%s: %d %s", path, resp.StatusCode, body)
		}
		resp, body = get(t, s.url+path, map[string]string{"Accept": "application/json"})
		if resp.StatusCode != want || strings.Contains(body, "/ui/") || !strings.Contains(body, `"error"`) {
			t.Errorf("%s as JSON: %d %s", path, resp.StatusCode, body)
		}
	}
}

// A CSRF cookie the shell did not sign (planted by an attacker) is replaced: the context then
// carries the shell's token, so a form posting the planted value fails the team's check.
func TestPlantedCSRFCookieIsReplaced(t *testing.T) {
	checkout := newTeam(t)
	checkout.handle("/ui/cart", func(w http.ResponseWriter, r *http.Request) { fmt.Fprint(w, "cart") })
	s := startShell(t, map[string]*team{"checkout": checkout}, nil, nil)
	csrfOf := func(cookie string) (ctxToken, setCookie string) {
		resp, _ := get(t, s.url+"/checkout/cart", map[string]string{"Cookie": cookie})
		for _, c := range resp.Cookies() {
			if c.Name == CSRFCookie {
				setCookie = c.Value
			}
		}
		r, _ := checkout.last("/ui/cart")
		fc, err := s.verifier.Verify(r.Header.Get(fragments.ContextHeader), time.Now())
		if err != nil {
			t.Fatal(err)
		}
		return fc.CSRF, setCookie
	}
	planted := "X"
	tok, set := csrfOf(CSRFCookie + "=" + planted)
	if tok == planted || set == "" || set != tok {
		t.Fatalf("planted token kept: context %q, Set-Cookie %q", tok, set)
	}
	// The shell's own token is kept while the session does not change...
	if again, set2 := csrfOf(CSRFCookie + "=" + tok); again != tok || set2 != "" {
		t.Errorf("a valid token was replaced: %q → %q (Set-Cookie %q)", tok, again, set2)
	}
	// ...and reissued when it does (sign-in).
	if after, set3 := csrfOf(CSRFCookie + "=" + tok + "; " + SessionCookie + "=s1"); after == tok || set3 != after {
		t.Errorf("token not reissued for a new session: %q", after)
	}
}

func TestReadyOnceEveryManifestIsRead(t *testing.T) {
	explore := newTeam(t)
	explore.handle("/fragments/manifest.json", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		fmt.Fprint(w, `{"context":"explore","version":"1","fragments":{}}`)
	})
	down := newTeam(t)
	down.srv.Close() // registered, never answers
	s := startShell(t, map[string]*team{"explore": explore, "down": down}, nil, func(c *Config) { c.ReadyWait = time.Hour })
	err := s.shell.Ready(context.Background())
	if err == nil || !strings.Contains(err.Error(), "down") || strings.Contains(err.Error(), "explore") {
		t.Fatalf("Ready = %v, want it to name the team whose manifest is unread", err)
	}
	s.shell.cfg.ReadyWait = 0 // past the wait: ready anyway
	if err := s.shell.Ready(context.Background()); err != nil {
		t.Fatalf("Ready after the wait = %v", err)
	}
}

// A shopper's cookies may pass fasthttp's 4 KiB default (a few analytics cookies of the same site):
// the shell reads 8 KiB of them, and answers headers past its 16 KiB buffer with its own page for a
// browser, never a bare error (fasthttp has not parsed them, so there is no Accept to honour: a
// request that big comes from a browser carrying too many cookies).
func TestLargeHeaders(t *testing.T) {
	decide := newTeam(t)
	decide.fragment("product", "<article>P</article>")
	s := startShell(t, map[string]*team{"decide": decide},
		[]shell.Page{rawPage("/p", `<html><head></head><body><inlay-fragment src="decide/product" primary></inlay-fragment></body></html>`)}, nil)
	resp, body := get(t, s.url+"/p", map[string]string{"Cookie": "_ga=" + strings.Repeat("a", 8<<10) + "; inlay_cart=c1"})
	if resp.StatusCode != 200 || !strings.Contains(body, "<article>P</article>") {
		t.Fatalf("8 KiB of cookies: %d %s", resp.StatusCode, body)
	}
	resp, body = get(t, s.url+"/p", map[string]string{"Cookie": "_ga=" + strings.Repeat("a", 20<<10)})
	if resp.StatusCode != http.StatusRequestHeaderFieldsTooLarge || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/html") ||
		!strings.Contains(body, "Request too large") || resp.Header.Get("Content-Security-Policy") == "" {
		t.Errorf("20 KiB of cookies from a browser: %d %q %s", resp.StatusCode, resp.Header.Get("Content-Type"), body)
	}
}

// TestProxyRefusesDotSegments: a path with a dot segment, or an encoded dot, slash, backslash or
// percent, never reaches a team: a hop that normalises paths would turn /ui/../v1/cart into the
// team's API. A plain path still does.
func TestProxyRefusesDotSegments(t *testing.T) {
	checkout := newTeam(t)
	checkout.handle("/ui/cart", func(w http.ResponseWriter, r *http.Request) { fmt.Fprint(w, "cart") })
	s := startShell(t, map[string]*team{"checkout": checkout}, nil, nil)
	addr := strings.TrimPrefix(s.url, "http://")
	for _, path := range []string{"/checkout/../v1/cart", "/checkout/./cart", "/checkout/..%2fv1%2fcart",
		"/checkout/%2e%2e/v1/cart", "/checkout/%252e%252e/v1/cart", "/checkout/..%5cv1", "/static/checkout/../v1/cart",
		"/static/checkout/%2E%2E/x"} {
		conn, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		_ = conn.SetDeadline(time.Now().Add(30 * time.Second))
		fmt.Fprintf(conn, "GET %s HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n", path)
		resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
		if err != nil {
			t.Fatalf("%s: %v", path, err)
		}
		resp.Body.Close()
		conn.Close()
		if resp.StatusCode != http.StatusNotFound {
			t.Errorf("%s: %d, want 404", path, resp.StatusCode)
		}
	}
	checkout.mu.Lock()
	for _, r := range checkout.requests {
		if r.URL.Path != "/fragments/manifest.json" {
			t.Errorf("a team received %q", r.RequestURI)
		}
	}
	checkout.mu.Unlock()
	if resp, body := get(t, s.url+"/checkout/cart", nil); resp.StatusCode != 200 || body != "cart" {
		t.Errorf("a plain path: %d %q", resp.StatusCode, body)
	}
	if r, _ := checkout.last("/ui/cart"); r == nil || r.Header.Get(kitserver.DeadlineHeader) == "" {
		t.Error("the proxied request carries no deadline")
	}
}

// TestHTTP10GetsNoChunks: a page whose fragments are still on their way is streamed in chunks to an
// HTTP/1.1 client, but an HTTP/1.0 client, which knows no chunked encoding, gets it whole.
func TestHTTP10GetsNoChunks(t *testing.T) {
	decide, inspire := newTeam(t), newTeam(t)
	decide.fragment("product", "<article>P</article>")
	hang := make(chan struct{})
	t.Cleanup(func() { close(hang) })
	inspire.handle("/fragments/recs", func(w http.ResponseWriter, r *http.Request) {
		select { // a team that does not answer: the slot's deadline gives its fallback
		case <-hang:
		case <-r.Context().Done():
		}
	})
	doc := `<html><head></head><body><inlay-fragment src="decide/product" primary></inlay-fragment>` +
		`<inlay-fragment src="inspire/recs" timeout="1s"><p>no recs</p></inlay-fragment></body></html>`
	s := startShell(t, map[string]*team{"decide": decide, "inspire": inspire}, []shell.Page{rawPage("/p", doc)},
		func(c *Config) { c.StreamGrace = 0 })
	for _, proto := range []string{"HTTP/1.1", "HTTP/1.0"} {
		conn, err := net.Dial("tcp", strings.TrimPrefix(s.url, "http://"))
		if err != nil {
			t.Fatal(err)
		}
		_ = conn.SetDeadline(time.Now().Add(30 * time.Second))
		fmt.Fprintf(conn, "GET /p %s\r\nHost: x\r\nConnection: close\r\n\r\n", proto)
		raw, err := io.ReadAll(conn)
		conn.Close()
		if err != nil {
			t.Fatalf("%s: %v", proto, err)
		}
		head, body, _ := strings.Cut(string(raw), "\r\n\r\n")
		chunked := strings.Contains(strings.ToLower(head), "transfer-encoding: chunked")
		if chunked != (proto == "HTTP/1.1") || !strings.Contains(body, "<article>P</article>") || !strings.Contains(body, "no recs") {
			t.Errorf("%s: chunked %v:\n%s", proto, chunked, raw)
		}
	}
}

// TestProxyFailsFastWhileTheBreakerIsOpen: once a team's fragments have opened its breaker, the
// proxy does not wait on the team either: a kept content-hashed asset is served from the shell's
// copy, and anything else is 503 at once, without a request to the team.
func TestProxyFailsFastWhileTheBreakerIsOpen(t *testing.T) {
	inspire := newTeam(t)
	inspire.handle("/static/inspire.abc.css", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/css")
		w.Header().Set("Cache-Control", "public, max-age=31536000, immutable")
		fmt.Fprint(w, ".recs{}")
	})
	inspire.handle("/fragments/recs", func(w http.ResponseWriter, r *http.Request) { http.Error(w, "down", 500) })
	inspire.handle("/ui/like", func(w http.ResponseWriter, r *http.Request) { fmt.Fprint(w, "liked") })
	doc := `<html><head></head><body><main>M</main><inlay-fragment src="inspire/recs"><p>no recs</p></inlay-fragment></body></html>`
	s := startShell(t, map[string]*team{"inspire": inspire}, []shell.Page{rawPage("/p", doc)}, nil)
	if resp, body := get(t, s.url+"/static/inspire/inspire.abc.css", nil); resp.StatusCode != 200 || body != ".recs{}" {
		t.Fatalf("asset: %d %q", resp.StatusCode, body)
	}
	for i := 0; ; i++ {
		if st, _ := s.shell.client.BreakerState("inspire"); st == gobreaker.StateOpen {
			break
		}
		if i == 50 {
			t.Fatal("the breaker did not open after 50 failing fragments")
		}
		get(t, s.url+"/p", nil)
	}
	before := countRequests(inspire)
	if resp, body := get(t, s.url+"/static/inspire/inspire.abc.css", nil); resp.StatusCode != 200 || body != ".recs{}" {
		t.Errorf("kept asset while the breaker is open: %d %q", resp.StatusCode, body)
	}
	if resp, _ := post(t, s.url+"/inspire/like", "application/x-www-form-urlencoded", "csrf=x", nil); resp.StatusCode != http.StatusServiceUnavailable {
		t.Errorf("a form post while the breaker is open: %d, want 503", resp.StatusCode)
	}
	if resp, _ := get(t, s.url+"/static/inspire/other.def.css", nil); resp.StatusCode != http.StatusServiceUnavailable {
		t.Errorf("an asset never kept, while the breaker is open: %d, want 503", resp.StatusCode)
	}
	if n := countRequests(inspire); n != before {
		t.Errorf("the team got %d requests while its breaker was open", n-before)
	}
}

func countRequests(tm *team) int {
	tm.mu.Lock()
	defer tm.mu.Unlock()
	return len(tm.requests)
}

// TestProxied405KeepsAllow: a team's 405 becomes the shell's error page, which still says which
// methods the address takes (RFC 9110, 15.5.6).
func TestProxied405KeepsAllow(t *testing.T) {
	checkout := newTeam(t)
	checkout.handle("/ui/cart/add", func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodPost {
			w.Header().Set("Allow", "POST")
			http.Error(w, "Method Not Allowed", http.StatusMethodNotAllowed)
			return
		}
		fmt.Fprint(w, "added")
	})
	s := startShell(t, map[string]*team{"checkout": checkout}, nil, nil)
	resp, body := get(t, s.url+"/checkout/cart/add", nil)
	if resp.StatusCode != http.StatusMethodNotAllowed || resp.Header.Get("Allow") != "POST" || !strings.Contains(body, "does not take that kind of request") {
		t.Errorf("GET on a team's form action: %d, Allow %q:\n%.300s", resp.StatusCode, resp.Header.Get("Allow"), body)
	}
}

// TestProxiedChangeWithItsAnswerLost: a team that took a form post and lost its answer may have
// applied it: the post is not sent again, and the visitor is told it may have gone through (504),
// not to try again as after a refusal.
func TestProxiedChangeWithItsAnswerLost(t *testing.T) {
	inspire := newTeam(t)
	inspire.handle("/ui/like", func(w http.ResponseWriter, r *http.Request) {
		if conn, _, err := http.NewResponseController(w).Hijack(); err == nil {
			conn.Close()
		}
	})
	s := startShell(t, map[string]*team{"inspire": inspire}, nil, nil)
	before := countRequests(inspire)
	resp, body := post(t, s.url+"/inspire/like", "application/x-www-form-urlencoded", "csrf=x", nil)
	if resp.StatusCode != http.StatusGatewayTimeout || !strings.Contains(body, "may have gone through: please look") {
		t.Errorf("a post whose answer was lost: %d, want 504 saying it may have gone through:\n%s", resp.StatusCode, body)
	}
	if n := countRequests(inspire) - before; n != 1 {
		t.Errorf("the post reached the team %d times, want once", n)
	}
}

// TestSlowTeamsKeptAsset: a team slower than staticTimeout to send an asset the shell kept gets the
// page its kept copy then, not after the proxy's 10 s (the team's late answer, "v2" after 6 s, is
// never what the browser gets).
func TestSlowTeamsKeptAsset(t *testing.T) {
	explore := newTeam(t)
	var calls atomic.Int32
	explore.handle("/static/explore.abc.css", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/css")
		w.Header().Set("Cache-Control", "public, max-age=31536000, immutable")
		if calls.Add(1) > 1 {
			select {
			case <-time.After(6 * time.Second): // a slow team, past staticTimeout
			case <-r.Context().Done():
				return
			}
			fmt.Fprint(w, "v2")
			return
		}
		fmt.Fprint(w, "v1")
	})
	s := startShell(t, map[string]*team{"explore": explore}, nil, nil)
	if resp, body := get(t, s.url+"/static/explore/explore.abc.css", nil); resp.StatusCode != 200 || body != "v1" {
		t.Fatalf("asset: %d %q", resp.StatusCode, body)
	}
	if resp, body := get(t, s.url+"/static/explore/explore.abc.css", nil); resp.StatusCode != 200 || body != "v1" {
		t.Errorf("asset from a slow team: %d %q, want the kept copy", resp.StatusCode, body)
	}
}

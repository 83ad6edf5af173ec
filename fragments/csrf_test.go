package fragments_test

import (
	"bytes"
	"context"
	"errors"
	"mime/multipart"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"github.com/gofiber/fiber/v2"

	"github.com/inlay-dev/inlay/fragments"
)

func TestCheckCSRF(t *testing.T) {
	t.Parallel()
	withToken := fragments.WithContext(context.Background(), fragments.Context{CSRF: "tok"})
	tests := []struct {
		name  string
		ctx   context.Context
		token string
		ok    bool
	}{
		{"match", withToken, "tok", true},
		{"mismatch", withToken, "tok2", false},
		{"empty token", withToken, "", false},
		{"no context token", context.Background(), "", false},
		{"no context token, any given", context.Background(), "tok", false},
	}
	for _, tt := range tests {
		err := fragments.CheckCSRF(tt.ctx, tt.token)
		if tt.ok != (err == nil) || (err != nil && !errors.Is(err, fragments.ErrCSRF)) {
			t.Errorf("%s: CheckCSRF = %v, want ok=%v", tt.name, err, tt.ok)
		}
	}
}

func TestRequireCSRF(t *testing.T) {
	t.Parallel()
	app := fiber.New()
	app.Use(func(c *fiber.Ctx) error { // stands in for Middleware: a context with a token
		c.SetUserContext(fragments.WithContext(c.UserContext(), fragments.Context{CSRF: "tok"}))
		return c.Next()
	})
	app.Use(fragments.RequireCSRF())
	app.All("/ui/cart/add", func(c *fiber.Ctx) error { return c.SendString("done") })

	form := func(v url.Values) *http.Request {
		r := httptest.NewRequest(http.MethodPost, "/ui/cart/add", strings.NewReader(v.Encode()))
		r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		return r
	}
	withHeader := func(method, tok string) *http.Request {
		r := httptest.NewRequest(method, "/ui/cart/add", nil)
		r.Header.Set(fragments.CSRFHeader, tok)
		return r
	}
	withFetchSite := func(r *http.Request, site, origin string) *http.Request {
		r.Header.Set("X-Forwarded-Host", "shop.example")
		if site != "" {
			r.Header.Set("Sec-Fetch-Site", site)
		}
		if origin != "" {
			r.Header.Set("Origin", origin)
		}
		return r
	}
	tests := []struct {
		name   string
		req    *http.Request
		status int
	}{
		{"get needs none", httptest.NewRequest(http.MethodGet, "/ui/cart/add", nil), 200},
		{"form field", form(url.Values{fragments.CSRFField: {"tok"}, "sku": {"a"}}), 200},
		{"header", withHeader(http.MethodPost, "tok"), 200},
		{"missing", form(url.Values{"sku": {"a"}}), 403},
		// Never from the query string: a token in a URL ends up in logs and Referer headers.
		{"in the query string", func() *http.Request {
			r := form(url.Values{"sku": {"a"}})
			r.URL.RawQuery = fragments.CSRFField + "=tok"
			r.RequestURI = "/ui/cart/add?" + r.URL.RawQuery
			return r
		}(), 403},
		{"multipart field", multipartForm(t, map[string]string{fragments.CSRFField: "tok", "sku": "a"}), 200},
		{"wrong", form(url.Values{fragments.CSRFField: {"nope"}}), 403},
		{"wrong header on delete", withHeader(http.MethodDelete, "nope"), 403},
		{"cross-site fetch", withFetchSite(withHeader(http.MethodPost, "tok"), "cross-site", ""), 403},
		{"same-site but other origin", withFetchSite(withHeader(http.MethodPost, "tok"), "same-site", ""), 403},
		{"same-origin fetch", withFetchSite(withHeader(http.MethodPost, "tok"), "same-origin", ""), 200},
		{"foreign origin, no fetch metadata", withFetchSite(withHeader(http.MethodPost, "tok"), "", "https://evil.example"), 403},
		{"own origin, no fetch metadata", withFetchSite(withHeader(http.MethodPost, "tok"), "", "http://shop.example"), 200},
	}
	for _, tt := range tests {
		resp, err := app.Test(tt.req, -1)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != tt.status {
			t.Errorf("%s: status %d, want %d", tt.name, resp.StatusCode, tt.status)
		}
	}
}

func TestCSRFTokens(t *testing.T) {
	t.Parallel()
	tokens := fragments.NewCSRFTokens([]byte("server secret"))
	other := fragments.NewCSRFTokens([]byte("another secret"))
	guest := tokens.Issue("")
	if len(guest) != fragments.CSRFTokenLen || guest == tokens.Issue("") {
		t.Fatalf("tokens must be random and %d long: %q", fragments.CSRFTokenLen, guest)
	}
	signedIn := tokens.Issue("session-1")
	tests := []struct {
		name    string
		token   string
		session string
		ok      bool
	}{
		{"guest token", guest, "", true},
		{"session token", signedIn, "session-1", true},
		{"guest token after sign-in", guest, "session-1", false},
		{"token of another session", signedIn, "session-2", false},
		{"made up", "X", "", false},
		{"made up, right length", strings.Repeat("A", fragments.CSRFTokenLen), "", false},
		{"another key", other.Issue(""), "", false},
		{"tampered random part", flipFirst(guest), "", false},
	}
	for _, tt := range tests {
		if got := tokens.Valid(tt.token, tt.session); got != tt.ok {
			t.Errorf("%s: Valid = %v, want %v", tt.name, got, tt.ok)
		}
	}
}

// flipFirst changes the first character of s.
func flipFirst(s string) string {
	if s[0] == 'A' {
		return "B" + s[1:]
	}
	return "A" + s[1:]
}

// multipartForm is a POST of fields as multipart/form-data.
func multipartForm(t *testing.T, fields map[string]string) *http.Request {
	t.Helper()
	var body bytes.Buffer
	w := multipart.NewWriter(&body)
	for k, v := range fields {
		if err := w.WriteField(k, v); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	r := httptest.NewRequest(http.MethodPost, "/ui/cart/add", &body)
	r.Header.Set("Content-Type", w.FormDataContentType())
	return r
}

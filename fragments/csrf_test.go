package fragments_test

import (
	"context"
	"errors"
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
	tests := []struct {
		name   string
		req    *http.Request
		status int
	}{
		{"get needs none", httptest.NewRequest(http.MethodGet, "/ui/cart/add", nil), 200},
		{"form field", form(url.Values{fragments.CSRFField: {"tok"}, "sku": {"a"}}), 200},
		{"header", withHeader(http.MethodPost, "tok"), 200},
		{"missing", form(url.Values{"sku": {"a"}}), 403},
		{"wrong", form(url.Values{fragments.CSRFField: {"nope"}}), 403},
		{"wrong header on delete", withHeader(http.MethodDelete, "nope"), 403},
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

package server_test

import (
	"encoding/json"
	"io"
	"log/slog"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/gofiber/fiber/v2"

	"github.com/inlay-dev/inlay/services/kit/errs"
	"github.com/inlay-dev/inlay/services/kit/server"
)

func TestAPIProblems(t *testing.T) {
	t.Parallel()
	s := server.New(server.Options{Name: "test", Log: slog.New(slog.NewTextHandler(io.Discard, nil))})
	type body struct {
		Quantity *int   `json:"quantity"`
		SKU      string `json:"sku"`
	}
	s.App.Post("/api/items", server.API(64), func(c *fiber.Ctx) error {
		var b body
		if err := server.DecodeJSON(c, &b); err != nil {
			return err
		}
		n, err := server.QueryInt(c, "n", 1, 1, 5)
		if err != nil {
			return err
		}
		return c.JSON(fiber.Map{"n": n, "sku": b.SKU})
	})
	s.App.Get("/v1/missing", func(*fiber.Ctx) error { return errs.Errorf(errs.ENOTFOUND, "no such thing") })
	s.App.Get("/html", func(*fiber.Ctx) error { return errs.Errorf(errs.ENOTFOUND, "no such thing") })
	for _, tt := range []struct {
		name, method, target, ct, body string
		status                         int
		field                          string
	}{
		{"ok", "POST", "/api/items?n=2", "application/json", `{"sku":"a","quantity":1}`, 200, ""},
		{"unknown field", "POST", "/api/items", "application/json", `{"sku":"a","x":1}`, 400, "x"},
		// encoding/json would take these as sku and quantity (case and Unicode folds), and the last of two.
		{"another case", "POST", "/api/items", "application/json", `{"SKU":"a","Quantity":1}`, 400, "SKU"},
		{"a Unicode fold", "POST", "/api/items", "application/json", `{"sku":"a","ſku":"b"}`, 400, "ſku"},
		{"given twice", "POST", "/api/items", "application/json", `{"sku":"a","sku":"b"}`, 400, "sku"},
		{"fraction", "POST", "/api/items", "application/json", `{"quantity":1.5}`, 400, "quantity"},
		{"string for a number", "POST", "/api/items", "application/json", `{"quantity":"1"}`, 400, "quantity"},
		{"number for a string", "POST", "/api/items", "application/json", `{"sku":1}`, 400, "sku"},
		{"malformed", "POST", "/api/items", "application/json", `{"sku":`, 400, ""},
		{"null", "POST", "/api/items", "application/json", `null`, 400, ""},
		{"trailing", "POST", "/api/items", "application/json", `{} {}`, 400, ""},
		{"empty", "POST", "/api/items", "application/json", ``, 400, ""},
		{"form", "POST", "/api/items", "application/x-www-form-urlencoded", `sku=a`, 415, ""},
		{"too large", "POST", "/api/items", "application/json", `{"sku":"` + strings.Repeat("a", 64) + `"}`, 413, ""},
		{"query out of range", "POST", "/api/items?n=6", "application/json", `{}`, 400, "n"},
		{"query not a number", "POST", "/api/items?n=1.5", "application/json", `{}`, 400, "n"},
		{"query twice", "POST", "/api/items?n=1&n=2", "application/json", `{}`, 400, "n"},
		{"under /v1", "GET", "/v1/missing", "", ``, 404, ""},
		{"unknown route under /v1", "GET", "/v1/nothing", "", ``, 404, ""},
	} {
		req := httptest.NewRequest(tt.method, tt.target, strings.NewReader(tt.body))
		if tt.ct != "" {
			req.Header.Set("Content-Type", tt.ct)
		}
		res, err := s.App.Test(req, -1)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(res.Body)
		res.Body.Close()
		if res.StatusCode != tt.status {
			t.Errorf("%s: %d %s, want %d", tt.name, res.StatusCode, b, tt.status)
			continue
		}
		if tt.status == 200 {
			continue
		}
		var p server.Problem
		if ct := res.Header.Get("Content-Type"); ct != server.MIMEProblemJSON || json.Unmarshal(b, &p) != nil {
			t.Errorf("%s: %s %s is not a problem body", tt.name, ct, b)
			continue
		}
		if p.Status != tt.status || p.Type != "about:blank" || p.Title == "" || p.Detail == "" || p.Code == "" || p.RequestID == "" ||
			tt.field != "" && p.Fields[tt.field] == "" {
			t.Errorf("%s: problem %+v (field %q)", tt.name, p, tt.field)
		}
	}
	// Outside the APIs, errors keep the kit's {"error": ...} body.
	res, err := s.App.Test(httptest.NewRequest("GET", "/html", nil), -1)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(res.Body)
	if res.StatusCode != 404 || !strings.Contains(string(b), `"error":`) {
		t.Errorf("/html: %d %s", res.StatusCode, b)
	}
}

func TestExactKeysNested(t *testing.T) {
	t.Parallel()
	type line struct {
		SKU string `json:"sku"`
	}
	type embedded struct {
		Note string `json:"note,omitempty"`
	}
	type order struct {
		embedded
		Lines   []line            `json:"lines"`
		Labels  map[string]string `json:"labels"`
		Ignored string            `json:"-"`
		Plain   int
	}
	for body, field := range map[string]string{
		`{"lines":[{"sku":"a"}],"labels":{"Any":"x"},"note":"n","Plain":1}`: "",
		`{"lines":[{"sku":"a"},{"SKU":"b"}]}`:                               "SKU",
		`{"Ignored":"x"}`:                                                   "Ignored",
		`{"plain":1}`:                                                       "plain",
		`{"labels":{"a":"x","a":"y"}}`:                                      "a",
		`{"lines":[{"sku":"a","sku":"b"}]}`:                                 "sku",
	} {
		err := server.ExactKeys([]byte(body), &order{})
		if got := errs.Fields(err)[field]; (field == "" && err != nil) || (field != "" && got == "") {
			t.Errorf("%s: %v, want a complaint about %q", body, err, field)
		}
	}
	if err := server.ExactKeys([]byte(`{"ANY":1}`), &map[string]any{}); err != nil {
		t.Errorf("a map is not checked: %v", err)
	}
}

// TestExactKeysDepth: a body of a megabyte of "[" is refused, not walked a frame a level.
func TestExactKeysDepth(t *testing.T) {
	t.Parallel()
	type body struct {
		SKU []any `json:"sku"`
	}
	deep := `{"sku":` + strings.Repeat("[", 1<<20)
	if err := server.ExactKeys([]byte(deep), &body{}); errs.Code(err) != errs.EINVALID {
		t.Errorf("a megabyte of nesting: %v, want EINVALID", err)
	}
	if err := server.ExactKeys([]byte(`{"sku":[[[1]]]}`), &body{}); err != nil {
		t.Errorf("three levels: %v", err)
	}
}

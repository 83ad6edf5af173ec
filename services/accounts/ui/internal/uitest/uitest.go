// Package uitest helps accounts' fragment tests: it serves one handler with Fiber behind a request
// context, parses the answer with goquery, and fakes the flash store.
package uitest

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"

	"github.com/PuerkitoBio/goquery"
	"github.com/gofiber/fiber/v2"

	"github.com/inlay-dev/inlay/fragments"
	"github.com/inlay-dev/inlay/services/accounts/ui/internal/form"
)

// Do serves h for method on a Fiber app whose requests carry fc, sends target (with form posted
// when not nil) and returns the answer and its parsed body.
func Do(t *testing.T, h fiber.Handler, fc fragments.Context, method, target string, values url.Values) (*http.Response, *goquery.Document) {
	t.Helper()
	app := fiber.New()
	app.Use(func(c *fiber.Ctx) error {
		c.SetUserContext(fragments.WithContext(c.UserContext(), fc))
		return c.Next()
	})
	app.Add(method, "/", h)
	var body io.Reader
	if values != nil {
		body = strings.NewReader(values.Encode())
	}
	req := httptest.NewRequest(method, target, body)
	if values != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	res, err := app.Test(req, -1)
	if err != nil {
		t.Fatalf("%s %s: %v", method, target, err)
	}
	b, err := io.ReadAll(res.Body)
	if err != nil {
		t.Fatal(err)
	}
	doc, err := goquery.NewDocumentFromReader(strings.NewReader(string(b)))
	if err != nil {
		t.Fatal(err)
	}
	return res, doc
}

// Text is the whitespace-normalised text of sel in doc.
func Text(doc *goquery.Document, sel string) string {
	return strings.Join(strings.Fields(doc.Find(sel).Text()), " ")
}

// Flashes is an in-memory form.Flashes; PutErr, when set, is what Put returns.
type Flashes struct {
	mu     sync.Mutex
	m      map[string]form.Flash
	PutErr error
}

// Put keeps fl.
func (f *Flashes) Put(_ context.Context, name, owner string, fl form.Flash) error {
	if f.PutErr != nil {
		return f.PutErr
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.m == nil {
		f.m = map[string]form.Flash{}
	}
	f.m[name+"/"+owner] = fl
	return nil
}

// Take returns and removes a flash.
func (f *Flashes) Take(_ context.Context, name, owner string) (form.Flash, bool, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	fl, ok := f.m[name+"/"+owner]
	delete(f.m, name+"/"+owner)
	return fl, ok, nil
}

// Package mobiletest helps the mobile BFF's tests (its own and the e2e ones): Validator checks every
// answer a test receives against the OpenAPI document the BFF serves, so the document cannot drift
// from the code.
package mobiletest

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/getkin/kin-openapi/routers"
	"github.com/getkin/kin-openapi/routers/legacy"
)

// Validator validates the BFF's answers against its served OpenAPI document.
type Validator struct {
	t      testing.TB
	router routers.Router
	host   string // the server's host the document was read from: any BFF's answers are checked as its

	mu        sync.Mutex
	validated map[string]int // "METHOD path-template status" → count
}

// Load reads the OpenAPI document the BFF at base serves (/v1/openapi.json), checks that it is a
// valid OpenAPI 3.1 document, and returns a Validator for its answers.
func Load(t testing.TB, base string) *Validator {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, base+"/v1/openapi.json", nil)
	if err != nil {
		t.Fatal(err)
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("GET /v1/openapi.json: %v", err)
	}
	defer res.Body.Close()
	body, err := io.ReadAll(res.Body)
	if err != nil || res.StatusCode != http.StatusOK {
		t.Fatalf("GET /v1/openapi.json: %d %v", res.StatusCode, err)
	}
	doc, err := openapi3.NewLoader().LoadFromData(body)
	if err != nil {
		t.Fatalf("load the OpenAPI document: %v", err)
	}
	if !strings.HasPrefix(doc.OpenAPI, "3.1") {
		t.Fatalf("the document is OpenAPI %q, want 3.1", doc.OpenAPI)
	}
	if err := doc.Validate(ctx); err != nil {
		t.Fatalf("the OpenAPI document is not valid: %v", err)
	}
	// The routers match on the servers' URLs: the BFF's document names none, so match any host.
	doc.Servers = openapi3.Servers{{URL: base}}
	router, err := legacy.NewRouter(doc)
	if err != nil {
		t.Fatalf("route the OpenAPI document: %v", err)
	}
	u, err := url.Parse(base)
	if err != nil {
		t.Fatal(err)
	}
	return &Validator{t: t, router: router, host: u.Host, validated: map[string]int{}}
}

// Check validates one answer to req: its status must be documented for the operation (or be a 304
// of a read screen), and its headers and body must match the document.
func (v *Validator) Check(req *http.Request, status int, header http.Header, body []byte) error {
	if strings.HasPrefix(req.URL.Path, "/v1/openapi.") {
		return nil // the document itself
	}
	req = req.Clone(req.Context())
	req.URL.Host, req.Host = v.host, v.host
	route, params, err := v.router.FindRoute(req)
	if err != nil {
		if status == http.StatusNotFound || status == http.StatusMethodNotAllowed {
			return nil // no operation: the BFF's problem 404, checked by the tests themselves
		}
		return fmt.Errorf("%s %s: no operation in the document: %w", req.Method, req.URL.Path, err)
	}
	in := &openapi3filter.ResponseValidationInput{
		RequestValidationInput: &openapi3filter.RequestValidationInput{Request: req, PathParams: params, Route: route,
			Options: &openapi3filter.Options{AuthenticationFunc: openapi3filter.NoopAuthenticationFunc}},
		Status: status, Header: header,
		Options: &openapi3filter.Options{IncludeResponseStatus: true, MultiError: true},
	}
	in.SetBodyBytes(body)
	if status == http.StatusNotModified {
		if route.Operation.Responses.Status(status) == nil {
			return fmt.Errorf("%s %s: 304 is not documented", req.Method, route.Path)
		}
	} else if err := openapi3filter.ValidateResponse(req.Context(), in); err != nil {
		return fmt.Errorf("%s %s → %d: %w\nbody: %s", req.Method, route.Path, status, err, clip(body))
	}
	v.mu.Lock()
	v.validated[fmt.Sprintf("%s %s %d", req.Method, route.Path, status)]++
	v.mu.Unlock()
	return nil
}

// Validated returns how many answers were validated, by "METHOD path status".
func (v *Validator) Validated() map[string]int {
	v.mu.Lock()
	defer v.mu.Unlock()
	out := make(map[string]int, len(v.validated))
	for k, n := range v.validated {
		out[k] = n
	}
	return out
}

// Client returns an HTTP client whose every answer is validated (a failure fails the test).
func (v *Validator) Client() *http.Client {
	return &http.Client{Transport: &transport{v: v, base: http.DefaultTransport}, Timeout: 30 * time.Second}
}

type transport struct {
	v    *Validator
	base http.RoundTripper
}

func (tr *transport) RoundTrip(req *http.Request) (*http.Response, error) {
	var reqBody []byte
	if req.Body != nil {
		b, err := io.ReadAll(req.Body)
		if err != nil {
			return nil, err
		}
		reqBody = b
		req.Body = io.NopCloser(bytes.NewReader(b))
	}
	res, err := tr.base.RoundTrip(req)
	if err != nil {
		return nil, err
	}
	body, err := io.ReadAll(res.Body)
	res.Body.Close()
	if err != nil {
		return nil, err
	}
	res.Body = io.NopCloser(bytes.NewReader(body))
	check := req.Clone(req.Context())
	check.Body = io.NopCloser(bytes.NewReader(reqBody))
	if err := tr.v.Check(check, res.StatusCode, res.Header, body); err != nil {
		tr.v.t.Errorf("OpenAPI: %v", err)
	}
	return res, nil
}

func clip(b []byte) string {
	if len(b) > 500 {
		b = b[:500]
	}
	return string(b)
}

package main

import (
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

func TestStub(t *testing.T) {
	h := newHandler()
	for _, tc := range []struct {
		path       string
		status     int
		minLen     int
		maxLen     int
		contains   string
		cacheCtl   string
		wantHeader bool
	}{
		{path: "/f/header", status: 200, minLen: 2000, maxLen: 2100, contains: `<section class="frag-header">`},
		{path: "/fragments/product?size=8192", status: 200, minLen: 8150, maxLen: 8250, contains: "product lorem"},
		{path: "/f/footer?size=1024&delay=1&cc=public,+max-age=60", status: 200, minLen: 1000, maxLen: 1100,
			cacheCtl: "public, max-age=60", wantHeader: true},
		{path: "/fragments/manifest.json", status: 404},
		{path: "/f/x?size=huge", status: 400},
		{path: "/f/x?size=-1", status: 400},
		{path: "/f/x?delay=99999999", status: 400},
		{path: "/f/%22onmouseover", status: 200, minLen: 1, maxLen: 2100, contains: "frag-&#34;onmouseover"},
	} {
		t.Run(tc.path, func(t *testing.T) {
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, tc.path, nil))
			res := rec.Result()
			body, _ := io.ReadAll(res.Body)
			if res.StatusCode != tc.status {
				t.Fatalf("status %d, want %d (%s)", res.StatusCode, tc.status, body)
			}
			if tc.status != 200 {
				return
			}
			if ct := res.Header.Get("Content-Type"); ct != "text/html; charset=utf-8" {
				t.Errorf("Content-Type %q", ct)
			}
			if n := len(body); n < tc.minLen || n > tc.maxLen {
				t.Errorf("body of %d bytes, want %d..%d", n, tc.minLen, tc.maxLen)
			}
			if !strings.Contains(string(body), tc.contains) {
				t.Errorf("body does not contain %q: %.80s", tc.contains, body)
			}
			if cc := res.Header.Get("Cache-Control"); tc.wantHeader && cc != tc.cacheCtl {
				t.Errorf("Cache-Control %q, want %q", cc, tc.cacheCtl)
			}
		})
	}
}

func TestStubMemoizes(t *testing.T) {
	s := &stub{bodies: map[bodyKey][]byte{}}
	a, b := s.body("header", 2048), s.body("header", 2048)
	if &a[0] != &b[0] {
		t.Error("the same name and size built twice")
	}
	if c := s.body("header", 1024); len(c) >= len(a) {
		t.Errorf("size 1024 gave %d bytes, size 2048 %d", len(c), len(a))
	}
}

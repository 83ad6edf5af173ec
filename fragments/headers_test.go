package fragments

import (
	"bufio"
	"slices"
	"strings"
	"testing"

	"github.com/valyala/fasthttp"
)

// TestReadHeaders checks the one pass over an answer's headers against what Peek reads: names in
// any case, the first of a header sent twice, and nothing for headers that are absent.
func TestReadHeaders(t *testing.T) {
	raw := "HTTP/1.1 200 OK\r\n" +
		"content-type: text/html; charset=utf-8\r\n" +
		"CACHE-CONTROL: public, max-age=60\r\n" +
		"etag: \"v1\"\r\n" +
		"Vary: Accept-Language\r\n" +
		"Vary: Cookie\r\n" +
		"inlay-tags: sku:AU-01 product:AU\r\n" +
		"Link: </a.css>; rel=preload\r\n" +
		"Content-Length: 2\r\n\r\nok"
	var resp fasthttp.Response
	if err := resp.Read(bufio.NewReader(strings.NewReader(raw))); err != nil {
		t.Fatal(err)
	}
	var out FetchResponse
	readHeaders(&resp.Header, &out)
	want := FetchResponse{ContentType: "text/html; charset=utf-8", CacheControl: "public, max-age=60", ETag: `"v1"`,
		Vary: "Accept-Language", Link: "</a.css>; rel=preload", Tags: ParseTags("sku:AU-01 product:AU")}
	if out.ContentType != want.ContentType || out.CacheControl != want.CacheControl || out.ETag != want.ETag ||
		out.Vary != want.Vary || out.Link != want.Link || out.Location != "" || out.RetryAfter != "" ||
		!slices.Equal(out.Tags, want.Tags) || len(out.Tags) != 2 {
		t.Errorf("readHeaders = %+v, want %+v", out, want)
	}
	for _, name := range []string{fasthttp.HeaderCacheControl, fasthttp.HeaderETag, fasthttp.HeaderVary, fasthttp.HeaderLink} {
		if peek := string(resp.Header.Peek(name)); peek == "" {
			t.Errorf("Peek(%s) is empty: the answer above is not what the test means", name)
		}
	}
}

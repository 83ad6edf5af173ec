package mobile

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"net/http"
	"slices"
	"strconv"
	"strings"

	"github.com/danielgtaylor/huma/v2"
	"github.com/gofiber/fiber/v2"
)

// cacheHeaders gives every answer under /v1 Cache-Control: private (no-store for the others than a
// read screen's 200), and a read screen's 200 an ETag of its body: a request whose If-None-Match
// names it gets 304 without the body.
func (b *BFF) cacheHeaders(c *fiber.Ctx) error {
	if err := c.Next(); err != nil {
		return err
	}
	res := c.Response()
	if c.Method() != fiber.MethodGet || res.StatusCode() != fiber.StatusOK {
		c.Set(fiber.HeaderCacheControl, "no-store")
		return nil
	}
	c.Set(fiber.HeaderCacheControl, "private")
	if c.Path() == OpenAPIPath+".json" || c.Path() == OpenAPIPath+".yaml" {
		c.Set(fiber.HeaderCacheControl, "public, max-age=60")
	}
	sum := sha256.Sum256(res.Body())
	etag := `"` + hex.EncodeToString(sum[:16]) + `"`
	c.Set(fiber.HeaderETag, etag)
	if matches(c.Get(fiber.HeaderIfNoneMatch), etag) {
		res.ResetBody()
		res.Header.Del(fiber.HeaderContentType)
		c.Status(fiber.StatusNotModified)
	}
	return nil
}

// matches reports whether an If-None-Match value names etag (or is "*"); weak validators compare
// equal to their strong form.
func matches(inm, etag string) bool {
	if inm == "" {
		return false
	}
	for _, part := range bytes.Split([]byte(inm), []byte(",")) {
		p := bytes.TrimSpace(part)
		p = bytes.TrimPrefix(p, []byte("W/"))
		if string(p) == "*" || string(p) == etag {
			return true
		}
	}
	return false
}

// problem is an RFC 9457 problem body, the shape huma writes for every error.
type problem struct {
	Type   string `json:"type,omitempty"`
	Title  string `json:"title"`
	Status int    `json:"status"`
	Detail string `json:"detail,omitempty"`
}

// writeProblem answers with a problem body outside huma (a path no operation serves).
func writeProblem(c *fiber.Ctx, status int, detail string) error {
	body, err := json.Marshal(problem{Type: "about:blank", Title: http.StatusText(status), Status: status, Detail: detail})
	if err != nil {
		return err
	}
	c.Set(fiber.HeaderContentType, "application/problem+json")
	c.Set(fiber.HeaderCacheControl, "no-store")
	return c.Status(status).Send(body)
}

// queryOnce refuses a query that names a parameter twice (400), as the teams' APIs do: huma reads the
// first of two values, a cache or a proxy in front may read the last.
func queryOnce(c *fiber.Ctx) error {
	args := c.Context().QueryArgs()
	var seen []string
	for k := range args.All() {
		name := string(k)
		if slices.Contains(seen, name) {
			return writeProblem(c, fiber.StatusBadRequest, strconv.Quote(name)+" is given more than once")
		}
		seen = append(seen, name)
	}
	return c.Next()
}

// allowed lists the methods the API's document routes for path ("" when it routes none): what a 405
// for another method names in Allow (huma routes no HEAD). A {parameter} segment matches any one
// segment; the others match without regard to case, as Fiber routes.
func allowed(doc *huma.OpenAPI, path string) string {
	segs := strings.Split(strings.Trim(path, "/"), "/")
	var methods []string
	for tmpl, item := range doc.Paths {
		if !matchTemplate(strings.Split(strings.Trim(tmpl, "/"), "/"), segs) {
			continue
		}
		for _, m := range []struct {
			name string
			op   *huma.Operation
		}{{fiber.MethodGet, item.Get}, {fiber.MethodPost, item.Post}, {fiber.MethodPut, item.Put},
			{fiber.MethodPatch, item.Patch}, {fiber.MethodDelete, item.Delete}} {
			if m.op != nil && !slices.Contains(methods, m.name) {
				methods = append(methods, m.name)
			}
		}
	}
	slices.SortFunc(methods, func(a, b string) int { return methodOrder(a) - methodOrder(b) })
	return strings.Join(methods, ", ")
}

func matchTemplate(tmpl, segs []string) bool {
	if len(tmpl) != len(segs) {
		return false
	}
	for i, t := range tmpl {
		if strings.HasPrefix(t, "{") && strings.HasSuffix(t, "}") {
			if segs[i] == "" {
				return false
			}
		} else if !strings.EqualFold(t, segs[i]) {
			return false
		}
	}
	return true
}

// methodOrder puts Allow's methods in the usual order.
func methodOrder(m string) int {
	return slices.Index([]string{fiber.MethodGet, fiber.MethodPost, fiber.MethodPut, fiber.MethodPatch, fiber.MethodDelete}, m)
}

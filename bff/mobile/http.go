package mobile

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"net/http"

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

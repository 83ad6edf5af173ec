package server

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"reflect"
	"strconv"
	"strings"

	"github.com/gofiber/fiber/v2"

	"github.com/inlay-dev/inlay/services/kit/errs"
)

// MIMEProblemJSON is the media type of an RFC 9457 problem details body.
const MIMEProblemJSON = "application/problem+json"

// Problem is the body of a JSON API's error answer (RFC 9457 problem details): Type is "about:blank"
// and Title the status's text, as the RFC asks when a problem has no type of its own; Code is the
// kit's error code (errs), which clients branch on; Fields names the request's fields that failed
// validation, each with a message.
type Problem struct {
	Type      string            `json:"type"`
	Title     string            `json:"title"`
	Status    int               `json:"status"`
	Detail    string            `json:"detail"`
	Code      string            `json:"code"`
	Fields    map[string]string `json:"fields,omitempty"`
	RequestID string            `json:"requestId,omitempty"`
}

type problemKey struct{}

// DefaultAPIBodyLimit bounds a JSON API request's body when API is given no limit.
const DefaultAPIBodyLimit = 16 << 10

// APIPrefix is where the JSON APIs live: every error under it (the edge's own refusals, an unknown
// route, a handler's error) is answered as RFC 9457 problem details.
const APIPrefix = "/v1"

// API is middleware for a JSON API's routes: their errors are answered by the server's one error
// handler as RFC 9457 problem details (application/problem+json, see Problem) instead of the kit's
// {"error": {...}} body — as for every route under APIPrefix — and a request body over limit bytes
// (DefaultAPIBodyLimit when limit <= 0) is refused with 413 before any handler reads it.
func API(limit int) fiber.Handler {
	if limit <= 0 {
		limit = DefaultAPIBodyLimit
	}
	return func(c *fiber.Ctx) error {
		c.Locals(problemKey{}, true)
		if len(c.Request().Body()) > limit {
			return errs.Errorf(errs.ETOOLARGE, "the request body is larger than %d bytes", limit)
		}
		return c.Next()
	}
}

// WantsProblem reports whether c's errors are answered as problem details: API is on its route, or
// its path is under APIPrefix.
func WantsProblem(c *fiber.Ctx) bool {
	if c.Locals(problemKey{}) != nil {
		return true
	}
	p := c.Path()
	return p == APIPrefix || strings.HasPrefix(p, APIPrefix+"/")
}

// WriteProblem answers c with a problem details body for status and code.
func WriteProblem(c *fiber.Ctx, status int, code, detail string, fields map[string]string) error {
	c.Status(status)
	body, err := json.Marshal(Problem{Type: "about:blank", Title: http.StatusText(status), Status: status,
		Detail: detail, Code: code, Fields: fields, RequestID: RequestID(c)})
	if err != nil {
		return fmt.Errorf("problem body: %w", err)
	}
	c.Set(fiber.HeaderContentType, MIMEProblemJSON)
	c.Set(fiber.HeaderCacheControl, "no-store")
	return c.Send(body)
}

// DecodeJSON decodes c's body, which must be one JSON object of application/json, into v (a
// pointer to a struct) strictly: an unknown field (names match exactly: ExactKeys), a field given twice, a value of the wrong type (1.5 or "1" for an
// integer) or anything after the object is an EINVALID error naming the field (errs.Fields), a
// body of another media type a 415.
func DecodeJSON(c *fiber.Ctx, v any) error {
	mt, _, err := mime.ParseMediaType(string(c.Request().Header.ContentType()))
	if err != nil || (mt != fiber.MIMEApplicationJSON && !strings.HasSuffix(mt, "+json")) {
		return fiber.NewError(fiber.StatusUnsupportedMediaType, "the body must be application/json")
	}
	body := bytes.TrimSpace(c.Body())
	if len(body) == 0 || body[0] != '{' {
		return errs.Invalid("the body must be a JSON object", nil)
	}
	if err := ExactKeys(body, v); err != nil {
		return err
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return JSONError(err)
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return errs.Invalid("the body must hold one JSON object and nothing after it", nil)
	}
	return nil
}

// JSONError turns an encoding/json decoding error into an EINVALID error that names the field in
// the API's words ("quantity must be a whole number"), never in Go's ("Go struct field .quantity of
// type int").
func JSONError(err error) error {
	var typeErr *json.UnmarshalTypeError
	if errors.As(err, &typeErr) && typeErr.Field != "" {
		msg := "must be " + jsonKind(typeErr.Type)
		return errs.Invalid(typeErr.Field+" "+msg, map[string]string{typeErr.Field: msg})
	}
	if name, ok := strings.CutPrefix(err.Error(), "json: unknown field "); ok {
		name = strings.Trim(name, `"`)
		return errs.Invalid("unknown field "+name, map[string]string{name: "unknown field"})
	}
	return errs.Invalid("the body is not valid JSON", nil)
}

// jsonKind names the JSON value a Go type takes.
func jsonKind(t reflect.Type) string {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	switch t.Kind() {
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return "a whole number"
	case reflect.Float32, reflect.Float64:
		return "a number"
	case reflect.String:
		return "a string"
	case reflect.Bool:
		return "true or false"
	case reflect.Slice, reflect.Array:
		return "an array"
	default:
		return "an object"
	}
}

// QueryInt reads query parameter name as a whole number from lo to hi, def when it is absent; any
// other value (not a whole number, out of range, given twice) is an EINVALID error naming it.
func QueryInt(c *fiber.Ctx, name string, def, lo, hi int) (int, error) {
	args := c.Context().QueryArgs()
	values := args.PeekMulti(name)
	if len(values) == 0 {
		return def, nil
	}
	msg := fmt.Sprintf("must be a whole number from %d to %d", lo, hi)
	if len(values) > 1 {
		return 0, errs.Invalid(name+" is given more than once", map[string]string{name: "must be given once"})
	}
	n, err := strconv.Atoi(string(values[0]))
	if err != nil || n < lo || n > hi {
		return 0, errs.Invalid(name+" "+msg, map[string]string{name: msg})
	}
	return n, nil
}

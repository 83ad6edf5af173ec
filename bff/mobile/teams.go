package mobile

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"syscall"
	"time"

	"github.com/danielgtaylor/huma/v2"

	"github.com/inlay-dev/inlay/fragments"
)

// call is one request to a team's /v1 JSON API.
type call struct {
	team   string
	method string // GET when empty
	path   string // "/v1/products/tractor-1"
	query  url.Values
	body   any // marshalled as JSON when not nil
	// auth is the Authorization header: only for accounts (sign-in, whoami, sign-out).
	auth           string
	idempotencyKey string
	// timeout is the call's deadline; the team's when zero.
	timeout time.Duration
	// change marks a call that changes something and cannot be repeated safely (no Idempotency-Key):
	// its answer lost, the app is told the change may have been applied (504), not to try again.
	change bool
}

// teamError is a team's answer that the screen cannot use: its status (0 when there was none: a
// timeout, a transport error, an open breaker) and a message for the problem body.
type teamError struct {
	team   string
	status int
	detail string
	fields map[string]string // the fields the team found invalid, with its messages
	err    error
	// unknown: a change (POST, PATCH without an Idempotency-Key) whose answer was lost — a timeout,
	// a reset — so the team may have applied it: the app must look before sending it again.
	unknown bool
}

func (e *teamError) Error() string {
	if e.err != nil {
		return fmt.Sprintf("%s: %v", e.team, e.err)
	}
	return fmt.Sprintf("%s: status %d: %s", e.team, e.status, e.detail)
}

func (e *teamError) Unwrap() error { return e.err }

// do performs c with the team's deadline and breaker, signed with rc's context, and decodes a 2xx
// answer into out (when not nil). Any other answer is a *teamError.
func (b *BFF) do(ctx context.Context, rc *requestContext, c call, out any) error {
	_, err := b.doStatus(ctx, rc, c, out)
	return err
}

// doStatus is do, and also returns the 2xx status of the answer.
func (b *BFF) doStatus(ctx context.Context, rc *requestContext, c call, out any) (int, error) {
	r := fragments.FetchRequest{
		Team:           c.team,
		Method:         c.method,
		Path:           c.path,
		Accept:         "application/json",
		Authorization:  c.auth,
		IdempotencyKey: c.idempotencyKey,
		Timeout:        c.timeout,
		Forwarded:      rc.forwarded(),
	}
	if r.Timeout <= 0 {
		r.Timeout = b.opts.Deadlines.of(c.team)
	}
	if !rc.start.IsZero() {
		r.Timeout = max(r.Timeout-time.Since(rc.start), time.Millisecond)
	}
	if c.query != nil {
		r.Query = c.query.Encode()
	}
	if c.body != nil {
		body, err := json.Marshal(c.body)
		if err != nil {
			return 0, fmt.Errorf("%s%s: encode body: %w", c.team, c.path, err)
		}
		r.Body, r.ContentType = body, "application/json"
	}
	start := time.Now()
	resp, err := b.client.Fetch(ctx, r)
	if err != nil {
		status := 0
		if resp != nil {
			status = resp.Status
			resp.Release()
		}
		b.opts.Log.WarnContext(ctx, "team call failed", "team", c.team, "path", c.path, "status", status,
			"duration", time.Since(start), "error", err.Error())
		reached := status == 0 && !errors.Is(err, syscall.ECONNREFUSED) && !errors.Is(err, fragments.ErrBreakerOpen)
		return 0, &teamError{team: c.team, status: status, err: err, unknown: c.change && c.idempotencyKey == "" && reached}
	}
	defer resp.Release()
	if resp.Status < 200 || resp.Status > 299 {
		detail, fields := problemDetail(resp.Body)
		return 0, &teamError{team: c.team, status: resp.Status, detail: detail, fields: fields}
	}
	if out == nil || resp.Status == http.StatusNoContent {
		return resp.Status, nil
	}
	if err := json.Unmarshal(resp.Body, out); err != nil {
		return 0, &teamError{team: c.team, status: http.StatusBadGateway, err: fmt.Errorf("decode %s: %w", c.path, err)}
	}
	return resp.Status, nil
}

// maxFields bounds the invalid fields passed on from a team's answer.
const maxFields = 20

// problemDetail reads a team's error message — an RFC 9457 problem's detail (or title), or the kit's
// {"error":{"message"}} — and the fields it names as invalid, with their messages.
func problemDetail(body []byte) (string, map[string]string) {
	var p struct {
		Title  string            `json:"title"`
		Detail string            `json:"detail"`
		Fields map[string]string `json:"fields"`
		Error  struct {
			Message string            `json:"message"`
			Fields  map[string]string `json:"fields"`
		} `json:"error"`
	}
	if json.Unmarshal(body, &p) != nil {
		return "", nil
	}
	fields := p.Fields
	if len(fields) == 0 {
		fields = p.Error.Fields
	}
	var out map[string]string
	for k, v := range fields {
		if len(out) == maxFields {
			break
		}
		if out == nil {
			out = map[string]string{}
		}
		out[clip(k, 64)] = clip(v, 300)
	}
	switch {
	case p.Detail != "":
		return clip(p.Detail, 300), out
	case p.Error.Message != "":
		return clip(p.Error.Message, 300), out
	default:
		return clip(p.Title, 300), out
	}
}

// primaryError turns a primary team's failure into the screen's error: the team's own 4xx (400,
// 404, 409, 422, 429) with its message, anything else 503. A 400 or 422 that names invalid fields
// (a card number that fails its check) is a 422 with a detail for each, as huma's own schema errors
// are: the body fit the schema, not the team's rules.
func primaryError(err error) error {
	var te *teamError
	if errors.As(err, &te) {
		if (te.status == http.StatusBadRequest || te.status == http.StatusUnprocessableEntity) && len(te.fields) > 0 {
			names := slices.Sorted(maps.Keys(te.fields))
			details := make([]error, 0, len(names))
			for _, k := range names {
				details = append(details, &huma.ErrorDetail{Location: "body." + k, Message: te.fields[k]})
			}
			detail := te.detail
			if detail == "" {
				detail = "validation failed"
			}
			return huma.NewError(http.StatusUnprocessableEntity, detail, details...)
		}
		switch te.status {
		case http.StatusBadRequest, http.StatusNotFound, http.StatusConflict, http.StatusUnprocessableEntity:
			detail := te.detail
			if detail == "" {
				detail = http.StatusText(te.status)
			}
			return huma.NewError(te.status, detail)
		case http.StatusTooManyRequests:
			return huma.ErrorWithHeaders(huma.NewError(te.status, "too many requests"), http.Header{"Retry-After": {"60"}})
		}
		if te.unknown {
			return huma.NewError(http.StatusGatewayTimeout, te.team+" did not answer in time; the change may have been applied: read it again before sending it again")
		}
		return huma.ErrorWithHeaders(huma.Error503ServiceUnavailable(te.team+" is unavailable; try again shortly"),
			http.Header{"Retry-After": {"5"}})
	}
	return err
}

// parallel runs fns at once and returns their errors, in order, once every one has returned; each
// fn's call has its own deadline, so this waits at most for the longest of them.
func parallel(fns ...func() error) []error {
	errs := make([]error, len(fns))
	done := make(chan struct{}, len(fns))
	for i, fn := range fns {
		go func() {
			defer func() { done <- struct{}{} }()
			errs[i] = fn()
		}()
	}
	for range fns {
		<-done
	}
	return errs
}

func clip(s string, n int) string {
	if len(s) > n {
		s = s[:n]
	}
	return strings.ToValidUTF8(s, "")
}

func asTeamError(err error, te **teamError) bool { return errors.As(err, te) }

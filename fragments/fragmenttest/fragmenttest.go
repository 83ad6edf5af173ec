// Package fragmenttest is the fragment contract (docs/fragments.md) as a test suite. A team runs it against
// its own server from a test:
//
//	fragmenttest.Run(t, baseURL,
//		fragmenttest.Signer(signer),                              // the server verifies with signer's public key
//		fragmenttest.Params("product", url.Values{"sku": {"AU-01"}}), // what each fragment needs
//	)
//
// and anyone can run it against a URL with the fragmentcheck command. It reads the server's manifest
// and checks that the manifest is served and valid, and that every fragment answers 200 with HTML
// that is a fragment (no html/head/body), has a root carrying data-boundary (the team's name) and
// data-testid, sends Cache-Control consistent with its manifest policy, an ETag honoured with 304 when
// public, Link headers for its declared assets, a manifest entry asking for the CSRF token when it
// renders a csrf field for a guest (and, when public, fragments.CSRFPlaceholder as the field's value),
// no Set-Cookie, nested <inlay-fragment> tags that name
// a context and fragment (never a URL), ids that start with the team's prefix and appear once (a
// composed page holds many teams' fragments, and an id may be used only once in it), a manifest
// fallback of the same shape, and rejects forged, expired or (outside dev mode) missing Inlay-Context
// headers.
package fragmenttest

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"mime"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"golang.org/x/net/html"

	"github.com/inlay-dev/inlay/fragments"
)

// Option configures a run of the suite.
type Option func(*config)

type config struct {
	params        map[string][]url.Values
	signer        *fragments.Signer
	context       fragments.Context
	contexts      map[string]fragments.Context // by fragment name (FragmentContext)
	allowUnsigned bool
	client        *http.Client
	timeout       time.Duration
	maxBody       int64
	idPrefix      string
}

// Params adds a parameter set to request fragment name with; each set is checked. Without one, the
// fragment is requested without parameters.
func Params(name string, v url.Values) Option {
	return func(c *config) { c.params[name] = append(c.params[name], v) }
}

// Signer says the server verifies Inlay-Context with s's public key: requests carry a context signed
// by s, and the suite checks that forged and expired contexts are rejected (401, 403) and, unless
// AllowUnsigned, that a missing one is too (401). Without a Signer, requests carry no context and
// those checks are reported as skipped.
func Signer(s *fragments.Signer) Option { return func(c *config) { c.signer = s } }

// Context sets the context sent with each request (signed with the Signer); its Expires is set
// by the suite. The default is a guest with locale "en".
func Context(fc fragments.Context) Option { return func(c *config) { c.context = fc } }

// FragmentContext sets the context sent with fragment name's requests, instead of Context's: a
// fragment only a customer sees (a profile) beside one only a guest does (a sign-in form, which
// sends a customer on to the account).
func FragmentContext(name string, fc fragments.Context) Option {
	return func(c *config) {
		if c.contexts == nil {
			c.contexts = map[string]fragments.Context{}
		}
		c.contexts[name] = fc
	}
}

// AllowUnsigned says the server runs in dev mode: a request without Inlay-Context is served as a
// guest, so a missing context is not expected to be rejected (a forged one still is).
func AllowUnsigned() Option { return func(c *config) { c.allowUnsigned = true } }

// IDPrefix sets the prefix every id in the team's fragments starts with (default: the manifest's name
// and "-", "checkout-"); a team names its short one, the prefix of its CSS classes ("co-").
func IDPrefix(p string) Option { return func(c *config) { c.idPrefix = p } }

// Client sets the HTTP client (default: a client with a 10 s timeout).
func Client(hc *http.Client) Option { return func(c *config) { c.client = hc } }

// Timeout bounds each request (default 10 s); it is a deadline, not a speed check.
func Timeout(d time.Duration) Option { return func(c *config) { c.timeout = d } }

// Finding is the outcome of one check: Err is nil when it passed; Skipped says it could not run with
// the given options (Err then says why).
type Finding struct {
	Fragment string // "" for the manifest
	Check    string // a short name: manifest, status, document, root, cache-control, etag, links, ...
	Err      error
	Skipped  bool
}

// Failed reports whether the check ran and failed.
func (f Finding) Failed() bool { return f.Err != nil && !f.Skipped }

func (f Finding) String() string {
	where := "manifest"
	if f.Fragment != "" {
		where = "fragment " + f.Fragment
	}
	switch {
	case f.Skipped:
		return fmt.Sprintf("skip %s: %s: %v", where, f.Check, f.Err)
	case f.Err != nil:
		return fmt.Sprintf("FAIL %s: %s: %v", where, f.Check, f.Err)
	default:
		return fmt.Sprintf("ok   %s: %s", where, f.Check)
	}
}

// Run checks the server at baseURL (e.g. "http://127.0.0.1:8102") and reports each failed check with
// t.Errorf, each passed or skipped one with t.Logf.
func Run(t testing.TB, baseURL string, opts ...Option) {
	t.Helper()
	// Each request has its own deadline (Timeout), so the background context is enough here, and it
	// keeps Run usable with any testing.TB.
	for _, f := range Check(context.Background(), baseURL, opts...) {
		if f.Failed() {
			t.Errorf("%s", f)
		} else {
			t.Logf("%s", f)
		}
	}
}

// Check runs the suite against baseURL and returns every finding, in a stable order: the manifest's
// first, then each fragment's by name. Failures to reach the server are findings too.
func Check(ctx context.Context, baseURL string, opts ...Option) []Finding {
	c := config{
		params:  map[string][]url.Values{},
		context: fragments.Context{Locale: "en"},
		timeout: 10 * time.Second,
		maxBody: 4 << 20,
	}
	for _, o := range opts {
		o(&c)
	}
	if c.client == nil {
		c.client = &http.Client{Timeout: c.timeout}
	}
	s := &suite{config: c, base: strings.TrimRight(baseURL, "/")}
	return s.run(ctx)
}

type suite struct {
	config
	base     string
	findings []Finding
}

func (s *suite) add(fragment, check string, err error) {
	s.findings = append(s.findings, Finding{Fragment: fragment, Check: check, Err: err})
}

func (s *suite) skip(fragment, check, why string) {
	s.findings = append(s.findings, Finding{Fragment: fragment, Check: check, Err: errors.New(why), Skipped: true})
}

type response struct {
	status int
	header http.Header
	body   []byte
}

// header values for a request: which context to send.
const (
	ctxValid = iota
	ctxNone
	ctxForged
	ctxExpired
)

func (s *suite) get(ctx context.Context, path string, ctxKind int, extra http.Header) (response, error) {
	ctx, cancel := context.WithTimeout(ctx, s.timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, s.base+path, nil)
	if err != nil {
		return response{}, fmt.Errorf("request %s: %w", path, err)
	}
	req.Header.Set("User-Agent", "inlay-fragmenttest")
	if s.context.Locale != "" {
		req.Header.Set("Accept-Language", s.context.Locale)
	}
	for k, v := range extra {
		req.Header[k] = v
	}
	if h, err := s.contextHeader(ctxKind, path); err != nil {
		return response{}, err
	} else if h != "" {
		req.Header.Set(fragments.ContextHeader, h)
	}
	resp, err := s.client.Do(req)
	if err != nil {
		return response{}, fmt.Errorf("GET %s: %w", path, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, s.maxBody+1))
	if err != nil {
		return response{}, fmt.Errorf("GET %s: read body: %w", path, err)
	}
	if int64(len(body)) > s.maxBody {
		return response{}, fmt.Errorf("GET %s: body larger than %d bytes", path, s.maxBody)
	}
	return response{status: resp.StatusCode, header: resp.Header, body: body}, nil
}

func (s *suite) contextHeader(kind int, path string) (string, error) {
	if s.signer == nil && kind != ctxForged {
		return "", nil
	}
	fc := s.context
	name, _, _ := strings.Cut(strings.TrimPrefix(path, "/fragments/"), "?")
	if own, ok := s.contexts[name]; ok {
		fc = own
	}
	fc.Expires = time.Now().Add(5 * time.Minute)
	signer := s.signer
	switch kind {
	case ctxNone:
		return "", nil
	case ctxExpired:
		fc.Expires = time.Now().Add(-5 * time.Minute)
	case ctxForged:
		_, priv, err := fragments.GenerateKey()
		if err != nil {
			return "", err
		}
		signer = fragments.NewSigner(priv)
	}
	h, err := signer.Sign(fc)
	if err != nil {
		return "", fmt.Errorf("sign test context: %w", err)
	}
	return h, nil
}

func (s *suite) run(ctx context.Context) []Finding {
	m, ok := s.checkManifest(ctx)
	if !ok {
		return s.findings
	}
	for _, name := range slices.Sorted(maps.Keys(s.params)) {
		sets := s.params[name]
		f, ok := m.Fragments[name]
		if !ok {
			s.add(name, "params", fmt.Errorf("params given for a fragment the manifest does not declare"))
			continue
		}
		for _, set := range sets {
			for _, k := range slices.Sorted(maps.Keys(set)) {
				if !slices.Contains(f.Params, k) {
					s.add(name, "params", fmt.Errorf("param %q is not in the manifest's params %q: the shell drops it", k, f.Params))
				}
			}
		}
	}
	for _, name := range slices.Sorted(maps.Keys(m.Fragments)) {
		sets := s.params[name]
		if len(sets) == 0 {
			sets = []url.Values{nil}
		}
		for i, params := range sets {
			s.checkFragment(ctx, m, name, params, i == 0)
		}
	}
	return s.findings
}

func (s *suite) checkManifest(ctx context.Context) (fragments.Manifest, bool) {
	var m fragments.Manifest
	r, err := s.get(ctx, fragments.ManifestPath, ctxNone, nil)
	if err != nil {
		s.add("", "manifest", err)
		return m, false
	}
	if r.status != http.StatusOK {
		s.add("", "manifest", fmt.Errorf("GET %s: status %d, want 200", fragments.ManifestPath, r.status))
		return m, false
	}
	if mt, _, _ := mime.ParseMediaType(r.header.Get("Content-Type")); mt != "application/json" {
		s.add("", "manifest", fmt.Errorf("Content-Type %q, want application/json", r.header.Get("Content-Type")))
	}
	if err := json.Unmarshal(r.body, &m); err != nil {
		s.add("", "manifest", fmt.Errorf("decode: %w", err))
		return m, false
	}
	if err := m.Validate(); err != nil {
		s.add("", "manifest", err)
		return m, false
	}
	s.add("", "manifest", nil)

	if cc := r.header.Get("Cache-Control"); cc == "" {
		s.add("", "manifest cache-control", errors.New("no Cache-Control"))
	} else {
		s.add("", "manifest cache-control", nil)
	}
	s.add("", "manifest etag", s.checkNotModified(ctx, fragments.ManifestPath, r, ctxNone))
	return m, true
}

func fragmentPath(name string, params url.Values) string {
	p := "/fragments/" + url.PathEscape(name)
	if q := params.Encode(); q != "" {
		p += "?" + q
	}
	return p
}

func (s *suite) checkFragment(ctx context.Context, m fragments.Manifest, name string, params url.Values, first bool) {
	f := m.Fragments[name]
	path := fragmentPath(name, params)
	label := name
	if len(params) > 0 {
		label = name + "?" + params.Encode()
	}
	r, err := s.get(ctx, path, ctxValid, nil)
	if err != nil {
		s.add(label, "status", err)
		return
	}
	if r.status != http.StatusOK {
		hint := ""
		if r.status == http.StatusUnauthorized && s.signer == nil {
			hint = "; the server wants a signed context: give a Signer (fragmentcheck -key)"
		}
		s.add(label, "status", fmt.Errorf("GET %s: status %d, want 200 (body %.200q)%s", path, r.status, r.body, hint))
		return
	}
	if mt, _, _ := mime.ParseMediaType(r.header.Get("Content-Type")); mt != "text/html" {
		s.add(label, "status", fmt.Errorf("Content-Type %q, want text/html", r.header.Get("Content-Type")))
	} else {
		s.add(label, "status", nil)
	}

	doc := scan(r.body)
	s.add(label, "document", doc.documentErr)
	s.add(label, "root", doc.rootErr(m.Name))
	s.add(label, "nested", doc.nestedErr)
	s.add(label, "ids", doc.idErr(s.idPrefix(m)))
	s.add(label, "cache-control", checkCacheControl(f.Cache, r.header.Values("Cache-Control")))
	if f.Cache == fragments.Public {
		s.add(label, "etag", s.checkNotModified(ctx, path, r, ctxValid))
	}
	s.add(label, "links", checkLinks(f, r.header.Values("Link")))
	// A customer's context always carries the token (the account menu's sign-out form); a guest's
	// only to the fragments that ask for it.
	// A public one that asks renders the placeholder, never a token: its copy is shared.
	switch {
	case len(doc.csrfValues) > 0 && !f.CSRF && s.context.Guest():
		s.add(label, "csrf", fmt.Errorf("renders a %q field for a guest but its manifest entry does not ask for the token (\"csrf\": true): a guest's context carries none", fragments.CSRFField))
	case f.CSRF && f.Cache == fragments.Public && slices.ContainsFunc(doc.csrfValues, func(v string) bool { return v != fragments.CSRFPlaceholder }):
		s.add(label, "csrf", fmt.Errorf("a public fragment renders a %q field with a value other than fragments.CSRFPlaceholder: its shared copy would hold a visitor's token (or none), and the shell fills only the placeholder", fragments.CSRFField))
	default:
		s.add(label, "csrf", nil)
	}
	if c := r.header.Values("Set-Cookie"); len(c) > 0 {
		s.add(label, "no cookies", fmt.Errorf("sets %d cookie(s); fragments never set cookies (the shell drops them)", len(c)))
	} else {
		s.add(label, "no cookies", nil)
	}
	if first {
		s.checkContext(ctx, label, path)
		if f.Fallback != "" {
			s.add(label, "fallback", checkFallback(m.Name, s.idPrefix(m), f.Fallback))
		}
	}
}

// checkFallback holds the manifest's fallback HTML to the same shape as the fragment: it stands in
// for it on the page, boundary outline included.
func checkFallback(team, idPrefix, fallback string) error {
	d := scan([]byte(fallback))
	if err := errors.Join(d.documentErr, d.rootErr(team), d.nestedErr, d.idErr(idPrefix)); err != nil {
		return fmt.Errorf("manifest fallback: %w", err)
	}
	return nil
}

// checkNotModified asks again with If-None-Match and wants 304 with no body.
func (s *suite) checkNotModified(ctx context.Context, path string, r response, kind int) error {
	etag := r.header.Get("ETag")
	if etag == "" {
		return errors.New("no ETag")
	}
	if !strings.HasPrefix(strings.TrimPrefix(etag, "W/"), `"`) || !strings.HasSuffix(etag, `"`) {
		return fmt.Errorf("ETag %s is not a quoted entity tag", etag)
	}
	again, err := s.get(ctx, path, kind, http.Header{"If-None-Match": {etag}})
	if err != nil {
		return err
	}
	if again.status != http.StatusNotModified {
		return fmt.Errorf("If-None-Match %s: status %d, want 304", etag, again.status)
	}
	if len(again.body) > 0 {
		return fmt.Errorf("304 carries a %d-byte body", len(again.body))
	}
	return nil
}

func (s *suite) checkContext(ctx context.Context, label, path string) {
	if s.signer == nil {
		s.skip(label, "context", "no Signer given: cannot tell whether the server verifies Inlay-Context")
		return
	}
	cases := []struct {
		check  string
		kind   int
		status int
	}{
		{"forged context rejected", ctxForged, http.StatusUnauthorized},
		{"expired context rejected", ctxExpired, http.StatusForbidden},
		{"missing context rejected", ctxNone, http.StatusUnauthorized},
	}
	for _, c := range cases {
		if c.kind == ctxNone && s.allowUnsigned {
			s.skip(label, c.check, "server runs in dev mode (AllowUnsigned)")
			continue
		}
		r, err := s.get(ctx, path, c.kind, nil)
		if err == nil && r.status != c.status {
			err = fmt.Errorf("status %d, want %d", r.status, c.status)
		}
		s.add(label, c.check, err)
	}
}

// cacheDirectives parses Cache-Control values into directive → argument.
func cacheDirectives(values []string) map[string]string {
	d := map[string]string{}
	for _, v := range values {
		for _, part := range strings.Split(v, ",") {
			k, arg, _ := strings.Cut(strings.TrimSpace(part), "=")
			if k != "" {
				d[strings.ToLower(k)] = strings.Trim(arg, `"`)
			}
		}
	}
	return d
}

func checkCacheControl(p fragments.CachePolicy, values []string) error {
	d := cacheDirectives(values)
	_, public := d["public"]
	_, private := d["private"]
	_, noStore := d["no-store"]
	switch p {
	case fragments.Public:
		if private && noStore && !public {
			// An answer nobody keeps (no results for a junk query): narrower than the manifest's,
			// so never wrong, and no cache entry per junk value.
			return nil
		}
		if !public || private || noStore {
			return fmt.Errorf("manifest says public, Cache-Control %q says otherwise", values)
		}
		if n, err := strconv.Atoi(d["max-age"]); err != nil || n <= 0 {
			return fmt.Errorf("public fragment without a positive max-age: %q", values)
		}
	case fragments.Private:
		if public || (!private && !noStore) {
			return fmt.Errorf("manifest says private, Cache-Control %q lets caches share it", values)
		}
		if _, ok := d["s-maxage"]; ok {
			return fmt.Errorf("private fragment with s-maxage: %q", values)
		}
	}
	return nil
}

// linkPattern reads one entry of a Link header: <url>; params.
var linkPattern = regexp.MustCompile(`<([^>]*)>\s*((?:;[^,<]*)*)`)

func checkLinks(f fragments.Fragment, values []string) error {
	type link struct{ url, rel string }
	var links []link
	for _, v := range values {
		for _, m := range linkPattern.FindAllStringSubmatch(v, -1) {
			rel := ""
			for _, p := range strings.Split(m[2], ";") {
				k, arg, _ := strings.Cut(strings.TrimSpace(p), "=")
				if strings.EqualFold(k, "rel") {
					rel = strings.ToLower(strings.Trim(arg, `"`))
				}
			}
			links = append(links, link{m[1], rel})
		}
	}
	var errs []error
	want := func(asset, rel string) {
		for _, l := range links {
			u, err := url.Parse(l.url)
			if err == nil && (strings.HasSuffix(u.Path, "/"+asset) || u.Path == asset) && slices.Contains(strings.Fields(l.rel), rel) {
				return
			}
		}
		errs = append(errs, fmt.Errorf("declared asset %s has no Link with rel=%s (got %q)", asset, rel, values))
	}
	for _, a := range f.CSS {
		want(a, "stylesheet")
	}
	for _, a := range f.JS {
		want(a, "modulepreload")
	}
	return errors.Join(errs...)
}

// srcPattern is what a nested fragment's src must look like: context/fragment, then a query.
var srcPattern = regexp.MustCompile(`^[a-z][a-z0-9-]{0,62}/[a-z][a-z0-9-]{0,62}(\?[^#\s]*)?$`)

type scanned struct {
	documentErr error
	root        *html.Token
	rootText    string // non-blank text before the root element
	nestedErr   error
	ids         []string // every id attribute, in document order
	csrfValues  []string // the values of every <input name="csrf">: forms carrying the CSRF token
}

// idPrefix is the prefix the team's ids start with: IDPrefix, else the manifest's name and "-".
func (s *suite) idPrefix(m fragments.Manifest) string {
	if s.config.idPrefix != "" {
		return s.config.idPrefix
	}
	return m.Name + "-"
}

// idErr reports ids without the team's prefix (another team's fragment on the same page may use the
// same bare name) and ids used twice.
func (d scanned) idErr(prefix string) error {
	var errs []error
	seen := map[string]bool{}
	for _, id := range d.ids {
		if !strings.HasPrefix(id, prefix) || len(id) == len(prefix) {
			errs = append(errs, fmt.Errorf("id %q does not start with the team's prefix %q", id, prefix))
		}
		if seen[id] {
			errs = append(errs, fmt.Errorf("id %q is used twice", id))
		}
		seen[id] = true
	}
	return errors.Join(errs...)
}

func (d scanned) rootErr(team string) error {
	switch {
	case d.rootText != "":
		return fmt.Errorf("text %.40q before the root element", d.rootText)
	case d.root == nil:
		return errors.New("no root element")
	}
	attr := func(k string) (string, bool) {
		for _, a := range d.root.Attr {
			if a.Key == k {
				return a.Val, true
			}
		}
		return "", false
	}
	var errs []error
	if b, ok := attr("data-boundary"); !ok || b != team {
		errs = append(errs, fmt.Errorf("root <%s> has data-boundary %q, want %q", d.root.Data, b, team))
	}
	if id, ok := attr("data-testid"); !ok || id == "" {
		errs = append(errs, fmt.Errorf("root <%s> has no data-testid", d.root.Data))
	}
	return errors.Join(errs...)
}

// scan tokenises a fragment body: document tags, the root element, nested inlay-fragment tags.
func scan(body []byte) scanned {
	var d scanned
	var docErrs, nestErrs []error
	z := html.NewTokenizer(strings.NewReader(string(body)))
	for {
		tt := z.Next()
		if tt == html.ErrorToken {
			break
		}
		switch tt {
		case html.DoctypeToken:
			docErrs = append(docErrs, errors.New("has a <!DOCTYPE>"))
		case html.TextToken:
			if d.root == nil && d.rootText == "" {
				d.rootText = strings.TrimSpace(string(z.Text()))
			}
		case html.StartTagToken, html.SelfClosingTagToken:
			tok := z.Token()
			for _, a := range tok.Attr {
				if a.Key == "id" && a.Namespace == "" {
					d.ids = append(d.ids, a.Val)
				}
				if tok.Data == "input" && a.Key == "name" && a.Val == fragments.CSRFField {
					v := ""
					for _, b := range tok.Attr {
						if b.Key == "value" {
							v = b.Val
						}
					}
					d.csrfValues = append(d.csrfValues, v)
				}
			}
			switch tok.Data {
			case "html", "head", "body":
				docErrs = append(docErrs, fmt.Errorf("has a <%s> tag", tok.Data))
			case "inlay-fragment":
				src, ok := "", false
				for _, a := range tok.Attr {
					if a.Key == "src" {
						src, ok = a.Val, true
					}
				}
				if !ok || !srcPattern.MatchString(src) {
					nestErrs = append(nestErrs, fmt.Errorf("<inlay-fragment src=%q>: want context/fragment?params, never a URL", src))
				}
			}
			if d.root == nil {
				d.root = &tok
			}
		}
	}
	d.documentErr = errors.Join(docErrs...)
	d.nestedErr = errors.Join(nestErrs...)
	return d
}

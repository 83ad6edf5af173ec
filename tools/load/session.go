package load

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"regexp"
	"strings"
	"time"
)

// Names of the pages and steps a session records.
const (
	PageHome       = "home"
	PageCategory   = "category"
	PageProduct    = "product"
	PageVariant    = "product (another variant)"
	PageSearch     = "search"
	PageCart       = "cart"
	PageCheckout   = "checkout"
	PageThanks     = "thanks"
	StepRedirect   = "product redirect (no sku)"
	StepAddToCart  = "POST cart/add"
	StepPlaceOrder = "POST place-order"
	StepStatus     = "GET order status"
	// WaitConfirmed and WaitCancelled are the time from sending the order until its status is final
	// (confirmed for the good card, cancelled for the declined one): the saga's latency as a shopper on
	// the thank-you page sees it.
	WaitConfirmed = "place-order → confirmed"
	WaitCancelled = "place-order → cancelled (declined card)"
)

// Test cards (docs/storefront.md): one the payment service authorises, one it declines.
const (
	CardOK       = "4242424242424242"
	CardDeclined = "4000000000000002"
)

// Shopping settings shared by every session.
type Shopping struct {
	Base      *url.URL // the storefront's origin
	Transport http.RoundTripper
	Recorder  *Recorder
	// Declined is the share of orders paid with the declined card (0..1).
	Declined float64
	// Poll is how often the thank-you page's status is polled; OrderTimeout bounds the wait for a final
	// status; RequestTimeout bounds each request.
	Poll, OrderTimeout, RequestTimeout time.Duration
	// Think is the pause between two pages of a session.
	Think time.Duration
}

// searchTerms are what shoppers type: names and words of the catalogue, some misspelt.
var searchTerms = []string{"tracter", "tractor", "autonomus", "autonomous", "clasic", "classic", "farm", "smrat farm",
	"titan", "harvestr", "silver", "grene", "compact", "heritage", "terrafirma", "zzzz"}

var (
	hrefRe    = regexp.MustCompile(`href="(/product/[^"?]+(?:\?sku=[^"]+)?)"`)
	csrfRe    = regexp.MustCompile(`name="csrf" value="([^"]+)"`)
	idemRe    = regexp.MustCompile(`name="idempotency_key" value="([^"]+)"`)
	basketRe  = regexp.MustCompile(`name="basket" value="([^"]+)"`)
	storeRe   = regexp.MustCompile(`data-store-id="([^"]+)"`)
	addFormRe = regexp.MustCompile(`action="/checkout/cart/add"`)
	disableRe = regexp.MustCompile(`data-testid="add-to-cart-button"[^>]*disabled|disabled[^>]*data-testid="add-to-cart-button"`)
	skuRe     = regexp.MustCompile(`name="sku" value="([^"]+)"`)
	categRe   = regexp.MustCompile(`href="(/products(?:/[a-z0-9-]+)?)"`)
)

// session is one shopper: a cookie jar, a random source and the settings.
type session struct {
	sh     *Shopping
	client *http.Client
	rnd    *rand.Rand
}

func newSession(sh *Shopping, seed uint64) (*session, error) {
	jar, err := cookiejar.New(nil)
	if err != nil {
		return nil, fmt.Errorf("cookie jar: %w", err)
	}
	rnd := rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15)) //nolint:gosec // G404: a repeatable session, not a secret
	return &session{sh: sh, rnd: rnd, client: &http.Client{
		Transport: sh.Transport, Jar: jar, Timeout: sh.RequestTimeout,
		// Redirects are followed by hand, each hop timed under its own name.
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}}, nil
}

// Run runs one session of kind. It returns the first error; every request is recorded either way.
func Run(ctx context.Context, sh *Shopping, kind Kind, seed uint64) error {
	s, err := newSession(sh, seed)
	if err != nil {
		return err
	}
	switch kind {
	case Browse:
		_, err = s.browse(ctx, true)
	case Search:
		err = s.search(ctx)
	case AddToCart:
		err = s.add(ctx)
	case Buy:
		err = s.buy(ctx)
	default:
		err = fmt.Errorf("unknown session kind %d", kind)
	}
	return err
}

// response is what a request answered.
type response struct {
	status   int
	location string
	body     string
}

// do sends one request, records it under name and checks its status against want.
// check, when not nil, says what else is wrong with an answer of status want.
func (s *session) do(ctx context.Context, name, kind, method, path string, form url.Values, want int, check func(response) error) (response, error) {
	start := time.Now()
	res, err := s.send(ctx, method, path, form)
	end := time.Now()
	if err == nil && res.status != want {
		err = fmt.Errorf("%s %s: status %d, want %d", method, path, res.status, want)
	}
	if err == nil && check != nil {
		err = check(res)
	}
	s.sh.Recorder.Record(name, kind, end, end.Sub(start), err)
	return res, err
}

func (s *session) send(ctx context.Context, method, path string, form url.Values) (response, error) {
	var body io.Reader
	if form != nil {
		body = strings.NewReader(form.Encode())
	}
	req, err := http.NewRequestWithContext(ctx, method, s.sh.Base.String()+path, body)
	if err != nil {
		return response{}, err
	}
	req.Header.Set("User-Agent", "inlay-loadgen")
	req.Header.Set("Accept", "text/html")
	if method != http.MethodGet {
		// As a browser posting a form of the page it shows.
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.Header.Set("Origin", s.sh.Base.Scheme+"://"+s.sh.Base.Host)
		req.Header.Set("Sec-Fetch-Site", "same-origin")
	}
	resp, err := s.client.Do(req)
	if err != nil {
		return response{}, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, 4<<20))
	if err != nil {
		return response{}, fmt.Errorf("%s %s: read body: %w", method, path, err)
	}
	return response{status: resp.StatusCode, location: resp.Header.Get("Location"), body: string(b)}, nil
}

// page opens a page (after the think time) and checks it answers 200 and, when check is not nil, what
// check says.
func (s *session) page(ctx context.Context, name, path string, check func(response) error) (response, error) {
	if s.sh.Think > 0 {
		select {
		case <-ctx.Done():
			return response{}, ctx.Err()
		case <-time.After(s.sh.Think):
		}
	}
	return s.do(ctx, name, KindPage, http.MethodGet, path, nil, http.StatusOK, check)
}

func pick[T any](r *rand.Rand, xs []T) T { return xs[r.IntN(len(xs))] }

func matches(re *regexp.Regexp, body string) []string {
	var out []string
	for _, m := range re.FindAllStringSubmatch(body, -1) {
		out = append(out, m[1])
	}
	return out
}

// browse goes home → a category → a product (→ another variant when variant): it returns the product
// page it ends on.
func (s *session) browse(ctx context.Context, variant bool) (response, error) {
	home, err := s.page(ctx, PageHome, "/", nil)
	if err != nil {
		return response{}, err
	}
	cats := matches(categRe, home.body)
	if len(cats) == 0 {
		cats = []string{"/products"}
	}
	cat, err := s.page(ctx, PageCategory, pick(s.rnd, cats), nil)
	if err != nil {
		return response{}, err
	}
	products := matches(hrefRe, cat.body)
	if len(products) == 0 {
		return response{}, errors.New("category page links no product")
	}
	prod, err := s.product(ctx, PageProduct, pick(s.rnd, products))
	if err != nil || !variant {
		return prod, err
	}
	return s.otherVariant(ctx, prod)
}

// product opens a product page, following the redirect to its first variant when path has no sku.
func (s *session) product(ctx context.Context, name, path string) (response, error) {
	if !strings.Contains(path, "?sku=") {
		res, err := s.do(ctx, StepRedirect, KindStep, http.MethodGet, path, nil, http.StatusFound, nil)
		if err != nil {
			return response{}, err
		}
		path = res.location
	}
	return s.page(ctx, name, path, func(res response) error {
		if !addFormRe.MatchString(res.body) {
			return fmt.Errorf("product page %s has no Add To Cart form", path)
		}
		return nil
	})
}

// otherVariant opens another variant of the product page prod shows (a recommendation when it has
// one only).
func (s *session) otherVariant(ctx context.Context, prod response) (response, error) {
	links := matches(hrefRe, prod.body)
	if len(links) == 0 {
		return prod, nil
	}
	return s.product(ctx, PageVariant, pick(s.rnd, links))
}

// typo misspells term now and then, as shoppers do.
func (s *session) typo(term string) string {
	if len(term) < 4 || s.rnd.IntN(3) > 0 {
		return term
	}
	i := 1 + s.rnd.IntN(len(term)-2)
	return term[:i] + term[i+1:]
}

func (s *session) search(ctx context.Context) error {
	if _, err := s.page(ctx, PageHome, "/", nil); err != nil {
		return err
	}
	res, err := s.page(ctx, PageSearch, "/search?q="+url.QueryEscape(s.typo(pick(s.rnd, searchTerms))), nil)
	if err != nil {
		return err
	}
	if links := matches(hrefRe, res.body); len(links) > 0 {
		_, err = s.product(ctx, PageProduct, pick(s.rnd, links))
	}
	return err
}

// add browses to a product, adds the variant it shows to the cart and opens the cart (where the
// redirect leads).
func (s *session) add(ctx context.Context) error {
	prod, err := s.browse(ctx, s.rnd.IntN(2) == 0)
	if err != nil {
		return err
	}
	if disableRe.MatchString(prod.body) {
		err := errors.New("add to cart: the variant is out of stock")
		s.sh.Recorder.Fail(StepAddToCart, KindStep, time.Now(), err)
		return err
	}
	form, err := addForm(prod.body)
	if err != nil {
		return err
	}
	res, err := s.do(ctx, StepAddToCart, KindStep, http.MethodPost, "/checkout/cart/add", form, http.StatusSeeOther,
		func(res response) error {
			if res.location != "/checkout/cart" {
				return fmt.Errorf("add to cart: redirected to %q", res.location)
			}
			return nil
		})
	if err != nil {
		return err
	}
	_, err = s.page(ctx, PageCart, res.location, func(res response) error {
		if !strings.Contains(res.body, `data-testid="cart-line"`) {
			return errors.New("cart page shows no line after adding one")
		}
		return nil
	})
	return err
}

// addForm reads the Add To Cart form's fields (csrf, sku) from a product page.
func addForm(body string) (url.Values, error) {
	i := strings.Index(body, `action="/checkout/cart/add"`)
	if i < 0 {
		return nil, errors.New("product page has no Add To Cart form")
	}
	form := body[i:]
	if end := strings.Index(form, "</form>"); end >= 0 {
		form = form[:end]
	}
	csrf := csrfRe.FindStringSubmatch(form)
	sku := skuRe.FindStringSubmatch(form)
	if csrf == nil || sku == nil {
		return nil, errors.New("the Add To Cart form has no csrf or sku field")
	}
	return url.Values{"csrf": {csrf[1]}, "sku": {sku[1]}}, nil
}

// orderStatus is the thank-you page's status endpoint's answer.
type orderStatus struct {
	OrderID string `json:"orderId"`
	Status  string `json:"status"`
	Reason  string `json:"reason"`
	Final   bool   `json:"final"`
}

func (s *session) buy(ctx context.Context) error {
	if err := s.add(ctx); err != nil {
		return err
	}
	co, err := s.page(ctx, PageCheckout, "/checkout/checkout", nil)
	if err != nil {
		return err
	}
	csrf, idem, stores := csrfRe.FindStringSubmatch(co.body), idemRe.FindStringSubmatch(co.body), matches(storeRe, co.body)
	basket := basketRe.FindStringSubmatch(co.body)
	if csrf == nil || idem == nil || basket == nil || len(stores) == 0 {
		return errors.New("checkout page: no csrf, idempotency key, basket version or store")
	}
	card, want, wait := CardOK, "confirmed", WaitConfirmed
	if s.rnd.Float64() < s.sh.Declined {
		card, want, wait = CardDeclined, "cancelled", WaitCancelled
	}
	// The basket version the page showed, as a browser posts it: the order is for that basket.
	form := url.Values{"csrf": {csrf[1]}, "idempotency_key": {idem[1]}, "basket": {basket[1]}, "first_name": {"Ada"}, "last_name": {"Lovelace"},
		"email": {"ada@example.com"}, "card": {card}, "store": {pick(s.rnd, stores)}}
	placed := time.Now()
	var id string
	res, err := s.do(ctx, StepPlaceOrder, KindStep, http.MethodPost, "/checkout/place-order", form, http.StatusSeeOther,
		func(res response) error {
			var ok bool
			if id, ok = strings.CutPrefix(res.location, "/checkout/thanks?order="); !ok || id == "" {
				return fmt.Errorf("place order: redirected to %q", res.location)
			}
			return nil
		})
	if err != nil {
		return err
	}
	if _, err := s.page(ctx, PageThanks, res.location, nil); err != nil {
		return err
	}
	st, err := s.waitFinal(ctx, url.PathEscape(id))
	end := time.Now()
	if err == nil && st.Status != want {
		err = fmt.Errorf("order paid with %s became %s (%s), want %s", card, st.Status, st.Reason, want)
	}
	s.sh.Recorder.Record(wait, KindWait, end, end.Sub(placed), err)
	return err
}

// waitFinal polls the order's status as the thank-you page's script does, until it is final.
func (s *session) waitFinal(ctx context.Context, id string) (orderStatus, error) {
	ctx, cancel := context.WithTimeout(ctx, s.sh.OrderTimeout)
	defer cancel()
	for {
		res, err := s.do(ctx, StepStatus, KindStep, http.MethodGet, "/checkout/orders/"+id+"/status", nil, http.StatusOK, nil)
		if err != nil {
			return orderStatus{}, err
		}
		var st orderStatus
		if err := json.Unmarshal([]byte(res.body), &st); err != nil {
			return orderStatus{}, fmt.Errorf("order status: %w", err)
		}
		if st.Final {
			return st, nil
		}
		select {
		case <-ctx.Done():
			return st, fmt.Errorf("order %s still %s after %s", id, st.Status, s.sh.OrderTimeout)
		case <-time.After(s.sh.Poll):
		}
	}
}

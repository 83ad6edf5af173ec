package fragments

import (
	"context"
	"net"
	"net/http"
	"net/http/httptest"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/sony/gobreaker/v2"
)

// instanceServer is one instance of team "t": it counts the fragments it served and answers /readyz
// with 200 or 503 as the test says.
type instanceServer struct {
	srv    *httptest.Server
	served atomic.Int64
	ready  atomic.Bool
}

func newInstanceServer(t *testing.T, body string) *instanceServer {
	t.Helper()
	s := &instanceServer{}
	s.ready.Store(true)
	s.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/readyz" {
			if !s.ready.Load() {
				w.WriteHeader(http.StatusServiceUnavailable)
			}
			return
		}
		s.served.Add(1)
		_, _ = w.Write([]byte(body))
	}))
	t.Cleanup(s.srv.Close)
	return s
}

// refusingURL is the URL of a port nothing listens on.
func refusingURL(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	return "http://" + addr
}

func newInstancesClient(t *testing.T, urls ...string) *Client {
	t.Helper()
	c, err := NewClient(ClientOptions{Teams: Teams{"t": urls}, BreakerFailures: 1000})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Close)
	return c
}

func fetchBody(t *testing.T, c *Client) string {
	t.Helper()
	resp, err := c.Fetch(context.Background(), FetchRequest{Team: "t", Path: "/fragments/x"})
	if err != nil {
		t.Fatalf("fetch: %v", err)
	}
	return string(resp.Body)
}

func TestClientBalancesAcrossInstances(t *testing.T) {
	t.Parallel()
	a, b := newInstanceServer(t, "a"), newInstanceServer(t, "b")
	c := newInstancesClient(t, a.srv.URL, b.srv.URL)
	for range 100 {
		fetchBody(t, c)
	}
	if a.served.Load() != 50 || b.served.Load() != 50 {
		t.Errorf("served a=%d b=%d, want 50 each (round robin)", a.served.Load(), b.served.Load())
	}
}

// TestClientRetriesARefusedInstance: a refused connection is tried on the other instance within the
// request, never failing it, and the refusing instance leaves the rotation until a health check
// finds it ready.
func TestClientRetriesARefusedInstance(t *testing.T) {
	t.Parallel()
	a := newInstanceServer(t, "a")
	down := refusingURL(t)
	c := newInstancesClient(t, down, a.srv.URL)
	for i := range 20 {
		if got := fetchBody(t, c); got != "a" {
			t.Fatalf("fetch %d = %q", i, got)
		}
	}
	var inst *Instance
	for _, in := range c.Instances().All("t") {
		if in.Base == down {
			inst = in
		}
	}
	if inst.Ready() {
		t.Error("an instance that refused a connection is still in rotation")
	}
	// Its health check cannot reach it either: it stays out.
	c.Instances().Check(context.Background(), time.Second)
	if inst.Ready() {
		t.Error("an instance whose /readyz is refused is in rotation")
	}
}

func TestHealthCheckTakesInstancesOutAndBack(t *testing.T) {
	t.Parallel()
	a, b := newInstanceServer(t, "a"), newInstanceServer(t, "b")
	c := newInstancesClient(t, a.srv.URL, b.srv.URL)
	check := func() { c.Instances().Check(context.Background(), 10*time.Second) }

	b.ready.Store(false) // b drains: /readyz answers 503, it still serves
	check()
	if c.Instances().All("t")[1].Ready() {
		t.Fatal("b answers /readyz 503 and is in rotation")
	}
	before := b.served.Load()
	for range 20 {
		if got := fetchBody(t, c); got != "a" {
			t.Fatalf("a draining instance was asked: %q", got)
		}
	}
	if b.served.Load() != before {
		t.Error("b served while out of rotation")
	}
	b.ready.Store(true)
	check()
	seen := map[string]bool{}
	for range 4 {
		seen[fetchBody(t, c)] = true
	}
	if !seen["b"] {
		t.Error("b is ready again but never asked")
	}
}

// TestPickWhenNoneReady: a team whose every instance fails its check is still asked.
func TestPickWhenNoneReady(t *testing.T) {
	t.Parallel()
	in, err := NewInstances(Teams{"t": {"http://a", "http://b"}, "one": {"http://c"}})
	if err != nil {
		t.Fatal(err)
	}
	for _, i := range in.All("t") {
		in.Down(i)
	}
	if in.Pick("t", nil) == nil {
		t.Error("no instance picked when none is ready")
	}
	first := in.All("t")[0]
	if got := in.Pick("t", first); got == first || got == nil {
		t.Errorf("Pick(not first) = %v", got)
	}
	only := in.All("one")[0]
	in.Down(only)
	if !only.Ready() || in.Pick("one", nil) != only || in.Pick("one", only) != nil {
		t.Error("a one-instance team's instance must stay in rotation and be the only pick")
	}
	if in.Pick("nobody", nil) != nil {
		t.Error("an unknown team has an instance")
	}
}

// TestPickPrefersTheVersion: a page composed with one version's manifest gets its fragments from
// instances of that version while one is ready; the newest version seen is the team's current one.
func TestPickPrefersTheVersion(t *testing.T) {
	t.Parallel()
	in, a, b := twoVersions(t)
	for range 10 {
		if got := in.PickVersion("t", nil, "A"); got.Base != a.URL {
			t.Fatalf("PickVersion(A) = %s", got.Base)
		}
		if got := in.PickVersion("t", nil, "B"); got.Base != b.URL {
			t.Fatalf("PickVersion(B) = %s", got.Base)
		}
	}
	if cur := in.Current("t"); cur != "A" && cur != "B" {
		t.Errorf("Current = %q", cur)
	}
	// A version no instance runs: any ready one.
	if got := in.PickVersion("t", nil, "C"); got == nil {
		t.Error("no instance for an unknown version")
	}
	// B drains (out of rotation, still serving): version B's pages still get B; when B is
	// excluded (it refused), A rather than nothing.
	bInst := in.All("t")[1]
	in.Down(bInst)
	if got := in.PickVersion("t", nil, "B"); got != bInst {
		t.Errorf("PickVersion(B) with B draining = %s", got.Base)
	}
	if got := in.PickVersion("t", bInst, "B"); got.Base != a.URL {
		t.Errorf("PickVersion(B) without B = %s", got.Base)
	}
}

// versionServer is an instance of team "t" whose manifest has version, and which answers 200 to
// everything else.
func versionServer(t *testing.T, version string) *httptest.Server {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == ManifestPath {
			_, _ = w.Write([]byte(`{"name":"t","version":"` + version + `"}`))
		}
	}))
	t.Cleanup(srv.Close)
	return srv
}

// failingServer answers /readyz with 200 and every fragment with 500: a process whose health check
// passes while its fragments fail (a broken database connection).
func failingServer(t *testing.T) *instanceServer {
	t.Helper()
	s := &instanceServer{}
	s.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/readyz":
			return
		case ManifestPath: // the health check's question, not a fragment
			http.NotFound(w, r)
			return
		}
		s.served.Add(1)
		http.Error(w, "database gone", http.StatusInternalServerError)
	}))
	t.Cleanup(s.srv.Close)
	return s
}

// TestClientEjectsAFailingInstance: an instance whose fragments fail while its /readyz passes leaves
// the rotation after BreakerFailures failures in a row on it, though the team's breaker, counting the
// team's requests in a row (the good instance's successes between them), never opens; a health check
// does not bring it back early; once its time is up it is asked again, and failing its first request
// it is ejected again at once, for twice as long.
func TestClientEjectsAFailingInstance(t *testing.T) {
	t.Parallel()
	good, bad := newInstanceServer(t, "good"), failingServer(t)
	type ejection struct {
		base  string
		until time.Time
	}
	var (
		mu      sync.Mutex
		ejected []ejection
	)
	c, err := NewClient(ClientOptions{Teams: Teams{"t": {good.srv.URL, bad.srv.URL}}, BreakerFailures: 3,
		BreakerOpen: time.Hour, // expired by hand below: the test never waits on a clock
		OnEject: func(inst *Instance, until time.Time) {
			mu.Lock()
			defer mu.Unlock()
			ejected = append(ejected, ejection{inst.Base, until})
		}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Close)
	failed := 0
	for range 40 {
		if fetchStatus(t, c) == http.StatusInternalServerError {
			failed++
		}
	}
	if failed != 3 || bad.served.Load() != 3 || good.served.Load() != 37 {
		t.Errorf("failed %d, bad served %d, good %d; want 3, 3, 37 (ejected after 3 in a row)", failed, bad.served.Load(), good.served.Load())
	}
	if st, _ := c.BreakerState("t"); st != gobreaker.StateClosed {
		t.Errorf("breaker %s, want closed", st)
	}
	mu.Lock()
	if len(ejected) != 1 || ejected[0].base != bad.srv.URL || time.Until(ejected[0].until) < 59*time.Minute {
		t.Errorf("OnEject told of %v, want %s for an hour", ejected, bad.srv.URL)
	}
	mu.Unlock()
	// Its /readyz passes: a health check leaves it ejected.
	c.Instances().Check(context.Background(), 5*time.Second)
	for range 10 {
		fetchStatus(t, c)
	}
	if n := bad.served.Load(); n != 3 {
		t.Errorf("an ejected instance served %d requests after a health check", n-3)
	}
	// Its time is up: it is asked again, fails, and is out again at once, for two hours.
	var badInst *Instance
	for _, inst := range c.Instances().All("t") {
		if inst.Base == bad.srv.URL {
			badInst = inst
		}
	}
	badInst.ejectedUntil.Store(time.Now().Add(-time.Second).UnixNano())
	for range 10 {
		fetchStatus(t, c)
	}
	if n := bad.served.Load(); n != 4 {
		t.Errorf("back in rotation, the failing instance served %d requests, want 1", n-3)
	}
	mu.Lock()
	if len(ejected) != 2 || time.Until(ejected[1].until) < 119*time.Minute {
		t.Errorf("OnEject told of %v, want a second ejection for two hours", ejected)
	}
	mu.Unlock()
}

// TestEjectionLimits: of a team's instances, one that fails is ejected only while another serves
// (a whole team failing is its breaker's business) and while no more than half the team is out; a
// team of one instance is never ejected; two instances failing at once are never both ejected.
func TestEjectionLimits(t *testing.T) {
	t.Parallel()
	in, err := NewInstances(Teams{
		"t":    {"http://127.0.0.1:1", "http://127.0.0.1:2"},
		"four": {"http://127.0.0.1:3", "http://127.0.0.1:4", "http://127.0.0.1:5", "http://127.0.0.1:6"},
		"one":  {"http://127.0.0.1:7"},
	})
	if err != nil {
		t.Fatal(err)
	}
	failed := func(inst *Instance) bool { _, ok := in.Failed(inst, 3, time.Hour); return ok }
	a, b := in.All("t")[0], in.All("t")[1]
	for range 2 {
		failed(a)
		failed(b)
	}
	if !failed(a) {
		t.Fatal("the third failure in a row did not eject a")
	}
	if failed(b) {
		t.Error("b, the team's last serving instance, was ejected")
	}
	if got := in.Pick("t", nil); got != b {
		t.Errorf("Pick = %s, want b", got.Base)
	}
	four := in.All("four")
	out := 0
	for _, inst := range four {
		for range 3 {
			if failed(inst) {
				out++
			}
		}
	}
	if out != 2 {
		t.Errorf("%d of 4 failing instances ejected, want 2 (half)", out)
	}
	one := in.All("one")[0]
	for range 10 {
		if failed(one) {
			t.Fatal("a team's only instance was ejected")
		}
	}
	// Two instances reaching their limit at the same moment: one is ejected, never both.
	for range 200 {
		in, err := NewInstances(Teams{"t": {"http://127.0.0.1:1", "http://127.0.0.1:2"}})
		if err != nil {
			t.Fatal(err)
		}
		var wg sync.WaitGroup
		var n atomic.Int32
		for _, inst := range in.All("t") {
			wg.Go(func() {
				if _, ok := in.Failed(inst, 1, time.Hour); ok {
					n.Add(1)
				}
			})
		}
		wg.Wait()
		if n.Load() != 1 {
			t.Fatalf("%d of 2 instances failing together ejected, want 1", n.Load())
		}
	}
}

// TestEjectedVersionIsNotCurrent: during a rolling deploy whose new version's only instance fails
// its fragments (a bad build whose /readyz passes), that instance is ejected: the team's current
// version is the old one again, and pages of the new version get the old version's instance rather
// than the failing one.
func TestEjectedVersionIsNotCurrent(t *testing.T) {
	t.Parallel()
	in, a, _ := twoVersions(t) // sees A first, then B: B is the newer
	in.Check(context.Background(), 10*time.Second)
	bInst := in.All("t")[1]
	if got := in.Current("t"); got != "A" && got != "B" {
		t.Fatalf("Current = %q", got)
	}
	if _, ok := in.Failed(bInst, 1, time.Hour); !ok {
		t.Fatal("B not ejected")
	}
	if got := in.Current("t"); got != "A" {
		t.Errorf("Current with B ejected = %q, want A", got)
	}
	for range 10 {
		if got := in.PickVersion("t", nil, "B"); got.Base != a.URL {
			t.Fatalf("PickVersion(B) with B ejected = %s, want A's instance", got.Base)
		}
	}
}

// fetchStatus fetches /fragments/x of team t and returns the status, failing t on an error that is
// not a 5xx answer.
func fetchStatus(t *testing.T, c *Client) int {
	t.Helper()
	resp, err := c.Fetch(context.Background(), FetchRequest{Team: "t", Path: "/fragments/x"})
	if err != nil && (resp == nil || resp.Status < 500) {
		t.Fatalf("fetch: %v", err)
	}
	return resp.Status
}

// twoVersions is team t of two instances, a of version A and b of version B, checked once (A is
// seen first, so B is the newer version).
func twoVersions(t *testing.T) (in *Instances, a, b *httptest.Server) {
	t.Helper()
	a, b = versionServer(t, "A"), versionServer(t, "B")
	in, err := NewInstances(Teams{"t": {a.URL, b.URL}})
	if err != nil {
		t.Fatal(err)
	}
	in.Check(context.Background(), 10*time.Second)
	return in, a, b
}

// switchable is an instance of team "t" whose version the test changes, as a rolling deploy
// restarts a process with a new version on the same address: its manifest and every answer's
// VersionHeader say the version it runs now.
func switchable(t *testing.T, version string) (*httptest.Server, *atomic.Pointer[string]) {
	t.Helper()
	var v atomic.Pointer[string]
	v.Store(&version)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		now := *v.Load()
		w.Header().Set(VersionHeader, now)
		switch r.URL.Path {
		case "/readyz":
		case ManifestPath:
			_, _ = w.Write([]byte(`{"name":"t","version":"` + now + `"}`))
		default:
			w.Header().Set("Content-Type", "text/html")
			_, _ = w.Write([]byte("<p>" + now + "</p>"))
		}
	}))
	t.Cleanup(srv.Close)
	return srv, &v
}

// TestAnswerOfAnotherVersionIsAskedAgain: an instance the health check last saw as version A was
// replaced by B; a request for version A that reaches it gets A's answer from the other instance,
// and the replaced instance is known as B from then on (no more requests for A sent to it).
func TestAnswerOfAnotherVersionIsAskedAgain(t *testing.T) {
	t.Parallel()
	a1, v1 := switchable(t, "A")
	a2, v2 := switchable(t, "A")
	c, err := NewClient(ClientOptions{Teams: Teams{"t": {a1.URL, a2.URL}}, BreakerFailures: 1000})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Close)
	c.Instances().Check(context.Background(), 10*time.Second)
	b := "B"
	v2.Store(&b) // replaced, not checked since
	for i := range 6 {
		resp, err := c.Fetch(context.Background(), FetchRequest{Team: "t", Path: "/fragments/x", Version: "A"})
		if err != nil {
			t.Fatal(err)
		}
		if string(resp.Body) != "<p>A</p>" || resp.Version != "A" {
			t.Fatalf("request %d for version A answered %q by version %q", i, resp.Body, resp.Version)
		}
	}
	var second *Instance
	for _, inst := range c.Instances().All("t") {
		if inst.Base == a2.URL {
			second = inst
		}
	}
	if second.Version() != "B" {
		t.Errorf("the replaced instance is known as %q, want B", second.Version())
	}
	// The other is replaced too: a request for A gets B's answer, which says so, rather than none.
	v1.Store(&b)
	resp, err := c.Fetch(context.Background(), FetchRequest{Team: "t", Path: "/fragments/x", Version: "A"})
	if err != nil || resp.Version != "B" || string(resp.Body) != "<p>B</p>" {
		t.Fatalf("with no instance of A left: %v, %+v", err, resp)
	}
}

// TestClientSendsAnUnsafeRequestOnce: a connection closed after the request reached the handler (its
// answer lost) is sent again only when that is harmless — a GET, a request with an Idempotency-Key
// — never a POST without one, which the team may have applied (a cart's add, applied twice).
func TestClientSendsAnUnsafeRequestOnce(t *testing.T) {
	t.Parallel()
	var handled atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/readyz" {
			return
		}
		handled.Add(1)
		conn, _, err := http.NewResponseController(w).Hijack()
		if err == nil {
			conn.Close() // applied, and the answer lost
		}
	}))
	t.Cleanup(srv.Close)
	c := newInstancesClient(t, srv.URL)
	for _, tc := range []struct {
		name string
		r    FetchRequest
		sent int64
	}{
		{"GET", FetchRequest{Team: "t", Path: "/fragments/x"}, 2},
		{"POST", FetchRequest{Team: "t", Path: "/v1/cart/items", Method: http.MethodPost, Body: []byte(`{}`), ContentType: "application/json"}, 1},
		{"POST with an Idempotency-Key", FetchRequest{Team: "t", Path: "/v1/orders", Method: http.MethodPost, Body: []byte(`{}`),
			ContentType: "application/json", IdempotencyKey: "k1"}, 2},
	} {
		handled.Store(0)
		c.Instances().Check(context.Background(), time.Second) // back in rotation after the last case
		if _, err := c.Fetch(context.Background(), tc.r); err == nil {
			t.Errorf("%s: no error for a lost answer", tc.name)
		}
		if n := handled.Load(); n != tc.sent {
			t.Errorf("%s: sent %d times, want %d", tc.name, n, tc.sent)
		}
	}
}

package fragments

import (
	"context"
	"errors"
	"net"
	"net/http"
	"slices"
	"strconv"
	"sync/atomic"
	"testing"
	"time"
)

// hostServer is an instance at one loopback address: it counts the fragments it served, remembers
// the Host header they came with, and answers /readyz with 200 or 503 as the test says.
type hostServer struct {
	served atomic.Int64
	ready  atomic.Bool
	host   atomic.Pointer[string]
}

func serveAt(t *testing.T, ln net.Listener, body string) *hostServer {
	t.Helper()
	s := &hostServer{}
	s.ready.Store(true)
	srv := &http.Server{ReadHeaderTimeout: 10 * time.Second, Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/readyz" {
			if !s.ready.Load() {
				w.WriteHeader(http.StatusServiceUnavailable)
			}
			return
		}
		if r.URL.Path != "/fragments/x" {
			http.NotFound(w, r) // the health check's manifest read
			return
		}
		h := r.Host
		s.host.Store(&h)
		s.served.Add(1)
		_, _ = w.Write([]byte(body))
	})}
	go func() { _ = srv.Serve(ln) }()
	t.Cleanup(func() { _ = srv.Close() })
	return s
}

// twoLoopbackListeners listens on 127.0.0.1 and 127.0.0.2 at one port, as two pods of a Service do.
func twoLoopbackListeners(t *testing.T) (net.Listener, net.Listener, string) {
	t.Helper()
	for range 20 {
		a, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		port := strconv.Itoa(a.Addr().(*net.TCPAddr).Port)
		b, err := net.Listen("tcp", "127.0.0.2:"+port)
		if err == nil {
			return a, b, port
		}
		a.Close() // the port is taken at 127.0.0.2: another one
	}
	t.Fatal("no port free at both 127.0.0.1 and 127.0.0.2")
	return nil, nil, ""
}

// fakeDNS is what a name resolves to, as the test says: the seam of InstancesOptions.Resolve.
type fakeDNS struct {
	addrs atomic.Pointer[[]string]
	fail  atomic.Bool
	asked atomic.Int64
}

func (d *fakeDNS) set(addrs ...string) { d.addrs.Store(&addrs) }

func (d *fakeDNS) resolve(_ context.Context, host string) ([]string, error) {
	d.asked.Add(1)
	if host != "svc.test" {
		return nil, &net.DNSError{Err: "no such host", Name: host, IsNotFound: true}
	}
	if d.fail.Load() {
		return nil, errors.New("dns: server misbehaving")
	}
	return *d.addrs.Load(), nil
}

func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second) // a bound for a broken test, not a timing assertion
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting: %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func bases(in *Instances, team string) []string {
	var out []string
	for _, i := range in.All(team) {
		out = append(out, i.Base)
	}
	return out
}

// TestDNSNameResolvedAgain: a registry URL whose host is a name stands for every address the name
// resolves to, resolved again every DNSRefresh: requests are balanced across the addresses (with the
// name as Host), an address that appears joins the rotation, one that goes leaves it, the health
// checks still take an address that is not ready out, and a failed lookup changes nothing.
func TestDNSNameResolvedAgain(t *testing.T) {
	t.Parallel()
	la, lb, port := twoLoopbackListeners(t)
	a, b := serveAt(t, la, "a"), serveAt(t, lb, "b")
	dns := &fakeDNS{}
	dns.set("127.0.0.1")
	in, err := NewInstancesWith(Teams{"t": {"http://svc.test:" + port}, "ip": {"http://127.0.0.1:" + port}},
		InstancesOptions{DNSRefresh: 10 * time.Millisecond, Resolve: dns.resolve})
	if err != nil {
		t.Fatal(err)
	}
	c, err := NewClient(ClientOptions{Teams: Teams{"t": {"http://svc.test:" + port}, "ip": {"http://127.0.0.1:" + port}},
		Instances: in, BreakerFailures: 1000})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Close)
	ctx := context.Background()

	in.Resolve(ctx)
	if got, want := bases(in, "t"), []string{"http://127.0.0.1:" + port}; !slices.Equal(got, want) {
		t.Fatalf("instances %v, want %v", got, want)
	}
	if got := fetchBody(t, c); got != "a" {
		t.Fatalf("fetch = %q", got)
	}
	if h := *a.host.Load(); h != "svc.test:"+port {
		t.Errorf("Host %q, want the registry's svc.test:%s", h, port)
	}
	first := in.All("t")[0]

	runCtx, stop := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- in.Run(runCtx, time.Second) }() // each health check within 1 s
	t.Cleanup(func() {
		stop()
		if err := <-done; err != nil {
			t.Error(err)
		}
	})

	// A second pod: it joins the rotation; the first keeps its Instance (its health, its version).
	dns.set("127.0.0.2", "127.0.0.1")
	waitFor(t, "the second address in rotation", func() bool { return len(in.All("t")) == 2 })
	if got := in.All("t"); got[0] != first || got[1].Base != "http://127.0.0.2:"+port {
		t.Errorf("instances %v, want the known 127.0.0.1 kept and 127.0.0.2 added", bases(in, "t"))
	}
	a0, b0 := a.served.Load(), b.served.Load()
	for range 40 {
		fetchBody(t, c)
	}
	// Round robin over both; a request whose pooled connection the server had closed may go to
	// the other address (a refused request is retried there), so not exactly 20 each.
	if da, db := a.served.Load()-a0, b.served.Load()-b0; da+db != 40 || da < 10 || db < 10 {
		t.Errorf("served a=%d b=%d, want 40 balanced over both addresses", da, db)
	}
	if h := *b.host.Load(); h != "svc.test:"+port {
		t.Errorf("Host at the second address %q, want svc.test:%s", h, port)
	}

	// Health checks still apply to a resolved address.
	b.ready.Store(false)
	waitFor(t, "the unready address out of rotation", func() bool { return !in.All("t")[1].Ready() })
	b0 = b.served.Load()
	for range 10 {
		if got := fetchBody(t, c); got != "a" {
			t.Fatalf("an address out of rotation was asked: %q", got)
		}
	}
	if b.served.Load() != b0 {
		t.Error("an address out of rotation served")
	}
	b.ready.Store(true)
	waitFor(t, "the address back in rotation", func() bool { return in.All("t")[1].Ready() })

	// A failed lookup keeps the instances as they were.
	dns.fail.Store(true)
	asked := dns.asked.Load()
	waitFor(t, "a failed lookup", func() bool { return dns.asked.Load() > asked+1 })
	if n := len(in.All("t")); n != 2 {
		t.Errorf("a failed lookup left %d instances, want the 2 known", n)
	}
	dns.fail.Store(false)

	// The first pod goes: it leaves the rotation, and every request goes to the one left.
	dns.set("127.0.0.2")
	waitFor(t, "the gone address out of the team", func() bool { return len(in.All("t")) == 1 })
	a0 = a.served.Load()
	for range 10 {
		if got := fetchBody(t, c); got != "b" {
			t.Fatalf("fetch = %q, want the address left", got)
		}
	}
	if a.served.Load() != a0 {
		t.Error("an address the name no longer resolves to was asked")
	}
	// An IP literal is never looked up.
	if got := bases(in, "ip"); !slices.Equal(got, []string{"http://127.0.0.1:" + port}) {
		t.Errorf("the IP literal's instances %v", got)
	}
}

// TestDNSResolvesWithTheSystemResolver: without a Resolve seam the system's resolver is asked
// ("localhost" resolves through /etc/hosts), an IPv6 address is bracketed, and with DNSRefresh zero
// a name is one instance dialled by it.
func TestDNSResolvesWithTheSystemResolver(t *testing.T) {
	t.Parallel()
	in, err := NewInstancesWith(Teams{"t": {"http://localhost:8101/base"}}, InstancesOptions{DNSRefresh: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	in.Resolve(context.Background())
	got := bases(in, "t")
	if !slices.Contains(got, "http://127.0.0.1:8101/base") {
		t.Errorf("localhost resolved to %v, want http://127.0.0.1:8101/base among them", got)
	}
	for _, i := range in.All("t") {
		if i.Host() != "localhost:8101" || i.Prefix() != "/base" {
			t.Errorf("%s: Host %q prefix %q", i.Base, i.Host(), i.Prefix())
		}
	}

	v6, err := NewInstancesWith(Teams{"t": {"https://svc.test"}}, InstancesOptions{DNSRefresh: time.Second,
		Resolve: func(context.Context, string) ([]string, error) { return []string{"::1", "127.0.0.1", "::1"}, nil }})
	if err != nil {
		t.Fatal(err)
	}
	v6.Resolve(context.Background())
	if got, want := bases(v6, "t"), []string{"https://127.0.0.1:443", "https://[::1]:443"}; !slices.Equal(got, want) {
		t.Errorf("instances %v, want %v", got, want)
	}
	if name := v6.All("t")[1].TLSName(); name != "svc.test" {
		t.Errorf("TLS server name %q, want svc.test", name)
	}

	off, err := NewInstances(Teams{"t": {"http://localhost:8101"}})
	if err != nil {
		t.Fatal(err)
	}
	off.Resolve(context.Background())
	if got := bases(off, "t"); !slices.Equal(got, []string{"http://localhost:8101"}) {
		t.Errorf("with no DNS refresh: %v, want the name as it is", got)
	}
}

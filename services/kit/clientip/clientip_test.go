package clientip_test

import (
	"net/netip"
	"testing"

	"github.com/inlay-dev/inlay/services/kit/clientip"
)

func TestClient(t *testing.T) {
	t.Parallel()
	tp, err := clientip.Parse("10.0.0.0/8, 192.0.2.1")
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		peer string
		xff  []string
		want string
	}{
		{"203.0.113.5", []string{"1.2.3.4"}, "203.0.113.5"},                          // untrusted peer: its own address
		{"10.0.0.2", nil, "10.0.0.2"},                                                // trusted, nothing forwarded
		{"10.0.0.2", []string{"1.2.3.4, 198.51.100.9"}, "198.51.100.9"},              // the hop the proxy appended
		{"10.0.0.2", []string{"1.2.3.4", "198.51.100.9, 192.0.2.1"}, "198.51.100.9"}, // through two proxies
		{"10.0.0.2", []string{"garbage, 198.51.100.9"}, "198.51.100.9"},
		{"10.0.0.2", []string{"198.51.100.9, garbage"}, "10.0.0.2"},
		{"::ffff:10.0.0.2", []string{"198.51.100.9"}, "198.51.100.9"},
		// Proxies that write the client's port, or brackets.
		{"10.0.0.2", []string{"198.51.100.9:5555"}, "198.51.100.9"},
		{"10.0.0.2", []string{"[2001:db8::1]:443"}, "2001:db8::1"},
		{"10.0.0.2", []string{"[2001:db8::2]"}, "2001:db8::2"},
	} {
		if got := tp.Client(netip.MustParseAddr(tc.peer), tc.xff); got != tc.want {
			t.Errorf("Client(%s, %q) = %q, want %q", tc.peer, tc.xff, got, tc.want)
		}
	}
	var none clientip.Proxies
	if got := none.Client(netip.MustParseAddr("10.0.0.2"), []string{"198.51.100.9"}); got != "10.0.0.2" {
		t.Errorf("no trusted proxies: %q, want the peer", got)
	}
	if got := none.Client(netip.Addr{}, nil); got != "" {
		t.Errorf("no peer: %q", got)
	}
	for _, bad := range []string{"10.0.0.0/33", "not-an-ip"} {
		if _, err := clientip.Parse(bad); err == nil {
			t.Errorf("%q accepted", bad)
		}
	}
}

func TestKey(t *testing.T) {
	t.Parallel()
	for in, want := range map[string]string{
		"":                     "unknown",
		"198.51.100.9":         "198.51.100.9",
		"2001:db8:1:2:3:4:5:6": "2001:db8:1:2::/64",
		"2001:db8:1:2:ffff::1": "2001:db8:1:2::/64",
		"::ffff:198.51.100.9":  "::ffff:198.51.100.9",
		"64:ff9b::c633:6409":   "64:ff9b::c633:6409",  // NAT64: an IPv4 client each
		"2001:0:4136:e378::1":  "2001:0:4136:e378::1", // Teredo
		"not an address":       "not an address",
	} {
		if got := clientip.Key(in); got != want {
			t.Errorf("Key(%q) = %q, want %q", in, got, want)
		}
	}
}

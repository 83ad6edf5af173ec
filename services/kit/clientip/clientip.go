// Package clientip finds a request's client address behind the proxies a deployment trusts
// (INLAY_TRUSTED_PROXIES), and the key that per-client limits count it under.
//
// A client can put anything at the left of X-Forwarded-For; only the hops trusted proxies appended
// count, so the address is the connection's peer unless that peer is a trusted proxy.
package clientip

import (
	"fmt"
	"net/netip"
	"strings"
)

// Proxies are the networks whose X-Forwarded-For a public server believes. The zero value trusts
// nobody: the client is the connection's peer.
type Proxies []netip.Prefix

// Parse reads INLAY_TRUSTED_PROXIES: a comma-separated list of addresses and CIDR prefixes.
func Parse(s string) (Proxies, error) {
	var out Proxies
	for _, f := range strings.Split(s, ",") {
		f = strings.TrimSpace(f)
		if f == "" {
			continue
		}
		if !strings.Contains(f, "/") {
			a, err := netip.ParseAddr(f)
			if err != nil {
				return nil, fmt.Errorf("INLAY_TRUSTED_PROXIES: %q: %w", f, err)
			}
			f = netip.PrefixFrom(a.Unmap(), a.Unmap().BitLen()).String()
		}
		p, err := netip.ParsePrefix(f)
		if err != nil {
			return nil, fmt.Errorf("INLAY_TRUSTED_PROXIES: %q: %w", f, err)
		}
		out = append(out, p.Masked())
	}
	return out, nil
}

// Trusts reports whether a is a trusted proxy's address.
func (p Proxies) Trusts(a netip.Addr) bool {
	a = a.Unmap()
	for _, n := range p {
		if n.Contains(a) {
			return true
		}
	}
	return false
}

// Client is the client's address: the connection's peer, or, when the peer is a trusted proxy, the
// nearest address in X-Forwarded-For (xff: the header's values in order, read right to left) that
// is not a trusted proxy. "" for an invalid peer.
func (p Proxies) Client(peer netip.Addr, xff []string) string {
	peer = peer.Unmap()
	if !peer.IsValid() {
		return ""
	}
	if len(p) == 0 || !p.Trusts(peer) {
		return peer.String()
	}
	client := peer
	for i := len(xff) - 1; i >= 0; i-- {
		hops := strings.Split(xff[i], ",")
		for j := len(hops) - 1; j >= 0; j-- {
			a, ok := parseHop(hops[j])
			if !ok {
				return client.String() // a malformed hop: stop at the last good one
			}
			client = a.Unmap()
			if !p.Trusts(client) {
				return client.String()
			}
		}
	}
	return client.String()
}

// parseHop reads one X-Forwarded-For hop: an address, or one with a port as some proxies write it
// ("198.51.100.7:5555", "[2001:db8::1]:443"), or a bracketed IPv6 address.
func parseHop(hop string) (netip.Addr, bool) {
	hop = strings.TrimSpace(hop)
	if a, err := netip.ParseAddr(hop); err == nil {
		return a, true
	}
	if ap, err := netip.ParseAddrPort(hop); err == nil {
		return ap.Addr(), true
	}
	if a, err := netip.ParseAddr(strings.TrimSuffix(strings.TrimPrefix(hop, "["), "]")); err == nil && strings.HasPrefix(hop, "[") {
		return a, true
	}
	return netip.Addr{}, false
}

// nat64 and teredo carry an IPv4 client inside an IPv6 address (RFC 6052, RFC 4380): their /64 is
// every such client at once, so they are counted by the whole address.
var (
	nat64  = netip.MustParsePrefix("64:ff9b::/96")
	teredo = netip.MustParsePrefix("2001::/32")
)

// Key is what a per-client limit counts client (an address) under: an IPv4 address as it is, an
// IPv6 address by its /64 (one subscriber's network: anyone holding a /64 has 2^64 addresses, so a
// limit per address would be no limit), anything else as it is, and "unknown" for none.
func Key(client string) string {
	a, err := netip.ParseAddr(client)
	switch {
	case client == "":
		return "unknown"
	case err != nil || !a.Is6() || a.Is4In6() || nat64.Contains(a) || teredo.Contains(a):
		return client
	}
	p, err := a.Prefix(64)
	if err != nil {
		return client
	}
	return p.String()
}

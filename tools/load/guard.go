package load

import (
	"context"
	"fmt"
	"net"
	"net/url"
	"os"
)

// EnvOr returns the environment variable name, or def when it is empty: the commands' flags default
// to the variables the services read (INVENTORY_ADMIN_TOKEN, POSTGRES_URL, INLAY_DB_PREFIX).
func EnvOr(name, def string) string {
	if v := os.Getenv(name); v != "" {
		return v
	}
	return def
}

// CheckTarget refuses a target that is not an http(s) URL, and one whose host is not a loopback
// address (a name must resolve to loopback addresses only) unless allowRemote: a load run against
// somebody else's site is an attack.
func CheckTarget(ctx context.Context, target string, allowRemote bool) (*url.URL, error) {
	u, err := url.Parse(target)
	if err != nil {
		return nil, fmt.Errorf("target %q: %w", target, err)
	}
	if (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("target %q: want http://host[:port] or https://host[:port]", target)
	}
	if u.Path != "" && u.Path != "/" || u.RawQuery != "" {
		return nil, fmt.Errorf("target %q: want the storefront's origin, without a path or query", target)
	}
	if allowRemote {
		return u, nil
	}
	host := u.Hostname()
	if ip := net.ParseIP(host); ip != nil {
		if !ip.IsLoopback() {
			return nil, fmt.Errorf("target %q is not a loopback address (pass -allow-remote to load it anyway)", target)
		}
		return u, nil
	}
	addrs, err := net.DefaultResolver.LookupIPAddr(ctx, host)
	if err != nil {
		return nil, fmt.Errorf("target %q: resolve %s: %w", target, host, err)
	}
	if len(addrs) == 0 {
		return nil, fmt.Errorf("target %q: %s resolves to nothing", target, host)
	}
	for _, a := range addrs {
		if !a.IP.IsLoopback() {
			return nil, fmt.Errorf("target %q: %s resolves to %s, not a loopback address (pass -allow-remote to load it anyway)", target, host, a.IP)
		}
	}
	return u, nil
}

package load

import (
	"context"
	"strings"
	"testing"
)

func TestCheckTarget(t *testing.T) {
	ctx := context.Background()
	for _, ok := range []string{"http://127.0.0.1:8080", "http://127.0.0.2:9000/", "http://[::1]:8080", "http://localhost:8080", "https://127.0.0.1"} {
		if _, err := CheckTarget(ctx, ok, false); err != nil {
			t.Errorf("CheckTarget(%q): %v", ok, err)
		}
	}
	for in, want := range map[string]string{
		"http://10.0.0.1:8080":         "not a loopback",
		"http://[2001:db8::1]:80":      "not a loopback",
		"http://192.168.1.5":           "not a loopback",
		"ftp://127.0.0.1":              "want http",
		"127.0.0.1:8080":               "127.0.0.1:8080",
		"localhost:8080":               "want http",
		"http://127.0.0.1:8080/shop":   "without a path",
		"http://127.0.0.1:8080/?x=1":   "without a path",
		"http://no-such-host.invalid/": "resolve",
	} {
		if _, err := CheckTarget(ctx, in, false); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("CheckTarget(%q) = %v, want an error with %q", in, err, want)
		}
	}
	// The flag lets a remote target through, but never a malformed one.
	if _, err := CheckTarget(ctx, "http://10.0.0.1:8080", true); err != nil {
		t.Errorf("allowRemote: %v", err)
	}
	if _, err := CheckTarget(ctx, "ftp://10.0.0.1", true); err == nil {
		t.Error("allowRemote let ftp:// through")
	}
}

package fragments_test

import (
	"crypto/ed25519"
	"encoding/base64"
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/inlay-dev/inlay/fragments"
)

func TestKeySetVerifier(t *testing.T) {
	t.Parallel()
	shellPub, shellPriv := mustKey(t)
	embedPub, embedPriv := mustKey(t)
	_, mobilePriv := mustKey(t)
	v := fragments.NewKeySetVerifier(fragments.KeySet{fragments.KeyShell: shellPub, fragments.KeyEmbed: embedPub}, false)
	guest := fragments.Context{Locale: "en", Expires: now.Add(time.Minute)}

	sign := func(kid string, priv ed25519.PrivateKey, c fragments.Context) string {
		t.Helper()
		h, err := fragments.NewKeySigner(kid, priv).Sign(c)
		if err != nil {
			t.Fatalf("sign with %s: %v", kid, err)
		}
		return h
	}
	tests := []struct {
		name    string
		header  string
		wantErr error
	}{
		{"shell's key, no kid", mustSign(t, shellPriv, sampleContext()), nil},
		{"shell's key, kid shell", sign(fragments.KeyShell, shellPriv, sampleContext()), nil},
		{"embed's key, a guest", sign(fragments.KeyEmbed, embedPriv, guest), nil},
		{"embed's key under the shell's kid", mustSign(t, embedPriv, guest), fragments.ErrForgedContext},
		{"shell's key under embed's kid", sign(fragments.KeyEmbed, shellPriv, guest), fragments.ErrForgedContext},
		{"mobile, not in the set", sign(fragments.KeyMobile, mobilePriv, guest), fragments.ErrForgedContext},
		{"an unknown kid", sign("partner", embedPriv, guest), fragments.ErrForgedContext},
		{"embed's key with a customer", embedWithCustomer(t, embedPriv), fragments.ErrForgedContext},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			_, err := v.Verify(tt.header, now)
			if !errors.Is(err, tt.wantErr) || (tt.wantErr == nil && err != nil) {
				t.Fatalf("Verify: %v, want %v", err, tt.wantErr)
			}
		})
	}
}

// embedWithCustomer signs, by hand, what NewKeySigner refuses to: a context of embed's key with a
// customer id, as a leaked or buggy signer might.
func embedWithCustomer(t *testing.T, priv ed25519.PrivateKey) string {
	t.Helper()
	body, err := json.Marshal(map[string]any{"sub": "c-42", "exp": now.Add(time.Minute).Unix(), "kid": "embed"})
	if err != nil {
		t.Fatal(err)
	}
	enc := base64.RawURLEncoding.EncodeToString(body)
	return enc + "." + base64.RawURLEncoding.EncodeToString(ed25519.Sign(priv, []byte(enc)))
}

func TestEmbedSignerRefusesCustomer(t *testing.T) {
	t.Parallel()
	_, priv := mustKey(t)
	_, err := fragments.NewKeySigner(fragments.KeyEmbed, priv).Sign(sampleContext())
	if err == nil || !strings.Contains(err.Error(), "customer") {
		t.Fatalf("Sign of a customer with embed's key: %v, want refused", err)
	}
}

func TestParseKeySet(t *testing.T) {
	t.Parallel()
	pub, _ := mustKey(t)
	set, err := fragments.ParseKeySet(map[string]string{"shell": fragments.EncodePublicKey(pub), "mobile": "", "embed": " "})
	if err != nil {
		t.Fatal(err)
	}
	if len(set) != 1 || !set[fragments.KeyShell].Equal(pub) {
		t.Fatalf("ParseKeySet = %v, want the shell's key alone", set)
	}
	if _, err := fragments.ParseKeySet(map[string]string{"embed": "not-a-key"}); err == nil || !strings.Contains(err.Error(), `"embed"`) {
		t.Fatalf("ParseKeySet of a bad key: %v, want an error naming embed", err)
	}
}

func TestKeySetEmptyFailsClosed(t *testing.T) {
	t.Parallel()
	_, priv := mustKey(t)
	h := mustSign(t, priv, sampleContext())
	if _, err := fragments.NewKeySetVerifier(nil, false).Verify(h, now); !errors.Is(err, fragments.ErrForgedContext) {
		t.Fatalf("no keys outside dev: %v, want forged", err)
	}
	if _, err := fragments.NewKeySetVerifier(nil, true).Verify(h, now); err != nil {
		t.Fatalf("no keys in dev decodes: %v", err)
	}
}

package fragments_test

import (
	"bytes"
	"crypto/ed25519"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/inlay-dev/inlay/fragments"
)

// fuzzKey is fixed so that the committed corpus (testdata/fuzz/FuzzVerify) holds validly signed
// headers the fuzzer mutates from.
var fuzzKey = ed25519.NewKeyFromSeed(bytes.Repeat([]byte{7}, ed25519.SeedSize))

// FuzzVerify feeds arbitrary header values to the decoder. Whatever the input, Verify must not panic,
// must return one of the three documented errors or a context whose fields are bounded and free of
// control characters, and a header the keyed verifier accepts must also decode, to the same context,
// in dev mode without a key.
func FuzzVerify(f *testing.F) {
	signer := fragments.NewSigner(fuzzKey)
	for _, c := range []fragments.Context{
		{Expires: now.Add(time.Hour)},
		{CustomerID: "c-42", CartID: "cart-7", Locale: "de-DE", CSRF: "tok", Expires: now.Add(time.Minute)},
		{CustomerID: "ünï", Expires: now.Add(-time.Minute)},
	} {
		h, err := signer.Sign(c)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(h)
	}
	for _, s := range []string{"", ".", "a.b", "e30.", "eyJleHAiOjF9." + strings.Repeat("A", 86)} {
		f.Add(s)
	}

	keyed := fragments.NewVerifier(fuzzKey.Public().(ed25519.PublicKey), false)
	dev := fragments.NewVerifier(nil, true)
	f.Fuzz(func(t *testing.T, h string) {
		c, err := keyed.Verify(h, now)
		if err != nil {
			if !errors.Is(err, fragments.ErrMissingContext) && !errors.Is(err, fragments.ErrForgedContext) &&
				!errors.Is(err, fragments.ErrExpiredContext) {
				t.Fatalf("undocumented error %v", err)
			}
			if c != (fragments.Context{}) {
				t.Fatalf("rejected header yielded %+v", c)
			}
		} else {
			devC, devErr := dev.Verify(h, now)
			if devErr != nil || devC != c {
				t.Fatalf("keyed verifier accepted %+v, dev verifier: %+v, %v", c, devC, devErr)
			}
		}
		c, err = dev.Verify(h, now)
		if err != nil || h == "" { // an empty header in dev mode is the zero guest context
			return
		}
		for _, v := range []string{c.CustomerID, c.CartID, c.Locale, c.CSRF} {
			if len(v) > 256 || strings.ContainsFunc(v, func(r rune) bool { return r < 0x20 || r == 0x7f }) {
				t.Fatalf("accepted unbounded or control field %q", v)
			}
		}
		if !c.Expires.After(now) {
			t.Fatalf("accepted expired context %v", c.Expires)
		}
		// An accepted context can be signed again and verifies to itself.
		again, err := signer.Sign(c)
		if err != nil {
			t.Fatalf("re-sign %+v: %v", c, err)
		}
		if got, err := keyed.Verify(again, now); err != nil || got != c {
			t.Fatalf("re-signed %+v verified as %+v, %v", c, got, err)
		}
	})
}

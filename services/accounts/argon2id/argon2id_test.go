package argon2id_test

import (
	"errors"
	"runtime"
	"strings"
	"testing"

	"golang.org/x/crypto/argon2"

	"github.com/inlay-dev/inlay/services/accounts/argon2id"
)

func mustHasher(t testing.TB, p argon2id.Params) *argon2id.Hasher {
	t.Helper()
	h, err := argon2id.New(p)
	if err != nil {
		t.Fatal(err)
	}
	return h
}

// TestDefaultParameters holds the default to at least OWASP's minimum for Argon2id and checks that a
// hash carries exactly those parameters.
func TestDefaultParameters(t *testing.T) {
	t.Parallel()
	d := argon2id.Default
	if d.Memory < 19*1024 || d.Time < 2 || d.Threads != 1 || d.SaltLen < 16 || d.KeyLen < 32 {
		t.Fatalf("Default %+v is below OWASP's minimum (19 MiB, 2 passes, 1 lane)", d)
	}
	if m := argon2id.Minimum; m.Memory != 19*1024 || m.Time != 2 || m.Threads != 1 {
		t.Fatalf("Minimum %+v is not OWASP's", m)
	}
	h := mustHasher(t, d)
	enc, err := h.Hash("correct horse battery staple")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(enc, "$argon2id$v=19$m=32768,t=3,p=1$") {
		t.Fatalf("hash %q does not carry the parameters", enc)
	}
	p, salt, key, err := argon2id.Decode(enc)
	if err != nil {
		t.Fatal(err)
	}
	if p != d || len(salt) != 16 || len(key) != 32 {
		t.Errorf("decoded %+v, salt %d, key %d", p, len(salt), len(key))
	}
	// The same derivation, computed independently, gives the stored key.
	if got := argon2.IDKey([]byte("correct horse battery staple"), salt, 3, 32*1024, 1, 32); string(got) != string(key) {
		t.Error("stored key is not argon2id of the password with the stored salt and parameters")
	}
}

func TestVerify(t *testing.T) {
	t.Parallel()
	h := mustHasher(t, argon2id.Default)
	a, err := h.Hash("password-one")
	if err != nil {
		t.Fatal(err)
	}
	b, err := h.Hash("password-one")
	if err != nil {
		t.Fatal(err)
	}
	if a == b {
		t.Error("two hashes of one password are equal: the salt is not per hash")
	}
	for _, tc := range []struct {
		pw   string
		want bool
	}{{"password-one", true}, {"password-One", false}, {"", false}, {"password-one ", false}} {
		ok, rehash, err := h.Verify(tc.pw, a)
		if err != nil || ok != tc.want || rehash {
			t.Errorf("Verify(%q) = %v, %v, %v; want %v", tc.pw, ok, rehash, err, tc.want)
		}
	}
}

// TestRaisedParametersRehash: a hash made with the old (minimum) parameters still verifies under the
// raised default, and Verify asks for a rehash.
func TestRaisedParametersRehash(t *testing.T) {
	t.Parallel()
	old := mustHasher(t, argon2id.Minimum)
	enc, err := old.Hash("s3cret-pass")
	if err != nil {
		t.Fatal(err)
	}
	nu := mustHasher(t, argon2id.Default)
	ok, rehash, err := nu.Verify("s3cret-pass", enc)
	if err != nil || !ok || !rehash {
		t.Fatalf("Verify = %v, %v, %v; want true, true, nil", ok, rehash, err)
	}
	enc2, err := nu.Hash("s3cret-pass")
	if err != nil {
		t.Fatal(err)
	}
	if ok, rehash, err := nu.Verify("s3cret-pass", enc2); !ok || rehash || err != nil {
		t.Errorf("rehashed: %v, %v, %v", ok, rehash, err)
	}
}

func TestWeakParametersRefused(t *testing.T) {
	t.Parallel()
	for _, p := range []argon2id.Params{
		{Memory: 8 * 1024, Time: 2, Threads: 1, SaltLen: 16, KeyLen: 32},
		{Memory: 19 * 1024, Time: 1, Threads: 1, SaltLen: 16, KeyLen: 32},
		{Memory: 19 * 1024, Time: 2, Threads: 0, SaltLen: 16, KeyLen: 32},
		{Memory: 19 * 1024, Time: 2, Threads: 1, SaltLen: 4, KeyLen: 32},
	} {
		if _, err := argon2id.New(p); err == nil {
			t.Errorf("New(%+v) accepted", p)
		}
	}
}

func TestMalformedHashes(t *testing.T) {
	t.Parallel()
	h := mustHasher(t, argon2id.Default)
	for _, enc := range []string{
		"",
		"plain",
		"$argon2i$v=19$m=19456,t=2,p=1$c2FsdHNhbHRzYWx0c2FsdA$aGFzaGhhc2hoYXNoaGFzaGhhc2hoYXNoaGFzaGhhc2g",
		"$argon2id$v=16$m=19456,t=2,p=1$c2FsdHNhbHRzYWx0c2FsdA$aGFzaGhhc2hoYXNoaGFzaGhhc2hoYXNoaGFzaGhhc2g",
		"$argon2id$v=19$m=99999999,t=2,p=1$c2FsdHNhbHRzYWx0c2FsdA$aGFzaGhhc2hoYXNoaGFzaGhhc2hoYXNoaGFzaGhhc2g",
		"$argon2id$v=19$m=19456,t=1000,p=1$c2FsdHNhbHRzYWx0c2FsdA$aGFzaGhhc2hoYXNoaGFzaGhhc2hoYXNoaGFzaGhhc2g",
		"$argon2id$v=19$m=19456,t=2,p=1,x=3$c2FsdHNhbHRzYWx0c2FsdA$aGFzaGhhc2hoYXNoaGFzaGhhc2hoYXNoaGFzaGhhc2g",
		"$argon2id$v=19$m=19456,t=2,p=1$!!$aGFzaGhhc2hoYXNoaGFzaGhhc2hoYXNoaGFzaGhhc2g",
	} {
		if _, _, err := h.Verify("x", enc); !errors.Is(err, argon2id.ErrMalformed) {
			t.Errorf("Verify(%q) err = %v, want ErrMalformed", enc, err)
		}
	}
}

// BenchmarkHash measures one hash with the default parameters (and with OWASP's minimum, for
// comparison); BENCHMARKS.md records it (the default must stay between 50 and 500 ms on the project's
// machine).
func BenchmarkHash(b *testing.B) {
	for name, p := range map[string]argon2id.Params{"default": argon2id.Default, "minimum": argon2id.Minimum} {
		b.Run(name, func(b *testing.B) {
			h := mustHasher(b, p)
			b.ReportAllocs()
			for b.Loop() {
				if _, err := h.Hash("correct horse battery staple"); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// A hash's memory does not stay in the heap's goal: after Hash returns (no other hash running), the
// next collection is due well below the hash's Memory, so the process does not grow by that much
// ordinary garbage first.
func TestHashLeavesNoHeapGoalBehind(t *testing.T) {
	const mem = 19 * 1024 // KiB (the minimum): well above what the rest of this test binary keeps live
	h, err := argon2id.New(argon2id.Params{Memory: mem, Time: 2, Threads: 1, SaltLen: 16, KeyLen: 32})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := h.Hash("correct horse battery staple"); err != nil {
		t.Fatal(err)
	}
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	if ms.NextGC >= mem*1024 {
		t.Fatalf("after a hash of %d MiB the next collection is due at %d MiB of heap: the hash's memory stayed in the goal",
			mem/1024, ms.NextGC>>20)
	}
}

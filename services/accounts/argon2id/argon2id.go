// Package argon2id hashes passwords with Argon2id (RFC 9106, golang.org/x/crypto/argon2) into the
// PHC string form, which carries the parameters and the salt with the hash:
//
//	$argon2id$v=19$m=19456,t=2,p=1$<salt, base64>$<hash, base64>
//
// so the parameters can be raised later: a hash made with weaker ones still verifies, and Verify
// says it should be rehashed. The comparison is in constant time.
package argon2id

import (
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"runtime"
	"runtime/debug"
	"strconv"
	"strings"

	"golang.org/x/crypto/argon2"

	"github.com/inlay-dev/inlay/services/accounts"
)

// Params are Argon2id's cost parameters.
type Params struct {
	Memory  uint32 // KiB
	Time    uint32 // passes
	Threads uint8  // lanes
	SaltLen uint32 // bytes
	KeyLen  uint32 // bytes
}

// Minimum is OWASP's minimum for Argon2id: 19 MiB, 2 passes, 1 lane (with a 128-bit salt and a
// 256-bit hash). New refuses anything weaker.
var Minimum = Params{Memory: 19 * 1024, Time: 2, Threads: 1, SaltLen: 16, KeyLen: 32}

// Default is what accounts hashes with: above the minimum (32 MiB, 3 passes, 1 lane), so that one hash
// costs 50 to 500 ms on the project's machine (BENCHMARKS.md; at the minimum it took 30 to 60 ms).
var Default = Params{Memory: 32 * 1024, Time: 3, Threads: 1, SaltLen: 16, KeyLen: 32}

// Bounds on parameters read from a stored hash, so a corrupt row cannot make a verification take
// gigabytes or minutes.
const (
	maxMemory = 1 << 20 // KiB: 1 GiB
	maxTime   = 64
	maxKey    = 128
	minKey    = 16
	minSalt   = 8
	maxSalt   = 64
)

// maxConcurrent bounds the hashes running at once whatever the CPU count: 4 × 32 MiB.
const maxConcurrent = 4

// Hasher hashes with its Params. At most two hashes per CPU (and maxConcurrent) run at once, the
// others wait, so a burst of sign-ins costs time, not Memory × attempts of RAM.
type Hasher struct {
	p     Params
	slots chan struct{}
}

func (h *Hasher) key(password string, salt []byte, p Params) []byte {
	h.slots <- struct{}{}
	k := argon2.IDKey([]byte(password), salt, p.Time, p.Memory, p.Threads, p.KeyLen)
	<-h.slots
	if len(h.slots) == 0 {
		// The hash's Memory KiB are garbage now, but a collection that ran during the hash counted
		// them as live and set the heap's goal to twice that: the process would then grow by as
		// much ordinary garbage before collecting again (accountsd at 95 MiB under page views after
		// its startup decoy hash, against 25 MiB). When no other hash is running, one collection
		// resets the goal to what is live and gives the pages back: a millisecond or two after a
		// hash that took tens.
		debug.FreeOSMemory()
	}
	return k
}

var _ accounts.PasswordHasher = (*Hasher)(nil)

// New returns a Hasher with p, which must be at least OWASP's minimum (Minimum).
func New(p Params) (*Hasher, error) {
	if p.Memory < Minimum.Memory || p.Time < Minimum.Time || p.Threads < 1 || p.SaltLen < Minimum.SaltLen || p.KeyLen < minKey {
		return nil, fmt.Errorf("argon2id parameters %+v are below the minimum %+v", p, Minimum)
	}
	if p.Memory > maxMemory || p.Time > maxTime || p.KeyLen > maxKey || p.SaltLen > maxSalt {
		return nil, fmt.Errorf("argon2id parameters %+v are above the bounds", p)
	}
	return &Hasher{p: p, slots: make(chan struct{}, min(2*runtime.GOMAXPROCS(0), maxConcurrent))}, nil
}

// Params returns the hasher's parameters.
func (h *Hasher) Params() Params { return h.p }

var b64 = base64.RawStdEncoding.Strict()

// Hash returns the PHC string of password with a fresh random salt.
func (h *Hasher) Hash(password string) (string, error) {
	salt := make([]byte, h.p.SaltLen)
	if _, err := rand.Read(salt); err != nil {
		return "", fmt.Errorf("argon2id salt: %w", err)
	}
	key := h.key(password, salt, h.p)
	return fmt.Sprintf("$argon2id$v=%d$m=%d,t=%d,p=%d$%s$%s", argon2.Version, h.p.Memory, h.p.Time, h.p.Threads,
		b64.EncodeToString(salt), b64.EncodeToString(key)), nil
}

// ErrMalformed means a stored hash is not an Argon2id PHC string this package reads.
var ErrMalformed = errors.New("argon2id: malformed hash")

// Verify hashes password with encoded's own parameters and salt and compares in constant time. rehash
// is true when encoded's parameters are weaker than the hasher's.
func (h *Hasher) Verify(password, encoded string) (ok, rehash bool, err error) {
	p, salt, key, err := Decode(encoded)
	if err != nil {
		return false, false, err
	}
	got := h.key(password, salt, p)
	ok = subtle.ConstantTimeCompare(got, key) == 1
	rehash = p.Memory < h.p.Memory || p.Time < h.p.Time || p.Threads < h.p.Threads ||
		p.KeyLen < h.p.KeyLen || p.SaltLen < h.p.SaltLen
	return ok, rehash, nil
}

// Decode splits a PHC string into its parameters, salt and hash, bounding each.
func Decode(encoded string) (Params, []byte, []byte, error) {
	parts := strings.Split(encoded, "$")
	if len(parts) != 6 || parts[0] != "" || parts[1] != "argon2id" || parts[2] != "v="+strconv.Itoa(argon2.Version) {
		return Params{}, nil, nil, ErrMalformed
	}
	var p Params
	for _, kv := range strings.Split(parts[3], ",") {
		k, v, _ := strings.Cut(kv, "=")
		n, err := strconv.ParseUint(v, 10, 32)
		if err != nil {
			return Params{}, nil, nil, fmt.Errorf("%w: %s", ErrMalformed, kv)
		}
		switch k {
		case "m":
			p.Memory = uint32(n)
		case "t":
			p.Time = uint32(n)
		case "p":
			if n > 255 {
				return Params{}, nil, nil, fmt.Errorf("%w: %s", ErrMalformed, kv)
			}
			p.Threads = uint8(n)
		default:
			return Params{}, nil, nil, fmt.Errorf("%w: %s", ErrMalformed, kv)
		}
	}
	salt, err1 := b64.DecodeString(parts[4])
	key, err2 := b64.DecodeString(parts[5])
	if err1 != nil || err2 != nil {
		return Params{}, nil, nil, fmt.Errorf("%w: encoding", ErrMalformed)
	}
	p.SaltLen, p.KeyLen = uint32(len(salt)), uint32(len(key))
	if p.Memory < 8*uint32(p.Threads) || p.Memory > maxMemory || p.Time < 1 || p.Time > maxTime || p.Threads < 1 ||
		p.KeyLen < minKey || p.KeyLen > maxKey || p.SaltLen < minSalt || p.SaltLen > maxSalt {
		return Params{}, nil, nil, fmt.Errorf("%w: parameters out of bounds", ErrMalformed)
	}
	return p, salt, key, nil
}

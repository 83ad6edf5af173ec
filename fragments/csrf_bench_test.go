package fragments_test

import (
	"testing"

	"github.com/inlay-dev/inlay/fragments"
)

// BenchmarkCSRFTokens is a new visitor's token (Issue) and a returning visitor's check (Valid), which
// the shell does on every page.
func BenchmarkCSRFTokens(b *testing.B) {
	tokens := fragments.NewCSRFTokens([]byte("a secret of the shell"))
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if !tokens.Valid(tokens.Issue("session-1"), "session-1") {
				b.Fatal("a token does not verify")
			}
		}
	})
}

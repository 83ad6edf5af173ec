package server

import (
	"testing"

	"github.com/google/uuid"
)

func TestNewRequestIDIsARandomUUID(t *testing.T) {
	seen := map[string]bool{}
	for range 1000 {
		id := NewRequestID()
		u, err := uuid.Parse(id)
		if err != nil || len(id) != 36 || u.Version() != 4 || u.Variant() != uuid.RFC4122 || u.String() != id {
			t.Fatalf("request id %q is not a canonical version 4 UUID (%v)", id, err)
		}
		if !validRequestID(id) {
			t.Fatalf("request id %q would not be passed on", id)
		}
		if seen[id] {
			t.Fatalf("request id %q made twice", id)
		}
		seen[id] = true
	}
}

func BenchmarkNewRequestID(b *testing.B) {
	b.Run("kit", func(b *testing.B) {
		for b.Loop() {
			_ = NewRequestID()
		}
	})
	b.Run("uuid.NewString", func(b *testing.B) {
		for b.Loop() {
			_ = uuid.NewString()
		}
	})
}

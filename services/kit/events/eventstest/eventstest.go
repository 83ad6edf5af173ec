// Package eventstest helps a publisher keep its example events — testdata/*.json, the contract other
// teams' tolerant readers decode (docs/architecture.md) — equal to what it really publishes.
package eventstest

import (
	"encoding/json"
	"os"
	"reflect"
	"testing"

	"github.com/inlay-dev/inlay/services/kit/events"
)

// Example fails t unless the envelope stored at path has e's type, source and subject and the same
// data (as JSON values: key order and spacing do not matter; id and time are not compared). With
// update it first rewrites path from e, for a deliberate change (`go test -update`).
func Example(t testing.TB, path string, e events.Event, update bool) {
	t.Helper()
	if update {
		b, err := json.MarshalIndent(e, "", "  ")
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, append(b, '\n'), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	raw, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test -update to write it)", err)
	}
	want, err := events.Decode(raw)
	if err != nil {
		t.Fatalf("%s is not a valid envelope: %v", path, err)
	}
	if want.Type != e.Type || want.Source != e.Source || want.Subject != e.Subject {
		t.Errorf("%s: envelope %s/%s/%s, publisher %s/%s/%s", path, want.Type, want.Source, want.Subject, e.Type, e.Source, e.Subject)
	}
	var got, exp any
	if err := json.Unmarshal(e.Data, &got); err != nil {
		t.Fatalf("published data: %v", err)
	}
	if err := json.Unmarshal(want.Data, &exp); err != nil {
		t.Fatalf("%s data: %v", path, err)
	}
	if !reflect.DeepEqual(got, exp) {
		t.Errorf("%s: data differs (go test -update to accept):\n got %s\nwant %s", path, e.Data, want.Data)
	}
}

// Read returns the example event stored at path — another team's testdata/*.json, read as a file and
// never imported: the contract a consumer's tolerant reader must accept.
func Read(t testing.TB, path string) events.Event {
	t.Helper()
	raw, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	e, err := events.Decode(raw)
	if err != nil {
		t.Fatalf("%s is not a valid envelope: %v", path, err)
	}
	return e
}

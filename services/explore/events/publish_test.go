package events_test

import (
	"flag"
	"path/filepath"
	"testing"

	"github.com/inlay-dev/inlay/services/explore"
	"github.com/inlay-dev/inlay/services/explore/events"
	kitevents "github.com/inlay-dev/inlay/services/kit/events"
	"github.com/inlay-dev/inlay/services/kit/events/eventstest"
)

var update = flag.Bool("update", false, "rewrite testdata/*.json from the current payloads")

// TestExamples keeps testdata/*.json — the examples checkout's tests decode — equal to what explore
// publishes (apart from id and time). Run with -update after a deliberate change.
func TestExamples(t *testing.T) {
	t.Parallel()
	e, err := events.StoreChangedEvent(explore.Store{ID: "store-a", Name: "Aurora Flagship Store", Street: "Astronaut Way 1",
		City: "Arlington"}, 1)
	if err != nil {
		t.Fatal(err)
	}
	eventstest.Example(t, filepath.Join("testdata", "store_changed.json"), e, *update)
	if err := kitevents.ValidateType(events.StoreChangedType); err != nil {
		t.Error(err)
	}
}

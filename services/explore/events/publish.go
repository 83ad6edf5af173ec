package events

import (
	"github.com/inlay-dev/inlay/services/explore"
	kitevents "github.com/inlay-dev/inlay/services/kit/events"
)

// Source is the context explore's events come from.
const Source = "explore"

// Event types (routing keys) explore publishes. Examples are in testdata/*.json; checkout's tests
// decode them.
const (
	// StoreChangedType: a store came into being or changed. Data: StoreChanged, the store's full state;
	// its subject is the store id.
	StoreChangedType = "explore.store.changed.v1"
)

// StoreChanged is the payload of store.changed.
type StoreChanged struct {
	ID     string `json:"id"`
	Name   string `json:"name"`
	Street string `json:"street"`
	City   string `json:"city"`
	// Version is the store's version; it increases with every change.
	Version int64 `json:"version"`
}

// StoreChangedEvent is the store.changed event of store s at version.
func StoreChangedEvent(s explore.Store, version int64) (kitevents.Event, error) {
	return kitevents.New(Source, StoreChangedType, s.ID, StoreChanged{ID: s.ID, Name: s.Name, Street: s.Street,
		City: s.City, Version: version})
}

// Consumers are the contexts that consume explore's store.changed events: a first start's catch-up
// (kit/events.CatchUp) waits for them before it republishes the stores.
func Consumers() []string { return []string{"checkout"} }

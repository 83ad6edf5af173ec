// Package storepicker serves the Store Picker fragment (used by checkout): a "choose a store" button
// opening a <dialog> that lists every store with "select". Selecting one shows the store's name and
// address in the picker and dispatches a bubbling `explore:store-selected` event whose detail is the
// store id; the behaviour is explore's own script (static/store-picker.js), declared in the manifest.
// Without JavaScript the dialog still opens (invoker commands) and "select" submits the form the
// picker sits in, with the store id in ChoiceField.
package storepicker

import (
	"fmt"
	"time"

	"github.com/gofiber/fiber/v2"

	"github.com/inlay-dev/inlay/fragments"
	"github.com/inlay-dev/inlay/services/explore"
	"github.com/inlay-dev/inlay/services/explore/ui/stores"
)

// Name is the fragment's name in explore's manifest.
const Name = "store-picker"

// ChoiceField is the name of the "select" buttons, submit buttons whose value is a store id: without
// JavaScript, selecting a store submits the form around the picker with ChoiceField=id (checkout's
// form, whose handler keeps the other fields and shows the checkout page again with the store).
const ChoiceField = "store_choice"

// DialogID is the id of the picker's dialog (explore's ids start with "ex-"); one picker per page.
const DialogID = "ex-store-picker-dialog"

// Param names a store to show as already chosen (after a form post without JavaScript).
const Param = "selected"

// MaxAge is how long the picker may be cached.
const MaxAge = 5 * time.Minute

// EventName is the DOM event the picker dispatches when a store is selected.
const EventName = "explore:store-selected"

// ViewModel is what the picker shows.
type ViewModel struct {
	Stores    []stores.Store
	Selected  *stores.Store // nil until a store is chosen
	ScriptURL string
}

// NewViewModel builds the picker for list, with the store selectedID chosen when it exists.
func NewViewModel(list []explore.Store, images map[string]string, selectedID, scriptURL string) ViewModel {
	m := ViewModel{Stores: stores.NewStores(list, images), ScriptURL: scriptURL}
	for i := range m.Stores {
		if m.Stores[i].ID == selectedID {
			m.Selected = &m.Stores[i]
		}
	}
	return m
}

// Handler serves the picker; images maps a store id to its illustration's URL.
func Handler(list stores.StoreLister, images map[string]string, scriptURL string, opts ...fragments.RenderOption) fiber.Handler {
	opts = append([]fragments.RenderOption{fragments.MaxAge(MaxAge)}, opts...)
	return func(c *fiber.Ctx) error {
		all, err := list.Stores(c.UserContext())
		if err != nil {
			return fmt.Errorf("store picker: %w", err)
		}
		m := NewViewModel(all, images, c.Query(Param), scriptURL)
		return fragments.Render(c, View(m), fragments.Public, opts...)
	}
}

// Package fragments is Inlay's fragment contract as a Go library: the manifest a team serves, the
// signed request context (Inlay-Context), the helper that serves a templ component as a fragment, and
// the client the shell and the BFFs fetch fragments with. See docs/fragments.md.
package fragments

import (
	"encoding/json"
	"fmt"
	"time"
)

// ManifestPath is where every team serves its manifest.
const ManifestPath = "/fragments/manifest.json"

// Manifest describes a team's fragments. It is served as JSON at ManifestPath.
type Manifest struct {
	// Name is the team's context: decide, explore, ...
	Name string `json:"name"`
	// Version changes whenever the team deploys; the shell shows it in debug outlines.
	Version string `json:"version"`
	// Fragments by name.
	Fragments map[string]Fragment `json:"fragments"`
}

// Fragment describes one fragment of a manifest.
type Fragment struct {
	// Params names the query parameters the fragment reads; others are dropped by the shell.
	Params []string `json:"params,omitempty"`
	// Timeout is the default deadline for fetching it, when the page tag names none.
	Timeout Duration `json:"timeout,omitempty"`
	// Fallback is the HTML shown when the fragment fails and no last good copy exists.
	Fallback string `json:"fallback,omitempty"`
	// Cache is the fragment's cache policy: "public" fragments may be shared between users,
	// "private" ones never leave the request.
	Cache CachePolicy `json:"cache"`
	// CSS and JS are the fragment's assets, as paths under the team's /static/ (content-hashed).
	CSS []string `json:"css,omitempty"`
	JS  []string `json:"js,omitempty"`
	// CSRF says the fragment renders a form a guest can post, so it needs the visitor's CSRF token
	// in its hidden csrf field. A Private fragment gets the token in its Inlay-Context and renders
	// it; a Public one renders CSRFPlaceholder instead (its shared copy must never hold a visitor's
	// token) and the shell puts the visitor's token in its place on every page. Without it, a
	// guest's context carries no token (a customer's always does).
	CSRF bool `json:"csrf,omitempty"`
}

// CachePolicy says whether a fragment may be shared between users.
type CachePolicy string

// Cache policies.
const (
	Public  CachePolicy = "public"
	Private CachePolicy = "private"
)

// Duration is a time.Duration that reads and writes as a Go duration string ("300ms") in JSON.
type Duration time.Duration

// MarshalJSON writes d as "300ms".
func (d Duration) MarshalJSON() ([]byte, error) { return json.Marshal(time.Duration(d).String()) }

// UnmarshalJSON reads "300ms".
func (d *Duration) UnmarshalJSON(b []byte) error {
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		return fmt.Errorf("duration: %w", err)
	}
	v, err := time.ParseDuration(s)
	if err != nil {
		return fmt.Errorf("duration: %w", err)
	}
	*d = Duration(v)
	return nil
}

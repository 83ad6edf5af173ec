// Package fallback holds checkout's fragment fallback: a short message in checkout's boundary, for
// the manifest and for a fragment's own "not found" answer.
package fallback

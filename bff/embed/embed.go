// Package embed is the backend-for-frontend for third-party pages that embed Inlay fragments:
// /embed/v1/{context}/{fragment} with a per-partner key, an origin allowlist, CORS and rate limits,
// and loader.js, a Web Component that renders a fragment in its shadow DOM (DESIGN.md §7). It imports
// no team package; it speaks HTTP to the teams of INLAY_TEAMS.
//
// For now it is its process only (cmd/embedd: configuration, the team registry, Redis for rate
// limits, health, readiness and metrics); its endpoints come in a later issue.
package embed

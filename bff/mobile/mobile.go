// Package mobile is the backend-for-frontend for Inlay's native apps: versioned JSON (/v1/...) for
// home, category, product, search, cart, orders and login, fetched from the teams' /v1 APIs in
// parallel (docs/architecture.md). It imports no team package; it speaks HTTP to the teams of INLAY_TEAMS.
//
// For now it is its process only (cmd/mobiled: configuration, the team registry, Redis for rate
// limits, health, readiness and metrics); its endpoints come in a later issue.
package mobile

// Package e2e holds Inlay's end-to-end tests: Start builds every process once, starts the whole
// platform on free ports against fresh databases, a unique Redis prefix and a unique exchange, waits
// for every /readyz, and gives tests a headless Chromium (chromedp) to drive the storefront with.
// Everything it started or created is removed when the test ends.
//
// The tests carry the build tag e2e, so `go test ./...` stays fast; run them with `make e2e` (which
// installs Debian's chromium when missing) or `go test -tags e2e ./e2e/...`.
package e2e

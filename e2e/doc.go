// Package e2e holds Inlay's end-to-end tests: Start builds every process once, starts the whole
// platform on free ports against fresh databases, a unique Redis prefix and a unique exchange, waits
// for every /readyz, and gives tests a headless Chromium (chromedp) to drive the storefront with.
// Everything it started or created is removed when the test ends.
//
// Each test has a platform of its own, so the tests without a timed bound (the browser, API and
// accessibility tests) call t.Parallel and run two at a time (go test's -parallel); those whose bound
// is a time or that load the machine on purpose (the fault suite, the rolling restart, tracing, the
// partner pages' fallback deadline, the mobile BFF's degraded answers) run alone, before them.
//
// The tests carry the build tag e2e, so `go test ./...` stays fast; run them with `make e2e` (which
// installs Debian's chromium when missing) or `go test -tags e2e ./e2e/...`.
package e2e

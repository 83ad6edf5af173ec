#!/usr/bin/env bash
# bench-partner.sh [OUT] — issue 15's rows of `make bench`: bff/embed's /embed/v1/decide/product-card,
# the nginx SSI and Varnish ESI partner pages (deploy/nginx, deploy/varnish) and, in the same run on
# the same platform, the shell composing the same card and its product page (e2e BenchmarkPartnerPages:
# the e2e harness starts the platform on free ports, its own databases, Redis prefix and exchange,
# removed afterwards). Load: wrk -t1 -c32 -d${D:-8}s --latency per target, ROUNDS interleaved rounds
# (default 1). Installs wrk, nginx and varnish when missing. Writes the Markdown table to OUT.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
out=${1:-$root/.inlay/bench/partner.md}
mkdir -p "$(dirname "$out")"
out=$(cd "$(dirname "$out")" && pwd)/$(basename "$out") # go test runs in e2e/: the path must not be relative
"$root/shell/bench/ensure-tools.sh"
"$root/scripts/ensure-proxies.sh"
export PATH=$PATH:/usr/sbin:/sbin # nginx and varnishd
cd "$root"
INLAY_BENCH_D=${D:-8} INLAY_BENCH_ROUNDS=${ROUNDS:-1} INLAY_BENCH_OUT=$out \
	go test -tags e2e -count=1 -run '^$' -bench '^BenchmarkPartnerPages$' -benchtime 1x -timeout 15m ./e2e/ >&2
cat "$out"

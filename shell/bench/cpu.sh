#!/usr/bin/env bash
# CPU per page: the composer's CPU time (user + system, from /proc) divided by the pages it served,
# for nginx SSI, Tailor and the shell on the benchmark's stub (anchors.sh; ensure-tools.sh installs
# what is missing). On a shared, busy machine req/s swing with the neighbours' load; CPU per page much
# less so. Prints one Markdown table.
# D=seconds per target (default 8); SHELLD=path uses a prebuilt shelld.
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
"$root/shell/bench/ensure-tools.sh"
# shellcheck source=anchors.sh
. "$root/shell/bench/anchors.sh"
work=$(mktemp -d)
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  anchors_stop
  wait 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT
if [ -n "${SHELLD:-}" ]; then cp "$SHELLD" "$work/shelld"; else (cd "$root" && go build -o "$work/shelld" ./shell/cmd/shelld); fi
anchors_start "$work"
stub=$stub_pid
tailor=$tailor_pid
port=${BENCH_SHELL_PORT:-18091}
INLAY_TEAMS=stub=http://127.0.0.1:9100 INLAY_PAGES_DIR="$root/shell/bench/pages" SHELL_ADDR=127.0.0.1:$port SHELL_ADMIN_ADDR=127.0.0.1:0 \
  LOG_LEVEL=warn GOGC=${GOGC:-400} INLAY_REDIS_PREFIX="cpu$$:" "$work/shelld" >"$work/shelld.log" 2>&1 & shell=$!; pids+=($shell)
for _ in $(seq 1 100); do
  curl -fsS -o /dev/null "http://127.0.0.1:$port/healthz" 2>/dev/null && curl -fsS -o /dev/null http://127.0.0.1:9200/index 2>/dev/null && break
  sleep 0.1
done
hz=$(getconf CLK_TCK)
ticks() { local t=0 a; for p in "$@"; do read -r -a a <"/proc/$p/stat"; t=$((t + a[13] + a[14])); done; echo "$t"; }
nginx_workers=$(pgrep -P "$(nginx_pid)" | tr '\n' ' ')
row() { # name url pids...  (HDR=header sent with every request)
  local name=$1 url=$2; shift 2
  curl -fsS -o /dev/null "$url"
  local c0 s0 c1 s1 out n rps
  c0=$(ticks "$@"); s0=$(ticks "$stub")
  if [ -n "${HDR:-}" ]; then out=$(wrk -t1 -c32 -d"${D:-8}s" -H "$HDR" "$url"); else out=$(wrk -t1 -c32 -d"${D:-8}s" "$url"); fi
  c1=$(ticks "$@"); s1=$(ticks "$stub")
  n=$(echo "$out" | awk '/requests in/ {print $1}')
  rps=$(echo "$out" | awk '/Requests\/sec/ {print $2}')
  printf "| %-16s | %9s | %8d | %8d |\n" "$name" "$rps" $(((c1 - c0) * 1000000 / hz / n)) $(((s1 - s0) * 1000000 / hz / n))
}
echo "| target | req/s | composer µs CPU/page | stub µs CPU/page |"
echo "|---|---|---|---|"
row nginx-ssi http://127.0.0.1:9300/index.html $nginx_workers
row tailor http://127.0.0.1:9200/index "$tailor"
row inlay "http://127.0.0.1:$port/bench" "$shell"
# A returning visitor sends the shell's CSRF cookie: its signed context is reused, not signed again.
HDR="Cookie: inlay_csrf=returningvisitor0123456789abcdefABCDEF" row inlay-returning "http://127.0.0.1:$port/bench" "$shell"
row inlay-cached "http://127.0.0.1:$port/bench-cached" "$shell"
row nginx-ssi-20ms http://127.0.0.1:9300/slow.html $nginx_workers
row tailor-20ms http://127.0.0.1:9200/slow "$tailor"
row inlay-20ms "http://127.0.0.1:$port/bench-20ms" "$shell"

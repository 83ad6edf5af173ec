#!/usr/bin/env bash
# Side-by-side composition benchmark: builds shelld, serves the anchors' six-fragment page from page
# template files (shell/bench/pages) with the benchmark's stub registered as the context "stub", and
# runs shell/bench/run-anchors.sh with the shell as extra targets, so nginx SSI, Tailor and Inlay are
# measured in one run on this machine. Prints one Markdown table; with BENCH_OUT=file also writes it
# there. D=seconds per target (default 10); SHELLD=path uses a prebuilt shelld. Everything it needs is
# in the repository or installed when missing (shell/bench/ensure-tools.sh: nginx, wrk, node-tailor).
# The floor targets are shell/bench/floor, the least work a composer can do (six parallel fetches,
# concatenated), on the same page in the same run: what this machine and the stub allow.
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
anchors=$root/shell/bench/run-anchors.sh
"$root/shell/bench/ensure-tools.sh"

work=$(mktemp -d)
shell_pid=""
floor_pid=""
cleanup() {
  [ -n "$shell_pid" ] && kill "$shell_pid" 2>/dev/null
  [ -n "$floor_pid" ] && kill "$floor_pid" 2>/dev/null
  wait 2>/dev/null
  rm -rf "$work"
}
trap cleanup EXIT

if [ -n "${SHELLD:-}" ]; then cp "$SHELLD" "$work/shelld"; else (cd "$root" && go build -o "$work/shelld" ./shell/cmd/shelld); fi
(cd "$root" && go build -o "$work/floor" ./shell/bench/floor)
port=${BENCH_SHELL_PORT:-18090}
floor_port=${BENCH_FLOOR_PORT:-18096}
"$work/floor" -addr 127.0.0.1:$floor_port -stub http://127.0.0.1:9100 >"$work/floor.log" 2>&1 &
floor_pid=$!
# The stub (127.0.0.1:9100) is started by run-anchors.sh; until it answers, the shell treats the team
# as having no manifest (defaults), and the periodic refresh finds its 404.
INLAY_TEAMS=stub=http://127.0.0.1:9100 \
INLAY_PAGES_DIR="$root/shell/bench/pages" \
SHELL_ADDR=127.0.0.1:$port SHELL_ADMIN_ADDR=127.0.0.1:0 \
LOG_LEVEL=warn \
GOGC=${GOGC:-400} \
INLAY_REDIS_PREFIX="bench$$:" \
INLAY_MANIFEST_REFRESH=2s \
  "$work/shelld" >"$work/shelld.log" 2>&1 &
shell_pid=$!
for _ in $(seq 1 100); do
  curl -fsS -o /dev/null "http://127.0.0.1:$port/healthz" 2>/dev/null && break
  sleep 0.1
done
curl -fsS -o /dev/null "http://127.0.0.1:$port/healthz" || { echo "shelld did not start:" >&2; cat "$work/shelld.log" >&2; exit 1; }

base=http://127.0.0.1:$port
floor=http://127.0.0.1:$floor_port
out=$("$anchors" inlay=$base/bench inlay-cached=$base/bench-cached floor=$floor/ inlay-20ms=$base/bench-20ms "floor-20ms=$floor/?delay=20")
echo "$out"
if [ -n "${BENCH_OUT:-}" ]; then
  { echo "Composition, side by side (shell/bench/run.sh, wrk -t1 -c32 -d${D:-10}s, $(nproc) cores, $(date -u +%F))"; echo; echo "$out"; } >"$BENCH_OUT"
fi

#!/usr/bin/env bash
# blueprint.sh — the storefront's pages against The Tractor Store blueprint (issue 20), interleaved.
# Both must be running: Inlay (`make run`, or any platform: INLAY=base URL) and the blueprint
# (neuland/tractor-store-blueprint at 979af49, built outside the repository with `npm install && npm run
# build`, run with `USE_LOCAL_IMAGES=true NODE_ENV=production node src/server.node.js`: BLUEPRINT=base URL).
# For each of ROUNDS (default 3) rounds and each page (product, home, category), runs
# wrk -t1 -c32 -d${D:-8}s --latency on the blueprint and on Inlay in turn, for a guest (no cookie) and a
# returning visitor (the inlay_csrf cookie of an earlier answer; the blueprint sets no cookie, so its
# "returning" run is a second guest run). Prints one line per run with the load average; run it under
# `flock /work/notes/bench.lock` (or your machine's equivalent) so no other benchmark runs beside it.
set -euo pipefail
INLAY=${INLAY:-http://127.0.0.1:8080}
BLUEPRINT=${BLUEPRINT:-http://127.0.0.1:3000}
ROUNDS=${ROUNDS:-3}
D=${D:-8}
command -v wrk >/dev/null || { echo "blueprint.sh: wrk is missing (shell/bench/ensure-tools.sh installs it)" >&2; exit 1; }
cookie=$(curl -fsS -D - -o /dev/null "$INLAY/" | awk 'tolower($1) == "set-cookie:" && $2 ~ /inlay_csrf=/ { sub(/;.*/, "", $2); print $2 }')
[ -n "$cookie" ] || { echo "blueprint.sh: $INLAY set no CSRF cookie" >&2; exit 1; }
pages=("product=/product/AU-02?sku=AU-02-BL" "home=/" "category=/products/autonomous")
for kv in "${pages[@]}"; do
	for base in "$INLAY" "$BLUEPRINT"; do
		code=$(curl -s -o /dev/null -w '%{http_code}' "$base${kv#*=}")
		[ "$code" = 200 ] || { echo "blueprint.sh: $base${kv#*=} answers $code" >&2; exit 1; }
	done
done
run() { # label url [cookie]
	local out
	if [ -n "${3:-}" ]; then out=$(wrk -t1 -c32 -d"${D}s" --latency -H "Cookie: $3" "$2"); else out=$(wrk -t1 -c32 -d"${D}s" --latency "$2"); fi
	printf "%s %-32s req/s %10s  p99 %9s  non-2xx %s  load %s\n" "$(date -u +%H:%M:%S)" "$1" \
		"$(echo "$out" | awk '/Requests\/sec/ {print $2}')" "$(echo "$out" | awk '$1 == "99%" {print $2}')" \
		"$(echo "$out" | awk '/Non-2xx/ {print $NF}' | grep . || echo 0)" "$(cut -d' ' -f1-3 /proc/loadavg)"
}
for r in $(seq 1 "$ROUNDS"); do
	for kv in "${pages[@]}"; do
		name=${kv%%=*} path=${kv#*=}
		run "round $r $name blueprint guest" "$BLUEPRINT$path"
		run "round $r $name inlay guest" "$INLAY$path"
		run "round $r $name blueprint returning" "$BLUEPRINT$path"
		run "round $r $name inlay returning" "$INLAY$path" "$cookie"
	done
done

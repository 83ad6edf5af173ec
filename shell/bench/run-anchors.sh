#!/usr/bin/env bash
# run-anchors.sh [NAME=URL ...] — the side-by-side composition benchmark: starts the stub, Tailor and
# nginx SSI (anchors.sh; ensure-tools.sh installs what is missing), runs wrk on each one's page and on
# every extra target named (for example inlay=http://127.0.0.1:8080/bench), and prints one Markdown
# table from one run. Load: wrk -t1 -c32 -d${D}s --latency. Everything shares this machine (wrk, stub,
# composer), so only ratios measured in one run mean anything. shell/bench/run.sh adds the shell.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
"$here/ensure-tools.sh"
# shellcheck source=anchors.sh
. "$here/anchors.sh"
work=$(mktemp -d)
cleanup() {
	anchors_stop
	wait 2>/dev/null || true
	rm -rf "$work"
}
trap cleanup EXIT
anchors_start "$work"

D=${D:-10}
run() { # name url
	local out rps p50 p99 bad
	out=$(wrk -t1 -c32 -d"${D}s" --latency "$2" 2>&1)
	rps=$(echo "$out" | awk '/Requests\/sec/ {print $2}')
	p50=$(echo "$out" | awk '$1=="50%" {print $2}')
	p99=$(echo "$out" | awk '$1=="99%" {print $2}')
	bad=$(echo "$out" | awk '/Non-2xx/ {print $NF}')
	printf "| %-22s | %10s | %9s | %9s | %s |\n" "$1" "$rps" "$p50" "$p99" "${bad:-0}"
}
echo "| target | req/s | p50 | p99 | non-2xx |"
echo "|---|---|---|---|---|"
run nginx-ssi http://127.0.0.1:9300/index.html
run tailor http://127.0.0.1:9200/index
for kv in "$@"; do run "${kv%%=*}" "${kv#*=}"; done
run nginx-ssi-20ms http://127.0.0.1:9300/slow.html
run tailor-20ms http://127.0.0.1:9200/slow

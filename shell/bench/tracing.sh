#!/usr/bin/env bash
# tracing.sh — what tracing costs the shell (issue 19): the anchors' six-fragment page, uncached, from
# the benchmark's stub, served by four shells that differ only in tracing: off (no OTLP endpoint), on
# with sampling 0, on with the default sampler (parent-based, 10% of new traces) and on with every
# trace sampled, exporting to shell/bench/otlpsink. wrk -t1 -c32 -d${D}s on each, ROUNDS rounds
# interleaved (default 2) so drift on a shared machine spreads over all four; one Markdown table.
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
D=${D:-10}
ROUNDS=${ROUNDS:-2}
work=$(mktemp -d)
pids=()
cleanup() {
	for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
	wait 2>/dev/null || true
	rm -rf "$work"
}
trap cleanup EXIT
(cd "$root" && go build -o "$work/" ./shell/cmd/shelld ./shell/bench/stub ./shell/bench/otlpsink)
"$work/stub" -addr 127.0.0.1:9100 >"$work/stub.log" 2>&1 &
pids+=($!)
"$work/otlpsink" -addr 127.0.0.1:18190 >"$work/sink.log" 2>&1 &
pids+=($!)
declare -A port=([off]=18191 [sampling-0]=18192 [default-10%]=18193 [sampling-1]=18194)
start() { # name env...
	local name=$1
	shift
	env "$@" INLAY_TEAMS=stub=http://127.0.0.1:9100 INLAY_PAGES_DIR="$root/shell/bench/pages" \
		SHELL_ADDR=127.0.0.1:${port[$name]} SHELL_ADMIN_ADDR=127.0.0.1:0 LOG_LEVEL=warn GOGC=${GOGC:-400} \
		INLAY_REDIS_PREFIX="benchtrace$$:" INLAY_MANIFEST_REFRESH=2s OTEL_BSP_SCHEDULE_DELAY=200 \
		"$work/shelld" >"$work/$name.log" 2>&1 &
	pids+=($!)
}
sink=OTEL_EXPORTER_OTLP_ENDPOINT=http://127.0.0.1:18190
start off
start sampling-0 $sink OTEL_TRACES_SAMPLER=parentbased_traceidratio OTEL_TRACES_SAMPLER_ARG=0
start default-10% $sink
start sampling-1 $sink OTEL_TRACES_SAMPLER=always_on
for name in off sampling-0 default-10% sampling-1; do
	for _ in $(seq 1 100); do
		curl -fsS -o /dev/null "http://127.0.0.1:${port[$name]}/bench" 2>/dev/null && break
		sleep 0.1
	done
	curl -fsS -o /dev/null "http://127.0.0.1:${port[$name]}/bench" || { echo "shell $name did not start" >&2; cat "$work/$name.log" >&2; exit 1; }
done
declare -A sum
run() { # name
	local out rps p50 p99
	out=$(wrk -t1 -c32 -d"${D}s" --latency "http://127.0.0.1:${port[$1]}/bench" 2>&1)
	rps=$(echo "$out" | awk '/Requests\/sec/ {print $2}')
	p50=$(echo "$out" | awk '$1=="50%" {print $2}')
	p99=$(echo "$out" | awk '$1=="99%" {print $2}')
	sum[$1]=$(awk -v a="${sum[$1]:-0}" -v b="$rps" 'BEGIN {print a + b}')
	printf "| %-12s | %d | %10s | %9s | %9s |\n" "$1" "$round" "$rps" "$p50" "$p99"
}
echo "| tracing | round | req/s | p50 | p99 |"
echo "|---|---|---|---|---|"
for round in $(seq 1 "$ROUNDS"); do
	for name in off sampling-0 default-10% sampling-1; do run "$name"; done
done
echo
echo "| tracing | mean req/s | vs off |"
echo "|---|---|---|"
for name in off sampling-0 default-10% sampling-1; do
	awk -v n="$name" -v s="${sum[$name]}" -v o="${sum[off]}" -v r="$ROUNDS" \
		'BEGIN {printf "| %-12s | %10.0f | %+.1f%% |\n", n, s / r, (s - o) / o * 100}'
done
echo
echo "spans exported to the sink: $(curl -fsS http://127.0.0.1:18190/spans)"

#!/usr/bin/env bash
# tracing.sh — `make bench-tracing`: what tracing costs the shell (issue 19), as the composition table
# of compose.sh measures it. The anchors' six-fragment page, uncached (/bench, every fragment fetched
# from the benchmark's stub), served by four shells that differ only in tracing:
#
#   off          no OTLP endpoint: OpenTelemetry's no-op provider
#   sampling-0   exporting, parentbased_traceidratio at 0 (every span is decided and dropped)
#   default-10%  exporting with the default sampler (parent-based, 10% of new traces)
#   sampling-1   exporting, always_on: every page's spans batched and sent over OTLP/HTTP
#
# and floor (shell/bench/floor, six pooled fetches written out) as the peer. Every sampled span goes to
# shell/bench/otlpsink, which decodes and counts them. The shells run as a deployment runs them
# (INLAY_ENV=prod with a fresh key pair, LOG_LEVEL and GOGC from deploy/k8s/base/configmap.yaml).
# Each of ROUNDS (default 3) rounds runs wrk -t1 -c32 -d${D:-8}s --latency on every target, the
# order rotated by one each round; each shell's ratio to off is computed per round and the median
# reported, beside the load average. Prints Markdown; with BENCH_OUT=file also writes it there.
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
"$root/shell/bench/ensure-tools.sh"
D=${D:-8}
ROUNDS=${ROUNDS:-3}

work=$(mktemp -d)
pids=()
cleanup() {
	local p
	for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
	wait 2>/dev/null || true
	if command -v redis-cli >/dev/null; then
		redis-cli --scan --pattern "benchtrace$$:*" | xargs -r redis-cli del >/dev/null 2>&1 || true
	fi
	rm -rf "$work"
}
trap cleanup EXIT

names=(off sampling-0 default-10% sampling-1 floor)
base=${BENCH_TRACING_PORT:-18390} # the sink's port; the shells and the floor take the next five
declare -A port=([off]=$((base + 1)) [sampling-0]=$((base + 2)) [default-10%]=$((base + 3)) [sampling-1]=$((base + 4)) [floor]=$((base + 5)))
stub_port=9100 sink_port=$base
for p in $stub_port $sink_port "${port[@]}"; do
	if (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null; then
		echo "port $p is in use (another benchmark running?)" >&2
		exit 1
	fi
done
cd "$root"
go build -o "$work/" ./shell/cmd/shelld ./shell/bench/stub ./shell/bench/floor ./shell/bench/otlpsink
go run ./scripts/keygen -tokens >"$work/keys.env"
cm=deploy/k8s/base/configmap.yaml
setting() { awk -v k="$1" '$1 == k":" { v = $2; gsub(/"/, "", v); print v }' "$cm"; }
log_level=$(setting LOG_LEVEL)
gogc=$(setting GOGC)
[ -n "$log_level" ] || { echo "no LOG_LEVEL in $cm" >&2; exit 1; }

"$work/stub" -addr 127.0.0.1:$stub_port >"$work/stub.log" 2>&1 &
pids+=($!)
"$work/otlpsink" -addr 127.0.0.1:$sink_port >"$work/sink.log" 2>&1 &
pids+=($!)
declare -A pid
"$work/floor" -addr 127.0.0.1:${port[floor]} -stub http://127.0.0.1:$stub_port >"$work/floor.log" 2>&1 &
pids+=($!)
pid[floor]=$!
start() { # name env...
	local name=$1
	shift
	(
		set -a
		# shellcheck disable=SC1091
		. "$work/keys.env"
		set +a
		if [ -n "$gogc" ]; then export GOGC=$gogc; else unset GOGC; fi
		exec env "$@" INLAY_ENV=prod LOG_LEVEL="$log_level" \
			INLAY_TEAMS=stub=http://127.0.0.1:$stub_port INLAY_PAGES_DIR="$root/shell/bench/pages" \
			SHELL_ADDR=127.0.0.1:${port[$name]} SHELL_ADMIN_ADDR=127.0.0.1:0 \
			INLAY_REDIS_PREFIX="benchtrace$$:$name:" INLAY_MANIFEST_REFRESH=2s \
			"$work/shelld" >"$work/$name.log" 2>&1
	) &
	pids+=($!)
	pid[$name]=$! # the subshell execs env, which execs shelld: the same process
}
# Batches leave within 200 ms, so a shell exports within its own wrk run (its CPU counted there).
sink=(OTEL_EXPORTER_OTLP_ENDPOINT=http://127.0.0.1:$sink_port OTEL_BSP_SCHEDULE_DELAY=200)
start off
start sampling-0 "${sink[@]}" OTEL_TRACES_SAMPLER=parentbased_traceidratio OTEL_TRACES_SAMPLER_ARG=0
start default-10% "${sink[@]}" # OTEL_TRACES_SAMPLER and _ARG unset: the default, parentbased_traceidratio 0.1
start sampling-1 "${sink[@]}" OTEL_TRACES_SAMPLER=always_on
url() { if [ "$1" = floor ]; then echo "http://127.0.0.1:${port[$1]}/"; else echo "http://127.0.0.1:${port[$1]}/bench"; fi; }
for name in "${names[@]}"; do
	for _ in $(seq 1 150); do
		curl -fsS -o /dev/null "$(url "$name")" 2>/dev/null && break
		sleep 0.1
	done
	curl -fsS -o /dev/null "$(url "$name")" || { echo "$name did not start" >&2; tail -n 20 "$work/$name.log" >&2; exit 1; }
done
# Warm-up: connections, the shells' manifests, the Go runtime's heap.
for name in "${names[@]}"; do wrk -t1 -c32 -d2s "$(url "$name")" >/dev/null; done
load_before=$(cut -d' ' -f1-3 /proc/loadavg)

# CPU time a process has used, in clock ticks (user + system).
ticks() { awk '{ print $14 + $15 }' "/proc/$1/stat"; }
hz=$(getconf CLK_TCK)
declare -A rps cpu nbad
rows=""
n=${#names[@]}
for r in $(seq 1 "$ROUNDS"); do
	for i in $(seq 0 $((n - 1))); do
		name=${names[$(((i + r - 1) % n))]}
		t0=$(ticks "${pid[$name]}")
		out=$(wrk -t1 -c32 -d"${D}s" --latency "$(url "$name")" 2>&1)
		t1=$(ticks "${pid[$name]}")
		rps[$r,$name]=$(echo "$out" | awk '/Requests\/sec/ {print $2}')
		reqs=$(echo "$out" | awk '/requests in/ {print $1}')
		# CPU per page, in microseconds: the serving process's CPU time over the requests it served.
		cpu[$r,$name]=$(awk -v d=$((t1 - t0)) -v hz="$hz" -v n="$reqs" 'BEGIN { printf "%.0f", d / hz / n * 1e6 }')
		p50=$(echo "$out" | awk '$1=="50%" {print $2}')
		p99=$(echo "$out" | awk '$1=="99%" {print $2}')
		bad=$(echo "$out" | awk '/Non-2xx/ {print $NF}')
		nbad[$r,$name]=${bad:-0}
		if [ "${bad:-0}" != 0 ]; then # say why (a breaker opened under a load spike, ...) on stderr
			echo "round $r, $name: $bad non-2xx answers; its last warnings:" >&2
			grep -v '"level":"INFO"' "$work/$name.log" | tail -n 3 >&2 || true
		fi
		rows+=$(printf "| %d | %-12s | %10s | %9s | %9s | %6s | %s | %s |" "$r" "$name" "${rps[$r,$name]}" "$p50" "$p99" "${cpu[$r,$name]}" "${bad:-0}" "$(cut -d' ' -f1 /proc/loadavg)")$'\n'
	done
done
median() { sort -g | awk '{ v[NR] = $1 } END { if (NR == 0) print "n/a"; else if (NR % 2) print v[(NR + 1) / 2]; else printf "%.3f\n", (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }
ratios() { # a b [cpu]: per-round a/b of req/s (of CPU per page with cpu), one per line; a round in
	# which either answered anything but 2xx is left out (its figures are not the page's)
	local r
	for r in $(seq 1 "$ROUNDS"); do
		if [ "${nbad[$r,$1]}" != 0 ] || [ "${nbad[$r,$2]}" != 0 ]; then continue; fi
		if [ "${3:-}" = cpu ]; then
			awk -v a="${cpu[$r,$1]}" -v b="${cpu[$r,$2]}" 'BEGIN { printf "%.3f\n", a / b }'
		else
			awk -v a="${rps[$r,$1]}" -v b="${rps[$r,$2]}" 'BEGIN { printf "%.3f\n", a / b }'
		fi
	done
}
summary=""
for name in off sampling-0 default-10% sampling-1; do
	vs_off=$(ratios "$name" off)
	vs_floor=$(ratios "$name" floor)
	med=$(echo "$vs_off" | median)
	cost=$(awk -v m="$med" 'BEGIN { if (m == "n/a") print "n/a"; else printf "%+.1f%%", (1 - m) * 100 }')
	target="(no target)"
	if [ "$name" = default-10% ]; then
		target=$(awk -v m="$med" 'BEGIN { print (m == "n/a") ? "no valid round" : (m >= 0.95) ? "throughput ≥ 95% of off: met" : "throughput ≥ 95% of off: not met" }')
	fi
	cpu_off=$(ratios "$name" off cpu)
	cpu_med=$(echo "$cpu_off" | median)
	if [ "$name" = default-10% ]; then
		target+=$(awk -v m="$cpu_med" 'BEGIN { print (m == "n/a") ? "" : (m <= 1.05) ? "; CPU per page ≤ +5%: met" : "; CPU per page ≤ +5%: not met" }')
	fi
	summary+="| $name | $(echo "$vs_off" | paste -sd' ') | $med | $cost | $(echo "$cpu_off" | paste -sd' ') | $cpu_med | $(echo "$vs_floor" | median) | $target |"$'\n'
done
spans=$(curl -fsS http://127.0.0.1:$sink_port/spans)

table=$(
	echo "Tracing's cost (shell/bench/tracing.sh, wrk -t1 -c32 -d${D}s --latency on /bench uncached, $ROUNDS rounds, order rotated each round, $(nproc) cores, $(date -u '+%F %H:%M') UTC; shells: INLAY_ENV=prod LOG_LEVEL=$log_level GOGC=${gogc:-default}; load average $load_before before, $(cut -d' ' -f1-3 /proc/loadavg) after)"
	echo
	echo "| round | target | req/s | p50 | p99 | CPU µs/page | non-2xx | load average (1 min) after |"
	echo "|---|---|--:|--:|--:|--:|--:|--:|"
	printf "%s" "$rows"
	echo
	echo "| tracing | req/s / off (per round) | median | cost | CPU per page / off (per round) | median | req/s / floor (median) | target |"
	echo "|---|---|--:|--:|---|--:|--:|---|"
	printf "%s" "$summary"
	echo
	echo "Spans exported to the sink: $spans. A round in which a target answered anything but 2xx is left out of its ratios."
)
echo "$table"
if [ -n "${BENCH_OUT:-}" ]; then echo "$table" >"$BENCH_OUT"; fi

#!/usr/bin/env bash
# tracing.sh — `make bench-tracing`: what tracing costs the shell (issue 19), as the composition table
# of compose.sh measures it. The anchors' six-fragment page, uncached (/bench, every fragment fetched
# from the benchmark's stub), served by shells that differ only in tracing:
#
#   off          no OTLP endpoint: OpenTelemetry's no-op provider (the reference)
#   off-control  a second shell exactly like off: its ratio to off is the measurement's noise floor
#   sampling-0   exporting, parentbased_traceidratio at 0 (every span is decided and dropped)
#   default-10%  exporting with the default sampler (parent-based, 10% of new traces)
#   sampling-1   exporting, always_on: every page's spans batched and sent over OTLP/HTTP
#
# and floor (shell/bench/floor, six pooled fetches written out) as the peer. Every sampled span goes to
# shell/bench/otlpsink, which decodes and counts them. The shells run as a deployment runs them
# (INLAY_ENV=prod with a fresh key pair, LOG_LEVEL and GOGC from deploy/k8s/base/configmap.yaml).
#
# Two cores are shared by the load generator, the stub, the sink and the shell under test, and by
# whatever else the machine runs, so one run of one target says little. With PIN=1 (the default on a
# machine with two or more CPUs) the shells and the floor run on CPU 0 and wrk, the stub and the sink
# on CPU 1 (taskset): the shell under test has a core to itself and what it serves is what that core
# can do. Each of ROUNDS (default 12) short rounds runs wrk -t1 -c32 -d${D:-4}s --latency on every
# target, the order rotated by one each round (with ROUNDS a multiple of the targets' count every
# target runs in every position equally often). Each target's throughput and CPU time per page are
# divided by off's of the same round; the median ratio is reported with its 95% confidence interval
# and its interquartile range, beside off-control's, so a cost is read against the noise of the same
# run, and the target is judged met only when the whole interval is within it.
# BASELINE=path/to/shelld adds "default-10%-baseline" and "sampling-1-baseline" served by that binary
# (an older build, for an old/new comparison in one run). TARGETS="off-control default-10%" runs only
# those beside off: fewer targets allow more rounds in the same time, and the median's spread shrinks
# with the square root of the rounds. Prints Markdown; with BENCH_OUT=file also writes it there.
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
"$root/shell/bench/ensure-tools.sh"
D=${D:-4}
ROUNDS=${ROUNDS:-12}
if [ -z "${PIN:-}" ]; then PIN=$(($(nproc) >= 2 ? 1 : 0)); fi
BASELINE=${BASELINE:-}

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

# Command prefixes: on the shells' core (cpu0) and on the load's (cpu1) when pinning, else nothing.
cpu0=() cpu1=()
if [ "$PIN" = 1 ]; then cpu0=(taskset -c 0) cpu1=(taskset -c 1); fi

names=(off off-control sampling-0 default-10% sampling-1)
if [ -n "$BASELINE" ]; then names+=("default-10%-baseline" "sampling-1-baseline"); fi
names+=(floor)
if [ -n "${TARGETS:-}" ]; then # a subset, in this order; off (the reference) is always run
	read -r -a names <<<"off ${TARGETS//off /}"
fi
base=${BENCH_TRACING_PORT:-18390} # the sink's port; the shells and the floor take the next ones
declare -A port
i=1
for name in "${names[@]}"; do
	port[$name]=$((base + i))
	i=$((i + 1))
done
stub_port=9100 sink_port=$base
for p in $stub_port $sink_port "${port[@]}"; do
	if (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null; then
		echo "port $p is in use (another benchmark running?)" >&2
		exit 1
	fi
done
cd "$root"
go build -o "$work/" ./shell/cmd/shelld ./shell/bench/stub ./shell/bench/floor ./shell/bench/otlpsink
if [ -n "$BASELINE" ]; then cp "$BASELINE" "$work/shelld-baseline"; fi
go run ./scripts/keygen -tokens >"$work/keys.env"
cm=deploy/k8s/base/configmap.yaml
setting() { awk -v k="$1" '$1 == k":" { v = $2; gsub(/"/, "", v); print v }' "$cm"; }
log_level=$(setting LOG_LEVEL)
gogc=$(setting GOGC)
[ -n "$log_level" ] || { echo "no LOG_LEVEL in $cm" >&2; exit 1; }

"${cpu1[@]}" "$work/stub" -addr 127.0.0.1:$stub_port >"$work/stub.log" 2>&1 &
pids+=($!)
"${cpu1[@]}" "$work/otlpsink" -addr 127.0.0.1:$sink_port >"$work/sink.log" 2>&1 &
pids+=($!)
declare -A pid
if [ -n "${port[floor]:-}" ]; then
	"${cpu0[@]}" "$work/floor" -addr 127.0.0.1:${port[floor]} -stub http://127.0.0.1:$stub_port >"$work/floor.log" 2>&1 &
	pids+=($!)
	pid[floor]=$!
fi
start() { # name binary env... (nothing when name is not a target)
	local name=$1 bin=$2
	shift 2
	[ -n "${port[$name]:-}" ] || return 0
	(
		set -a
		# shellcheck disable=SC1091
		. "$work/keys.env"
		set +a
		if [ -n "$gogc" ]; then export GOGC=$gogc; else unset GOGC; fi
		exec "${cpu0[@]}" env "$@" INLAY_ENV=prod LOG_LEVEL="$log_level" \
			INLAY_TEAMS=stub=http://127.0.0.1:$stub_port INLAY_PAGES_DIR="$root/shell/bench/pages" \
			SHELL_ADDR=127.0.0.1:${port[$name]} SHELL_ADMIN_ADDR=127.0.0.1:0 \
			INLAY_REDIS_PREFIX="benchtrace$$:$name:" INLAY_MANIFEST_REFRESH=2s \
			"$bin" >"$work/$name.log" 2>&1
	) &
	pids+=($!)
	pid[$name]=$! # the subshell execs (taskset, which execs) env, which execs shelld: the same process
}
# Batches leave within 200 ms, so a shell exports within its own wrk run (its CPU counted there).
sink=(OTEL_EXPORTER_OTLP_ENDPOINT=http://127.0.0.1:$sink_port OTEL_BSP_SCHEDULE_DELAY=200)
start off "$work/shelld"
start off-control "$work/shelld"
start sampling-0 "$work/shelld" "${sink[@]}" OTEL_TRACES_SAMPLER=parentbased_traceidratio OTEL_TRACES_SAMPLER_ARG=0
start default-10% "$work/shelld" "${sink[@]}" # OTEL_TRACES_SAMPLER and _ARG unset: the default, parentbased_traceidratio 0.1
start sampling-1 "$work/shelld" "${sink[@]}" OTEL_TRACES_SAMPLER=always_on
if [ -n "$BASELINE" ]; then
	start default-10%-baseline "$work/shelld-baseline" "${sink[@]}"
	start sampling-1-baseline "$work/shelld-baseline" "${sink[@]}" OTEL_TRACES_SAMPLER=always_on
fi
url() { if [ "$1" = floor ]; then echo "http://127.0.0.1:${port[$1]}/"; else echo "http://127.0.0.1:${port[$1]}/bench"; fi; }
for name in "${names[@]}"; do
	for _ in $(seq 1 150); do
		curl -fsS -o /dev/null "$(url "$name")" 2>/dev/null && break
		sleep 0.1
	done
	curl -fsS -o /dev/null "$(url "$name")" || { echo "$name did not start" >&2; tail -n 20 "$work/$name.log" >&2; exit 1; }
done
# Warm-up: connections, the shells' manifests, the Go runtime's heap.
for name in "${names[@]}"; do "${cpu1[@]}" wrk -t1 -c32 -d2s "$(url "$name")" >/dev/null; done
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
		out=$("${cpu1[@]}" wrk -t1 -c32 -d"${D}s" --latency "$(url "$name")" 2>&1)
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
		rows+=$(printf "| %d | %-20s | %10s | %9s | %9s | %6s | %s | %s |" "$r" "$name" "${rps[$r,$name]}" "$p50" "$p99" "${cpu[$r,$name]}" "${bad:-0}" "$(cut -d' ' -f1 /proc/loadavg)")$'\n'
	done
done
# stats: reads numbers, prints "median q1 q3 lo hi n" (quartiles by linear interpolation; lo–hi the
# median's 95% confidence interval from the order statistics, which assumes nothing of the spread's
# shape: the k-th smallest and largest, k = n/2 - 0.98√n; with fewer than 6 numbers no interval
# reaches 95%, and lo–hi are the extremes), or n/a.
stats() {
	sort -g | awk '
		function q(p,   h, lo) { h = (NR - 1) * p + 1; lo = int(h); return (lo >= NR) ? v[NR] : v[lo] + (h - lo) * (v[lo + 1] - v[lo]) }
		{ v[NR] = $1 }
		END {
			if (NR == 0) { print "n/a"; exit }
			k = int(NR / 2 - 0.98 * sqrt(NR)); if (k < 1) k = 1
			printf "%.3f %.3f %.3f %.3f %.3f %d\n", q(0.5), q(0.25), q(0.75), v[k], v[NR - k + 1], NR
		}'
}
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
# cell "median q1 q3 lo hi" [cpu]: "median (95% CI lo–hi; interquartile q1–q3)" and the cost it
# means (throughput lost, or CPU per page added).
cell() {
	awk -v s="$1" -v k="${2:-}" 'BEGIN {
		if (s == "n/a") { print "n/a | n/a"; exit }
		split(s, v, " ")
		cost = (k == "cpu") ? (v[1] - 1) * 100 : (1 - v[1]) * 100
		printf "%.3f (95%% CI %.3f–%.3f; IQR %.3f–%.3f) | %+.1f%%\n", v[1], v[4], v[5], v[2], v[3], cost
	}'
}
summary=""
declare -A thr_stats cpu_stats
for name in "${names[@]}"; do
	[ "$name" = off ] && continue
	thr_stats[$name]=$(ratios "$name" off | stats)
	cpu_stats[$name]=$(ratios "$name" off cpu | stats)
	summary+="| $name | $(cell "${thr_stats[$name]}") | $(cell "${cpu_stats[$name]}" cpu) |"$'\n'
done
# The verdict: the default's throughput cost against 5%, with its confidence interval: met when the
# whole interval is within 5%, not met when the whole interval is beyond, else not shown either way.
verdict=$(awk -v d="${thr_stats[default-10%]:-n/a}" -v dc="${cpu_stats[default-10%]:-n/a}" -v c="${thr_stats[off-control]:-n/a}" 'BEGIN {
	if (d == "n/a" || c == "n/a") { print "Target (issue 19): not judged (default-10% and off-control are both needed, with a valid round)."; exit }
	split(d, t, " "); split(dc, u, " "); split(c, k, " ")
	if (t[6] < 6) { printf "Target (issue 19): not judged, %d valid rounds (6 at least for a 95%% interval).", t[6]; exit }
	judge = (1 - t[4] <= 0.05) ? "met" : (1 - t[5] > 0.05) ? "not met" : "not shown either way: the interval spans 5%"
	printf "Target (issue 19), the default sampler costs ≤ 5%% of uncached throughput: %s — its throughput cost is %+.1f%% (95%% CI %+.1f%% to %+.1f%%), its CPU per page %+.1f%% (95%% CI %+.1f%% to %+.1f%%). ", judge, (1 - t[1]) * 100, (1 - t[5]) * 100, (1 - t[4]) * 100, (u[1] - 1) * 100, (u[4] - 1) * 100, (u[5] - 1) * 100
	printf "off-control, the same shell as off, came out at %+.1f%% (95%% CI %+.1f%% to %+.1f%%): the noise floor of this run.", (1 - k[1]) * 100, (1 - k[5]) * 100, (1 - k[4]) * 100
}')
spans=$(curl -fsS http://127.0.0.1:$sink_port/spans)
pinning="unpinned"
if [ "$PIN" = 1 ]; then pinning="shells and floor on CPU 0, wrk, stub and sink on CPU 1 (taskset)"; fi

table=$(
	echo "Tracing's cost (shell/bench/tracing.sh, wrk -t1 -c32 -d${D}s --latency on /bench uncached, $ROUNDS rounds, order rotated each round, $(nproc) cores, $pinning, $(date -u '+%F %H:%M') UTC; shells: INLAY_ENV=prod LOG_LEVEL=$log_level GOGC=${gogc:-default}; load average $load_before before, $(cut -d' ' -f1-3 /proc/loadavg) after)"
	echo
	echo "| tracing | req/s / off: median (95% CI; interquartile range) | throughput cost | CPU per page / off: median (95% CI; interquartile range) | CPU cost |"
	echo "|---|---|--:|---|--:|"
	printf "%s" "$summary"
	echo
	echo "$verdict Spans exported to the sink: $spans. Ratios are per round (a target against off in the same round); a round in which a target answered anything but 2xx is left out of its ratios."
	echo
	echo "<details><summary>Every round</summary>"
	echo
	echo "| round | target | req/s | p50 | p99 | CPU µs/page | non-2xx | load average (1 min) after |"
	echo "|---|---|--:|--:|--:|--:|--:|--:|"
	printf "%s" "$rows"
	echo
	echo "</details>"
)
echo "$table"
if [ -n "${BENCH_OUT:-}" ]; then echo "$table" >"$BENCH_OUT"; fi

#!/usr/bin/env bash
# compose.sh — `make bench-compose`: the composition table of issue 20 alone, in under 4 minutes.
# One six-fragment page (shell/bench/pages, the stub of anchors.sh) served seven ways in one run:
#
#   inlay         the shell composing it uncached (every fragment fetched; wrk sends no cookie, so
#                 every request is a new visitor with a freshly signed context)
#   inlay-returning  the same for a returning visitor (its CSRF cookie sent): the context signed once
#   inlay-cached  the shell composing the cacheable page (the stub sends public, max-age=60)
#   floor         shell/bench/floor, the least work a composer can do: six pooled fetches, written out
#   floor-contract  the same floor sending each fetch the headers of the shell's contract with the
#                 teams (Accept, X-Request-Id, a signed guest Inlay-Context): what those cost the stub
#                 that parses them and the composer that writes them, without the shell's own work
#   floor-features  the contract floor doing, the simplest way, what the platform requires of every
#                 page and fragment request (a request id, an access-log record, metrics, a CSP nonce and
#                 the security headers, a new visitor's CSRF token and cookie, Server-Timing, each
#                 fetch's deadline, a breaker and the answer's check): their price alone, whatever
#                 composes the page
#   static        nginx serving the composed page (the shell's answer, saved once) as a static file
#   static-go     shell/bench/floor -static: fasthttp answering with the same saved page from memory,
#                 the least work a Go server can do for it (the cached page's floor in Go)
#
# The shell runs as a deployment runs it: INLAY_ENV=prod with a fresh key pair, and LOG_LEVEL and GOGC
# as deploy/k8s/base/configmap.yaml sets them (the Go default when it sets no GOGC), tracing off.
# Each of ROUNDS (default 3) interleaved rounds runs wrk -t1 -c32 -d${D:-8}s --latency on each target
# in turn, each round starting one target later (the order rotates); the ratios inlay/floor and
# inlay-cached/static are computed per round and their median is reported, beside the load average and
# each run's CPU time per page of its server and (for the composed rows) of the stub, read from /proc:
# it tells the shell's own cost from the machine's drift (the floor's CPU per page moving between rounds
# moves the ratio too). Prints Markdown; with BENCH_OUT=file also writes it there.
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
"$root/shell/bench/ensure-tools.sh"
export PATH=$PATH:/usr/sbin:/sbin # nginx is in /usr/sbin
D=${D:-8}
ROUNDS=${ROUNDS:-3}

work=$(mktemp -d)
chmod 755 "$work" # nginx's workers (user nobody) read the page from it
pids=()
cleanup() {
	local p
	for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
	if [ -s "$work/nginx.pid" ]; then kill "$(cat "$work/nginx.pid")" 2>/dev/null || true; fi
	wait 2>/dev/null || true
	# The shell's fragment cache in Redis, under this run's prefix.
	if command -v redis-cli >/dev/null; then
		redis-cli --scan --pattern "benchcompose$$:*" | xargs -r redis-cli del >/dev/null 2>&1 || true
	fi
	rm -rf "$work"
}
trap cleanup EXIT

stub_port=9100 shell_port=${BENCH_SHELL_PORT:-18092} floor_port=${BENCH_FLOOR_PORT:-18097} static_port=${BENCH_STATIC_PORT:-18098}
static_go_port=${BENCH_STATIC_GO_PORT:-18099} floor_contract_port=${BENCH_FLOOR_CONTRACT_PORT:-18096}
floor_features_port=${BENCH_FLOOR_FEATURES_PORT:-18095}
for port in $stub_port $shell_port $floor_port $floor_contract_port $floor_features_port $static_port $static_go_port; do
	if (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
		echo "port $port is in use (another benchmark running?)" >&2
		exit 1
	fi
done
cd "$root"
if [ -n "${SHELLD:-}" ]; then cp "$SHELLD" "$work/shelld"; else go build -o "$work/shelld" ./shell/cmd/shelld; fi
go build -o "$work/floor" ./shell/bench/floor
go build -o "$work/stub" ./shell/bench/stub
go run ./scripts/keygen -tokens >"$work/keys.env"

# The deployment's settings for every process (deploy/k8s/base/configmap.yaml).
cm=deploy/k8s/base/configmap.yaml
setting() { awk -v k="$1" '$1 == k":" { v = $2; gsub(/"/, "", v); print v }' "$cm"; }
log_level=$(setting LOG_LEVEL)
gogc=$(setting GOGC)
[ -n "$log_level" ] || { echo "no LOG_LEVEL in $cm" >&2; exit 1; }

"$work/stub" -addr 127.0.0.1:$stub_port >"$work/stub.log" 2>&1 &
stub_pid=$!
pids+=($stub_pid)
"$work/floor" -addr 127.0.0.1:$floor_port -stub http://127.0.0.1:$stub_port >"$work/floor.log" 2>&1 &
floor_pid=$!
pids+=($floor_pid)
"$work/floor" -contract -addr 127.0.0.1:$floor_contract_port -stub http://127.0.0.1:$stub_port >"$work/floor-contract.log" 2>&1 &
floor_contract_pid=$!
pids+=($floor_contract_pid)
"$work/floor" -features -addr 127.0.0.1:$floor_features_port -stub http://127.0.0.1:$stub_port >"$work/floor-features.log" 2>&1 &
floor_features_pid=$!
pids+=($floor_features_pid)
(
	set -a
	# shellcheck disable=SC1091
	. "$work/keys.env"
	set +a
	if [ -n "$gogc" ]; then export GOGC=$gogc; else unset GOGC; fi
	INLAY_ENV=prod LOG_LEVEL=$log_level \
		INLAY_TEAMS=stub=http://127.0.0.1:$stub_port \
		INLAY_PAGES_DIR="$root/shell/bench/pages" \
		SHELL_ADDR=127.0.0.1:$shell_port SHELL_ADMIN_ADDR=127.0.0.1:0 \
		INLAY_REDIS_PREFIX="benchcompose$$:" \
		INLAY_MANIFEST_REFRESH=2s \
		exec "$work/shelld" >"$work/shelld.log" 2>&1
) &
shell_pid=$!
pids+=($shell_pid)
wait_for() {
	local _
	for _ in $(seq 1 150); do
		curl -fsS -o /dev/null "$1" 2>/dev/null && return 0
		sleep 0.1
	done
	echo "$1 does not answer:" >&2
	tail -n 20 "$work"/*.log >&2
	exit 1
}
wait_for http://127.0.0.1:$stub_port/f/probe
wait_for http://127.0.0.1:$floor_port/
wait_for http://127.0.0.1:$floor_contract_port/
wait_for http://127.0.0.1:$floor_features_port/
wait_for http://127.0.0.1:$shell_port/bench-cached

# static: the page as the shell composes it, saved once, served by nginx as a file.
mkdir -p "$work/html" "$work/tmp"
curl -fsS -o "$work/html/page.html" http://127.0.0.1:$shell_port/bench-cached
chmod 644 "$work/html/page.html"
cat >"$work/nginx.conf" <<NGINX
worker_processes 2;
pid $work/nginx.pid;
error_log $work/error.log warn;
events { worker_connections 4096; }
http {
  access_log off;
  sendfile on;
  tcp_nopush on;
  open_file_cache max=16;
  default_type text/html;
  client_body_temp_path $work/tmp/body;
  proxy_temp_path $work/tmp/proxy;
  fastcgi_temp_path $work/tmp/fastcgi;
  uwsgi_temp_path $work/tmp/uwsgi;
  scgi_temp_path $work/tmp/scgi;
  server {
    listen 127.0.0.1:$static_port;
    root $work/html;
  }
}
NGINX
nginx -p "$work" -e "$work/error.log" -c "$work/nginx.conf"
wait_for http://127.0.0.1:$static_port/page.html
"$work/floor" -addr 127.0.0.1:$static_go_port -static "$work/html/page.html" >"$work/static-go.log" 2>&1 &
static_go_pid=$!
pids+=($static_go_pid)
wait_for http://127.0.0.1:$static_go_port/

# A returning visitor sends the CSRF cookie of an earlier answer: its signed context is reused, so
# its page costs no signature (wrk sends no cookie otherwise: every "inlay" request is a new visitor).
cookie=$(curl -fsS -D - -o /dev/null http://127.0.0.1:$shell_port/bench | awk 'tolower($1) == "set-cookie:" && $2 ~ /inlay_csrf=/ { sub(/;.*/, "", $2); print $2 }')
[ -n "$cookie" ] || { echo "the shell set no CSRF cookie" >&2; exit 1; }

targets=(
	"inlay=http://127.0.0.1:$shell_port/bench"
	"inlay-returning=http://127.0.0.1:$shell_port/bench"
	"floor=http://127.0.0.1:$floor_port/"
	"floor-contract=http://127.0.0.1:$floor_contract_port/"
	"floor-features=http://127.0.0.1:$floor_features_port/"
	"inlay-cached=http://127.0.0.1:$shell_port/bench-cached"
	"static=http://127.0.0.1:$static_port/page.html"
	"static-go=http://127.0.0.1:$static_go_port/"
)
# Warm-up: connections, the shell's manifest and cache, the Go runtime's heap.
for kv in "${targets[@]}"; do wrk -t1 -c32 -d2s "${kv#*=}" >/dev/null; done
# CPU per page: the user and system time (/proc/<pid>/stat) a target's server — and, for the composed
# rows, the stub — spent during its run, divided by the pages it served. It does not count the time a
# process waited for a core, but it moves with the VM's speed like req/s does.
nginx_pids="$(cat "$work/nginx.pid") $(pgrep -P "$(cat "$work/nginx.pid")" | tr '\n' ' ')"
server_pids() { # name
	case $1 in
	inlay | inlay-returning | inlay-cached) echo "$shell_pid" ;;
	floor) echo "$floor_pid" ;;
	floor-contract) echo "$floor_contract_pid" ;;
	floor-features) echo "$floor_features_pid" ;;
	static) echo "$nginx_pids" ;;
	static-go) echo "$static_go_pid" ;;
	esac
}
ticks() { # pids...: their CPU time so far, in clock ticks
	local t=0 p a
	for p in "$@"; do
		read -r -a a <"/proc/$p/stat"
		t=$((t + a[13] + a[14]))
	done
	echo "$t"
}
hz=$(getconf CLK_TCK)
per_page() { # ticks pages: µs per page
	awk -v t="$1" -v n="$2" -v hz="$hz" 'BEGIN { if (n > 0) printf "%.0f", t * 1e6 / hz / n; else print "-" }'
}
run_wrk() { # name url
	if [ "$1" = inlay-returning ]; then
		wrk -t1 -c32 -d"${D}s" --latency -H "Cookie: $cookie" "$2" 2>&1
	else
		wrk -t1 -c32 -d"${D}s" --latency "$2" 2>&1
	fi
}

declare -A rps cpu stubcpu
rows=""
# Each round starts one target later than the round before (round 1: inlay first, round 2: inlay-returning
# first, ...): a fixed order would give every round the same neighbours — inlay always run right after
# static-go's 50,000 req/s, the floor always after inlay-returning — and any effect of a run on the next
# would bias every round the same way; rotated, it lands on a different target each round.
for r in $(seq 1 "$ROUNDS"); do
	for i in "${!targets[@]}"; do
		kv=${targets[$(((i + r - 1) % ${#targets[@]}))]}
		name=${kv%%=*}
		# shellcheck disable=SC2046 # a list of pids
		c0=$(ticks $(server_pids "$name")) s0=$(ticks "$stub_pid")
		out=$(run_wrk "$name" "${kv#*=}")
		# shellcheck disable=SC2046
		c1=$(ticks $(server_pids "$name")) s1=$(ticks "$stub_pid")
		pages=$(echo "$out" | awk '/requests in/ {print $1}')
		cpu[$r,$name]=$(per_page $((c1 - c0)) "$pages")
		stub_cpu=-
		case $name in inlay | inlay-returning | floor | floor-contract | floor-features) stub_cpu=$(per_page $((s1 - s0)) "$pages") ;; esac
		stubcpu[$r,$name]=$stub_cpu
		rps[$r,$name]=$(echo "$out" | awk '/Requests\/sec/ {print $2}')
		p50=$(echo "$out" | awk '$1=="50%" {print $2}')
		p99=$(echo "$out" | awk '$1=="99%" {print $2}')
		bad=$(echo "$out" | awk '/Non-2xx/ {print $NF}')
		rows+=$(printf "| %d | %-12s | %10s | %9s | %9s | %s | %s | %s | %s |" "$r" "$name" "${rps[$r,$name]}" "$p50" "$p99" "${bad:-0}" "${cpu[$r,$name]}" "$stub_cpu" "$(cut -d' ' -f1 /proc/loadavg)")$'\n'
	done
done
median() { sort -g | awk '{ v[NR] = $1 } END { if (NR % 2) print v[(NR + 1) / 2]; else printf "%.3f\n", (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }
ratios() { # a b: per-round a/b, one per line
	local r
	for r in $(seq 1 "$ROUNDS"); do awk -v a="${rps[$r,$1]}" -v b="${rps[$r,$2]}" 'BEGIN { printf "%.3f\n", a / b }'; done
}
uncached=$(ratios inlay floor)
contract=$(ratios inlay floor-contract)
contract_floor=$(ratios floor-contract floor)
features_floor=$(ratios floor-features floor)
features=$(ratios inlay floor-features)
returning=$(ratios inlay-returning floor)
cached=$(ratios inlay-cached static)
static_go=$(ratios static-go static)
cached_go=$(ratios inlay-cached static-go)
u_med=$(echo "$uncached" | median)
k_med=$(echo "$contract" | median)
kf_med=$(echo "$contract_floor" | median)
ff_med=$(echo "$features_floor" | median)
f_med=$(echo "$features" | median)
c_med=$(echo "$cached" | median)
sg_med=$(echo "$static_go" | median)
cg_med=$(echo "$cached_go" | median)
r_med=$(echo "$returning" | median)
cpu_ratios() { # a b: per-round CPU per page of b (server + stub) over a's: how much less a costs than b
	local r
	for r in $(seq 1 "$ROUNDS"); do
		awk -v a="${cpu[$r,$1]}" -v as="${stubcpu[$r,$1]}" -v b="${cpu[$r,$2]}" -v bs="${stubcpu[$r,$2]}" \
			'BEGIN { if (a + as > 0) printf "%.3f\n", (b + bs) / (a + as); else print "-" }'
	done
}
uncached_cpu=$(cpu_ratios inlay floor)
ucpu_med=$(echo "$uncached_cpu" | median)
verdict() { awk -v v="$1" -v t="$2" 'BEGIN { print (v >= t) ? "met" : "not met" }'; }

table=$(
	echo "Composition alone (shell/bench/compose.sh, wrk -t1 -c32 -d${D}s --latency, $ROUNDS interleaved rounds, $(nproc) cores, $(date -u '+%F %H:%M') UTC; shell: INLAY_ENV=prod LOG_LEVEL=$log_level GOGC=${gogc:-default})"
	echo
	echo "| round | target | req/s | p50 | p99 | non-2xx | server µs CPU per page | stub µs CPU per page | load average (1 min) after |"
	echo "|---|---|--:|--:|--:|--:|--:|--:|--:|"
	printf "%s" "$rows"
	echo
	echo "| ratio (per round) | rounds | median | target |"
	echo "|---|---|--:|---|"
	echo "| inlay / floor (uncached) | $(echo "$uncached" | paste -sd' ') | $u_med | ≥ 0.95: $(verdict "$u_med" 0.95) |"
	echo "| CPU per page, floor / inlay (composer + stub; 1.0: the shell's page costs what the floor's does) | $(echo "$uncached_cpu" | paste -sd' ') | $ucpu_med | (no target) |"
	echo "| floor-contract / floor (the contract's headers alone: the stub parsing them, the floor writing them) | $(echo "$contract_floor" | paste -sd' ') | $kf_med | (no target) |"
	echo "| inlay / floor-contract (the shell's own work beside its contract) | $(echo "$contract" | paste -sd' ') | $k_med | (no target) |"
	echo "| floor-features / floor (what the platform requires of every page and fetch, done the simplest way: the bound on inlay / floor) | $(echo "$features_floor" | paste -sd' ') | $ff_med | (no target) |"
	echo "| inlay / floor-features (the shell's composition beside those requirements) | $(echo "$features" | paste -sd' ') | $f_med | (no target) |"
	echo "| inlay-returning / floor (uncached, no signature: the visitor's context was signed before) | $(echo "$returning" | paste -sd' ') | $r_med | (no target) |"
	echo "| inlay-cached / static (cacheable) | $(echo "$cached" | paste -sd' ') | $c_med | ≥ 0.9: $(verdict "$c_med" 0.9) |"
	echo "| static-go / static (the same bytes from a Go fasthttp server that does nothing else: the floor in Go) | $(echo "$static_go" | paste -sd' ') | $sg_med | (no target) |"
	echo "| inlay-cached / static-go (the shell against that floor) | $(echo "$cached_go" | paste -sd' ') | $cg_med | (no target) |"
)
echo "$table"
if [ -n "${BENCH_OUT:-}" ]; then echo "$table" >"$BENCH_OUT"; fi

# anchors.sh — sourced by run-anchors.sh and cpu.sh: starts and stops the benchmark's anchors, the
# composers Inlay is measured against, on the same page from the same stub:
#
#   stub       127.0.0.1:9100  shell/bench/stub (Go): /f/{name} and /fragments/{name}?size=&delay=&cc=
#   Tailor     127.0.0.1:9200  shell/bench/tailor: node-tailor, pages /index and /slow
#   nginx SSI  127.0.0.1:9300  shell/bench/nginx: pages /index.html and /slow.html
#
# The page has six fragments (2 KB header, 8 KB product, 1 KB availability, 1 KB add to cart, 4 KB
# recommendations, 2 KB footer); "slow" pages ask the stub for 20 ms fragments. shell/bench/pages
# holds the same pages for the shell.

bench_dir=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
bench_root=$(cd "$bench_dir/../.." && pwd)
export PATH=$PATH:/usr/sbin:/sbin # nginx is in /usr/sbin
stub_pid=""
tailor_pid=""
anchors_work=""

# anchors_start WORKDIR builds and starts the stub, Tailor and nginx, and waits until each answers.
anchors_start() {
	anchors_work=$1
	chmod 755 "$anchors_work" # nginx's workers (user nobody) read the pages from it
	local port
	for port in 9100 9200 9300; do
		if (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
			echo "port $port is in use (another benchmark running?); the anchors need 9100, 9200 and 9300" >&2
			return 1
		fi
	done
	(cd "$bench_root" && go build -o "$anchors_work/stub" ./shell/bench/stub)
	"$anchors_work/stub" -addr 127.0.0.1:9100 >"$anchors_work/stub.log" 2>&1 &
	stub_pid=$!
	(cd "$bench_dir/tailor" && exec node server.js) >"$anchors_work/tailor.log" 2>&1 &
	tailor_pid=$!
	mkdir -p "$anchors_work/html" "$anchors_work/tmp"
	cp "$bench_dir/nginx/html/"*.html "$anchors_work/html/"
	sed "s#__DIR__#$anchors_work#g" "$bench_dir/nginx/nginx.conf.in" >"$anchors_work/nginx.conf"
	nginx -p "$anchors_work" -e "$anchors_work/error.log" -c "$anchors_work/nginx.conf"
	local url
	for url in http://127.0.0.1:9100/f/probe http://127.0.0.1:9200/index http://127.0.0.1:9300/index.html; do
		for _ in $(seq 1 100); do
			curl -fsS -o /dev/null "$url" 2>/dev/null && break
			sleep 0.1
		done
		curl -fsS -o /dev/null "$url" || {
			echo "the anchors did not start ($url):" >&2
			tail -n 20 "$anchors_work/stub.log" "$anchors_work/tailor.log" "$anchors_work/error.log" >&2 2>/dev/null
			return 1
		}
	done
}

# nginx_pid is the nginx master's pid.
nginx_pid() { [ -n "$anchors_work" ] && cat "$anchors_work/nginx.pid" 2>/dev/null || true; }

# anchors_stop stops what anchors_start started.
anchors_stop() {
	[ -n "$stub_pid" ] && kill "$stub_pid" 2>/dev/null
	[ -n "$tailor_pid" ] && kill "$tailor_pid" 2>/dev/null
	local pid
	pid=$(nginx_pid)
	if [ -n "$pid" ] && kill "$pid" 2>/dev/null; then
		# nginx is no child of ours: wait until it is gone, so that the ports are free for the next run.
		for _ in $(seq 1 50); do
			kill -0 "$pid" 2>/dev/null || break
			sleep 0.1
		done
	fi
	return 0
}

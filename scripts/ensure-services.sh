#!/usr/bin/env bash
# ensure-services.sh check|start — the local stores Inlay runs against: PostgreSQL, Redis, RabbitMQ.
#
#   check  reports each store that does not answer, with the command that starts it; exits 1 if any.
#   start  starts each store that does not answer (with exactly that command) and waits until it does.
#
# On a machine where a store is not installed, both suggest running the stores in containers instead:
# docker compose -f deploy/compose.yaml --profile stores up -d (PostgreSQL, Redis and RabbitMQ alone,
# on their local ports).
#
# Addresses come from POSTGRES_URL, REDIS_URL and AMQP_URL (the variables every process reads), with the
# same local defaults.
set -euo pipefail

mode=${1:-check}
wait_seconds=${INLAY_SERVICES_WAIT:-90}

# hostport URL DEFAULT_PORT prints host:port of a URL such as postgres://user@host:port/db?x=y.
hostport() {
	local rest=${1#*://}
	rest=${rest#*@}
	rest=${rest%%/*}
	rest=${rest%%\?*}
	case $rest in
	*:*) echo "$rest" ;;
	*) echo "$rest:$2" ;;
	esac
}

# answers HOST:PORT succeeds when a TCP connection to it opens within 2 seconds.
answers() {
	local host=${1%:*} port=${1##*:}
	timeout 2 bash -c "exec 3<>/dev/tcp/$host/$port" 2>/dev/null
}

pg=$(hostport "${POSTGRES_URL:-postgres://postgres@127.0.0.1:5432/postgres}" 5432)
redis=$(hostport "${REDIS_URL:-redis://127.0.0.1:6379/0}" 6379)
amqp=$(hostport "${AMQP_URL:-amqp://guest:guest@127.0.0.1:5672/}" 5672)

compose='docker compose -f deploy/compose.yaml --profile stores up -d'

names=(PostgreSQL Redis RabbitMQ)
addrs=("$pg" "$redis" "$amqp")
starts=(
	'pg_ctlcluster --skip-systemctl-redirect $(ls /etc/postgresql) main start'
	'redis-server --daemonize yes --bind 127.0.0.1 -::1 --port 6379 --save "" --appendonly no --dir /var/lib/redis --logfile /var/log/redis/ci.log'
	'rabbitmq-server -detached'
)
# The program each start command needs: when it is missing, the store is not installed here.
programs=(pg_ctlcluster redis-server rabbitmq-server)

# installed I succeeds when store I's start command can run on this machine.
installed() {
	command -v "${programs[$1]}" >/dev/null 2>&1
}

# PostgreSQL's connection limit: the test suites run whole platforms (a dozen processes, each with a
# pool of up to 10 connections; the rolling-restart test runs two instances of two teams) and several
# test binaries at once, which PostgreSQL's default of 100 does not hold ("too many clients already").
# On a local cluster managed by pg_ctlcluster, start raises max_connections to INLAY_PG_MAX_CONNECTIONS
# (200) when it is lower, with ALTER SYSTEM and a restart of the cluster; elsewhere it only warns.
min_conns=${INLAY_PG_MAX_CONNECTIONS:-200}
pg_url=${POSTGRES_URL:-postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable}

ensure_pg_connections() {
	local have
	if ! command -v psql >/dev/null 2>&1; then
		return 0
	fi
	if ! have=$(psql "$pg_url" -XAtc 'SHOW max_connections' 2>/dev/null); then
		echo "warning: could not read PostgreSQL's max_connections at $pg" >&2
		return 0
	fi
	if ((have >= min_conns)); then
		return 0
	fi
	case ${pg%:*} in
	127.0.0.1 | localhost | ::1) ;;
	*)
		echo "warning: PostgreSQL at $pg allows $have connections; the test suites need $min_conns" >&2
		return 0
		;;
	esac
	if ! command -v pg_ctlcluster >/dev/null 2>&1; then
		echo "warning: PostgreSQL at $pg allows $have connections; the test suites need $min_conns" >&2
		return 0
	fi
	echo "PostgreSQL allows $have connections; raising max_connections to $min_conns (ALTER SYSTEM, restart)"
	psql "$pg_url" -XAtqc "ALTER SYSTEM SET max_connections = $min_conns"
	pg_ctlcluster --skip-systemctl-redirect "$(ls /etc/postgresql)" main restart
	local deadline=$((SECONDS + wait_seconds))
	until psql "$pg_url" -XAtc 'SELECT 1' >/dev/null 2>&1; do
		if ((SECONDS >= deadline)); then
			echo "PostgreSQL did not answer within ${wait_seconds}s of its restart" >&2
			exit 1
		fi
		sleep 0.5
	done
	echo "PostgreSQL answers at $pg with max_connections $(psql "$pg_url" -XAtc 'SHOW max_connections')"
}

case $mode in
check)
	missing=0
	for i in "${!names[@]}"; do
		if answers "${addrs[$i]}"; then
			continue
		fi
		if installed "$i"; then
			echo "${names[$i]} is not reachable at ${addrs[$i]}. Start it with: ${starts[$i]}" >&2
		else
			echo "${names[$i]} is not reachable at ${addrs[$i]} and not installed here (no ${programs[$i]})." >&2
		fi
		missing=1
	done
	if ((missing)); then
		echo "(or run: scripts/ensure-services.sh start; without the stores installed, run them in containers: $compose)" >&2
	fi
	exit $missing
	;;
start)
	started=()
	for i in "${!names[@]}"; do
		if answers "${addrs[$i]}"; then
			continue
		fi
		if ! installed "$i"; then
			echo "${names[$i]} is not installed here (no ${programs[$i]}); run the stores in containers: $compose" >&2
			exit 1
		fi
		echo "starting ${names[$i]}: ${starts[$i]}"
		bash -c "${starts[$i]}"
		started+=("$i")
	done
	for i in "${started[@]}"; do
		deadline=$((SECONDS + wait_seconds))
		until answers "${addrs[$i]}"; do
			if ((SECONDS >= deadline)); then
				echo "${names[$i]} did not answer at ${addrs[$i]} within ${wait_seconds}s after: ${starts[$i]}" >&2
				exit 1
			fi
			sleep 0.5
		done
		echo "${names[$i]} answers at ${addrs[$i]}"
	done
	ensure_pg_connections
	;;
*)
	echo "usage: $0 check|start" >&2
	exit 2
	;;
esac

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
	;;
*)
	echo "usage: $0 check|start" >&2
	exit 2
	;;
esac

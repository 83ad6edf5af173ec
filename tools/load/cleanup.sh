#!/usr/bin/env bash
# cleanup.sh DB_PREFIX REDIS_PREFIX EXCHANGE — remove what a platform started for a load run created
# (see BENCHMARKS.md, Load): the databases named DB_PREFIX*, the Redis keys REDIS_PREFIX*, the queues
# EXCHANGE.* and the exchange. It refuses the dev defaults (inlay_, inlay.events).
set -euo pipefail
if (($# != 3)); then
	echo "usage: $0 DB_PREFIX REDIS_PREFIX EXCHANGE" >&2
	exit 2
fi
db=$1 redis=$2 exchange=$3
if [[ $db == inlay_ || $exchange == inlay.events || -z $redis || ! $db =~ ^[a-z0-9_]+$ ]]; then
	echo "cleanup.sh: refusing to remove the dev databases, keys or exchange ($db, $redis, $exchange)" >&2
	exit 2
fi
for d in $(psql -h 127.0.0.1 -U postgres -Atc "SELECT datname FROM pg_database WHERE datname LIKE '${db}%'"); do
	psql -h 127.0.0.1 -U postgres -qc "DROP DATABASE \"$d\" WITH (FORCE)"
	echo "dropped database $d"
done
n=0
while read -r key; do
	[[ -n $key ]] || continue
	redis-cli -h 127.0.0.1 UNLINK "$key" >/dev/null
	n=$((n + 1))
done < <(redis-cli -h 127.0.0.1 --scan --pattern "${redis}*")
echo "removed $n Redis keys"
for q in $(rabbitmqctl -q list_queues --no-table-headers name | grep -F "$exchange."); do
	rabbitmqctl -q delete_queue "$q" >/dev/null
	echo "deleted queue $q"
done
rabbitmqadmin delete exchange name="$exchange" 2>/dev/null || rabbitmqctl -q eval "rabbit_exchange:delete(rabbit_misc:r(<<\"/\">>, exchange, <<\"$exchange\">>), false, <<\"cleanup\">>)." >/dev/null 2>&1 || echo "exchange $exchange left (no rabbitmqadmin)"

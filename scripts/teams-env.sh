#!/usr/bin/env bash
# teams-env.sh [Procfile] — prints INLAY_TEAMS for `make run`, read from the Procfile: every process
# whose binary is a team's service (services/<context>/cmd/<binary>) at http://127.0.0.1:<port>. So a new
# team joins the shell's and the BFFs' registry with its Procfile line alone.
set -euo pipefail

procfile=${1:-deploy/Procfile}
teams=()
while IFS= read -r line; do
	[[ $line =~ ^[[:space:]]*# || ! $line =~ ^([a-z][a-z0-9-]*):(.*)$ ]] && continue
	name=${BASH_REMATCH[1]}
	port= binary=
	for word in ${BASH_REMATCH[2]}; do
		if [[ $word =~ ^[A-Z][A-Z0-9_]*_ADDR=.*:([0-9]+)$ ]]; then
			port=${BASH_REMATCH[1]}
		elif [[ ! $word =~ = && -z $binary ]]; then
			binary=${word##*/}
		fi
	done
	if [[ -n $port && -n $binary ]] && compgen -G "services/*/cmd/$binary" >/dev/null; then
		teams+=("$name=http://127.0.0.1:$port")
	fi
done <"$procfile"
if ((${#teams[@]} == 0)); then
	echo "teams-env.sh: no team services in $procfile" >&2
	exit 1
fi
(IFS=,; echo "INLAY_TEAMS=${teams[*]}")

#!/usr/bin/env bash
# ensure-tools.sh — installs what the side-by-side benchmark runs beside the shell, when it is missing:
# Debian's nginx and wrk (and nodejs and npm) with apt-get, and node-tailor at the version pinned in
# tailor/package-lock.json with `npm ci` into tailor/node_modules (not committed).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
export PATH=$PATH:/usr/sbin:/sbin # nginx is in /usr/sbin

missing=()
command -v nginx >/dev/null || missing+=(nginx)
command -v wrk >/dev/null || missing+=(wrk)
command -v node >/dev/null || missing+=(nodejs)
command -v npm >/dev/null || missing+=(npm)
if ((${#missing[@]})); then
	sudo=()
	if ((EUID != 0)); then
		sudo=(sudo)
	fi
	echo "installing Debian's ${missing[*]} (apt-get)" >&2
	"${sudo[@]}" apt-get update -qq
	DEBIAN_FRONTEND=noninteractive "${sudo[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

# node-tailor: installed from the lock file when node_modules lacks the pinned version.
cd "$here/tailor"
want=$(node -p "require('./package-lock.json').packages['node_modules/node-tailor'].version")
have=$(node -p "require('./node_modules/node-tailor/package.json').version" 2>/dev/null || true)
if [[ $have != "$want" ]]; then
	echo "installing node-tailor $want (npm ci in shell/bench/tailor)" >&2
	npm ci --no-audit --no-fund --loglevel=error >/dev/null
fi

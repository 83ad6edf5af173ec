#!/usr/bin/env bash
# ensure-proxies.sh — installs Debian's nginx and varnish when missing: the end-to-end tests compose
# partner pages with nginx SSI and Varnish ESI from bff/embed (e2e/partner_test.go).
set -euo pipefail

missing=()
command -v nginx >/dev/null 2>&1 || [[ -x /usr/sbin/nginx ]] || missing+=(nginx)
command -v varnishd >/dev/null 2>&1 || [[ -x /usr/sbin/varnishd ]] || missing+=(varnish)
if ((${#missing[@]} == 0)); then
	exit 0
fi
sudo=()
if ((EUID != 0)); then
	sudo=(sudo)
fi
echo "installing Debian's ${missing[*]} (apt-get)"
"${sudo[@]}" apt-get update -qq
DEBIAN_FRONTEND=noninteractive "${sudo[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}"

#!/usr/bin/env bash
# ensure-chromium.sh — installs Debian's Chromium for the end-to-end tests when it is missing.
set -euo pipefail

chromium=${INLAY_CHROMIUM:-/usr/bin/chromium}
if [[ -x $chromium ]]; then
	exit 0
fi
if [[ $chromium != /usr/bin/chromium ]]; then
	echo "INLAY_CHROMIUM=$chromium is not an executable" >&2
	exit 1
fi
sudo=()
if ((EUID != 0)); then
	sudo=(sudo)
fi
echo "installing Debian's chromium (apt-get)"
"${sudo[@]}" apt-get update -qq
DEBIAN_FRONTEND=noninteractive "${sudo[@]}" apt-get install -y -qq --no-install-recommends chromium
"$chromium" --version

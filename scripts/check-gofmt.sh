#!/usr/bin/env bash
# check-gofmt.sh — fails listing every Go file that gofmt would change.
set -euo pipefail

unformatted=$(find . -name '*.go' -not -path './.git/*' -not -path './bin/*' -print0 | xargs -0 gofmt -l)
if [[ -n $unformatted ]]; then
	echo "gofmt would change these files (run gofmt -w):" >&2
	echo "$unformatted" >&2
	exit 1
fi

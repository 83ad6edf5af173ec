#!/usr/bin/env bash
# go-test.sh LOG go test ARGS...: runs `go test ARGS...` with its whole output in LOG (and on the
# terminal), and when it fails ends with a summary of what failed: every `--- FAIL` line, every test's
# own message (file_test.go:N: ...) and panics, at most 80 lines. CI shows the end of the output, and
# a failing e2e test prints the logs of a dozen processes before it: the summary keeps the reason in view.
set -uo pipefail

log=$1
shift
mkdir -p "$(dirname "$log")"
"$@" 2>&1 | tee "$log"
status=${PIPESTATUS[0]}
if [ "$status" -ne 0 ]; then
	echo
	echo "=== what failed (whole output in $log) ==="
	grep -E -e '^\s*--- FAIL' -e '^\s+[A-Za-z0-9_]+_test\.go:[0-9]+: ' -e '^panic: ' -e '^FAIL' "$log" | tail -n 80
fi
exit "$status"

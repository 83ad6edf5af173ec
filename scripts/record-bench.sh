#!/usr/bin/env bash
# record-bench.sh NAME FILE [DOC]: puts FILE (a benchmark's table) into DOC (BENCHMARKS.md) between the
# lines <!-- make-bench:NAME --> and <!-- /make-bench:NAME -->, replacing what was there, with the
# date and the machine's core count. `make bench` calls it for each table it produces, so the
# document always shows the latest run next to the analysed runs written by hand.
set -euo pipefail
name=${1:?usage: record-bench.sh NAME FILE [DOC]}
file=${2:?usage: record-bench.sh NAME FILE [DOC]}
doc=${3:-BENCHMARKS.md}
[ -s "$file" ] || { echo "record-bench: $file is empty or missing" >&2; exit 1; }
begin="<!-- make-bench:$name -->"
end="<!-- /make-bench:$name -->"
grep -qxF "$begin" "$doc" && grep -qxF "$end" "$doc" || {
  echo "record-bench: $doc has no '$begin' ... '$end' section" >&2
  exit 1
}
tmp=$(mktemp)
trap 'rm -f "$tmp"' EXIT
stamp="Latest \`make bench\`: $(date -u '+%F %H:%M') UTC, $(nproc) cores, load average $(cut -d' ' -f1-3 /proc/loadavg) at the end."
awk -v begin="$begin" -v end="$end" -v stamp="$stamp" -v file="$file" '
  $0 == begin { print; print ""; print stamp; print ""; while ((getline line < file) > 0) print line; print ""; skip = 1; next }
  $0 == end { skip = 0 }
  !skip { print }
' "$doc" >"$tmp"
cat "$tmp" >"$doc"
echo "recorded $file in $doc ($name)"

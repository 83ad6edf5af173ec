#!/usr/bin/env bash
# check-generated.sh — fails when the committed templ output (*_templ.go) is not what `templ generate`
# makes from the *.templ sources: a source changed without regenerating, a generated file edited by
# hand, or a component whose generated file was never added.
#
# It compares the tree before and after generating rather than asking git, so it gives the same answer
# in a fresh clone (where the tree is the commit) and in a checkout with work in progress. The source
# file name templ writes into its error values depends only on where templ was run from
# (`templ generate` at the root writes shell/layout/document.templ, `-path shell/layout` writes
# document.templ), so the comparison ignores that directory part. When everything is current, the
# files are left exactly as they were.
set -euo pipefail

list() {
	find . -name '*_templ.go' -not -path './.git/*' -not -path './bin/*' -not -path './.inlay/*' | sort
}

# normalized FILE prints the file with templ's FileName values reduced to their base name.
normalized() {
	sed -E 's/FileName: `([^`]*\/)?([^`\/]*)`/FileName: `\2`/g' "$1"
}

snapshot() {
	local f
	while IFS= read -r f; do
		printf '%s %s\n' "$(normalized "$f" | sha256sum | cut -d' ' -f1)" "$f"
	done < <(list)
}

backup=$(mktemp -d)
trap 'rm -rf "$backup"' EXIT
list | while IFS= read -r f; do
	mkdir -p "$backup/$(dirname "$f")"
	cp -p "$f" "$backup/$f"
done

before=$(snapshot)
go tool templ generate >/dev/null 2>&1 || go tool templ generate
after=$(snapshot)

if [[ $before != "$after" ]]; then
	echo "templ generated code is not current; run 'make generate' and commit the *_templ.go files:" >&2
	diff <(echo "$before") <(echo "$after") | sed -n 's/^[<>] [0-9a-f]* /  /p' | sort -u >&2
	exit 1
fi
# Current: put back the files as they were (templ rewrote their FileName paths).
(cd "$backup" && find . -name '*_templ.go' -print0) | while IFS= read -r -d '' f; do
	cp -p "$backup/$f" "$f"
done
if git rev-parse --git-dir >/dev/null 2>&1; then
	untracked=$(git ls-files --others --exclude-standard -- '*_templ.go')
	if [[ -n $untracked ]]; then
		echo "generated templ files that are not committed:" >&2
		echo "$untracked" >&2
		exit 1
	fi
fi
echo "templ generated code is current"

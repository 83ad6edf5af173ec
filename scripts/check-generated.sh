#!/usr/bin/env bash
# check-generated.sh — fails when the committed templ output (*_templ.go) is not what `templ generate`
# makes from the *.templ sources: a source changed without regenerating, a generated file edited by
# hand, or a component whose generated file was never added.
#
# It compares the tree before and after generating rather than asking git, so it gives the same answer
# in a fresh clone (where the tree is the commit) and in a checkout with work in progress.
set -euo pipefail

snapshot() {
	find . -name '*_templ.go' -not -path './.git/*' -not -path './bin/*' -print0 | sort -z | xargs -0 -r sha256sum
}

before=$(snapshot)
go tool templ generate >/dev/null 2>&1 || go tool templ generate
after=$(snapshot)
if [[ $before != "$after" ]]; then
	echo "templ generated code is not current; run 'make generate' and commit the *_templ.go files:" >&2
	diff <(echo "$before") <(echo "$after") | sed -n 's/^[<>] [0-9a-f]*  /  /p' | sort -u >&2
	exit 1
fi
if git rev-parse --git-dir >/dev/null 2>&1; then
	untracked=$(git ls-files --others --exclude-standard -- '*_templ.go')
	if [[ -n $untracked ]]; then
		echo "generated templ files that are not committed:" >&2
		echo "$untracked" >&2
		exit 1
	fi
fi
echo "templ generated code is current"

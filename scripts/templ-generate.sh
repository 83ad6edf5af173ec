#!/usr/bin/env bash
# templ-generate.sh [--check] — runs `go tool templ generate` over the repository.
#
# templ writes each component's source file name into its generated code, relative to where templ ran
# (`templ generate` at the root writes shell/layout/document.templ, `-path shell/layout` writes
# document.templ). A file whose only change is that name is put back as it was, so regenerating never
# churns files that are current.
#
# --check fails when the committed output (*_templ.go) is not what templ makes from the *.templ
# sources: a source changed without regenerating, a generated file edited by hand, or a component
# whose generated file was never added. It compares the tree before and after generating rather than
# asking git, so it gives the same answer in a fresh clone and in a checkout with work in progress.
set -euo pipefail

check=0
[[ ${1:-} == --check ]] && check=1

list() {
	find . -name '*_templ.go' -not -path './.git/*' -not -path './bin/*' -not -path './.inlay/*' | sort
}

# normalized FILE prints the file with templ's FileName values reduced to their base name.
normalized() {
	sed -E 's/FileName: `([^`]*\/)?([^`\/]*)`/FileName: `\2`/g' "$1"
}

backup=$(mktemp -d)
trap 'rm -rf "$backup"' EXIT
list | while IFS= read -r f; do
	mkdir -p "$backup/$(dirname "$f")"
	cp -p "$f" "$backup/$f"
done

go tool templ generate >/dev/null 2>&1 || go tool templ generate

changed=()
while IFS= read -r f; do
	if [[ -f $backup/$f ]] && cmp -s <(normalized "$backup/$f") <(normalized "$f"); then
		cp -p "$backup/$f" "$f"
	else
		changed+=("$f")
	fi
done < <(list)

if ((check)); then
	if ((${#changed[@]} > 0)); then
		echo "templ generated code is not current; run 'make generate' and commit the *_templ.go files:" >&2
		printf '  %s\n' "${changed[@]}" >&2
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
elif ((${#changed[@]} > 0)); then
	printf 'generated %s\n' "${changed[@]}"
fi

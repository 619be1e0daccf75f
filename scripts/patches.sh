#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
#
# The patch series as a git branch, and back.
#
#   scripts/patches.sh import [DIR]  pristine source + one commit per patch
#   scripts/patches.sh export [DIR]  the branch's commits back into patches/
#   scripts/patches.sh check         import, export, compare byte for byte
#
# DIR is a git tree of the pinned linux-source-6.12 (default
# $FASTSOCKET_CACHE/linux-git).  Its first commit is the pristine source,
# tagged fastsocket-base; branch "fastsocket" holds the series on top, with
# each patch's author, date and message as git am read them.  Change the
# commits with git (commit --amend, rebase -i, cherry-pick), then export.
# Documentation/development.rst has the whole workflow.
#
# Export runs git with no user or system configuration and fixed options,
# so the files do not depend on who runs it; `check` works on a tree that
# holds only the files the series touches, which takes seconds.
set -euo pipefail

top=$(cd "$(dirname "$0")/.." && pwd)
# shellcheck source=scripts/versions.sh
. "$top/scripts/versions.sh"

cache=${FASTSOCKET_CACHE:-$HOME/.cache/fastsocket}
base_tag=fastsocket-base
branch=fastsocket
# Who commits the pristine tree and the imported patches (a commit's
# author is its patch's).  See Documentation/development.rst.
FS_PATCH_AUTHOR_NAME="Fastsocket maintainers"
FS_PATCH_AUTHOR_EMAIL="maintainers@fastsocket.invalid"

die() {
	echo "error: $*" >&2
	exit 1
}

say() {
	echo ">>> $*" >&2
}

# git, independent of the caller's ~/.gitconfig and /etc/gitconfig.
pgit() {
	GIT_CONFIG_GLOBAL=/dev/null GIT_CONFIG_NOSYSTEM=1 \
		GIT_COMMITTER_NAME="$FS_PATCH_AUTHOR_NAME" \
		GIT_COMMITTER_EMAIL="$FS_PATCH_AUTHOR_EMAIL" \
		git -c core.abbrev=9 -c user.name="$FS_PATCH_AUTHOR_NAME" \
		-c user.email="$FS_PATCH_AUTHOR_EMAIL" -c am.keepcr=false \
		-c core.autocrlf=false "$@"
}

series() {
	local p
	while read -r p; do
		case "$p" in '' | '#'*) continue ;; esac
		echo "$p"
	done <"$top/patches/series"
}

# The files the series reads from the pristine tree: every file a patch
# changes, less those an earlier patch created.
touched_files() {
	local p
	for p in $(series); do cat "$top/patches/$p"; done |
		awk '/^--- \/dev\/null/ { created = 1; next }
		     /^--- a\// { name = substr($2, 3); if (!(name in made)) print name; next }
		     /^\+\+\+ b\// && created { made[substr($2, 3)] = 1; created = 0 }' |
		sort -u
}

# unpack DIR [FILE...]: the pristine source (or just FILEs of it) in DIR.
unpack() {
	local dir=$1
	shift
	[ -f "$FS_LINUX_TARBALL" ] || die "$FS_LINUX_TARBALL is missing (run scripts/bootstrap.sh)"
	local have
	have=$(dpkg-query -W -f='${Version}' linux-source-6.12 2>/dev/null || true)
	[ "$have" = "$FS_LINUX_DEB_VERSION" ] ||
		die "linux-source-6.12 is '${have:-not installed}', the pin is $FS_LINUX_DEB_VERSION"
	mkdir -p "$dir"
	if [ $# -gt 0 ]; then
		tar -xJf "$FS_LINUX_TARBALL" -C "$dir" --strip-components=1 \
			"${@/#/linux-source-6.12/}"
	else
		tar -xJf "$FS_LINUX_TARBALL" -C "$dir" --strip-components=1
	fi
}

# import DIR [FILE...]: DIR becomes a git tree at the tip of the series.
import() {
	local dir=$1 p
	shift
	[ ! -e "$dir" ] || [ -z "$(ls -A "$dir")" ] ||
		die "$dir is not empty; remove it or name another directory"
	say "unpacking linux-source-6.12 $FS_LINUX_DEB_VERSION into $dir"
	unpack "$dir" "$@"
	(
		cd "$dir"
		pgit init -q -b "$branch"
		pgit add -A -f
		GIT_AUTHOR_DATE="@0 +0000" GIT_COMMITTER_DATE="@0 +0000" \
			pgit commit -q --no-verify \
			-m "linux-source-6.12 $FS_LINUX_DEB_VERSION, as Debian ships it"
		pgit tag "$base_tag"
	)
	for p in $(series); do
		[ -f "$top/patches/$p" ] || die "patches/series names $p, which is not in patches/"
		if ! (cd "$dir" && pgit am -q --committer-date-is-author-date \
			"$top/patches/$p" >/dev/null 2>&1); then
			(cd "$dir" && pgit am --abort >/dev/null 2>&1) || true
			die "patch $p does not apply with git am"
		fi
	done
	say "$dir: branch $branch, $(series | wc -l) patches on $base_tag"
}

# export DIR OUT: format-patch of base..HEAD into OUT, with its series file.
export_to() {
	local dir=$1 out=$2 n
	(cd "$dir" && pgit rev-parse -q --verify "refs/tags/$base_tag" >/dev/null) ||
		die "$dir has no $base_tag tag: make it with 'scripts/patches.sh import $dir'"
	[ -z "$(cd "$dir" && pgit status --porcelain --untracked-files=no)" ] ||
		die "$dir has uncommitted changes; commit them first"
	n=$(cd "$dir" && pgit rev-list --count "$base_tag..HEAD")
	[ "$n" -gt 0 ] || die "$dir has no commits on $base_tag"
	mkdir -p "$out"
	(cd "$dir" && pgit format-patch -q --zero-commit --no-signature --no-renames \
		--no-base -N --numbered -o "$out" "$base_tag..HEAD" >/dev/null)
	(cd "$out" && ls -1 [0-9][0-9][0-9][0-9]-*.patch) >"$out/series"
}

cmd=${1:-}
case "$cmd" in
import)
	import "${2:-$cache/linux-git}"
	;;
export)
	dir=${2:-$cache/linux-git}
	stage=$(mktemp -d)
	trap 'rm -rf "$stage"' EXIT
	export_to "$dir" "$stage"
	rm -f "$top"/patches/[0-9][0-9][0-9][0-9]-*.patch
	cp "$stage"/*.patch "$stage/series" "$top/patches/"
	say "patches/: $(wc -l <"$stage/series") patches from $dir"
	git -C "$top" status --short -- patches/ >&2
	;;
check)
	# Round trip of the series: import into a tree of only the files it
	# touches, export, and compare with patches/.
	work=$(mktemp -d)
	trap 'rm -rf "$work"' EXIT
	# .gitattributes names the C hunk-header style (diff=cpp).
	mapfile -t files < <(echo .gitattributes; touched_files)
	import "$work/linux" "${files[@]}" 2>/dev/null
	export_to "$work/linux" "$work/out"
	if ! diff -u <(series) "$work/out/series" >&2; then
		die "the series does not round-trip: patches/series differs from the export"
	fi
	bad=0
	for p in $(series); do
		if ! cmp -s "$top/patches/$p" "$work/out/$p"; then
			diff -u "$top/patches/$p" "$work/out/$p" | head -40 >&2 || true
			bad=1
		fi
	done
	[ "$bad" = 0 ] || die "patches/ is not what 'scripts/patches.sh export' makes of it (see the diff above)"
	echo "$(series | wc -l) patches round-trip byte for byte"
	;;
*)
	echo "usage: $0 import [DIR] | export [DIR] | check" >&2
	exit 2
	;;
esac

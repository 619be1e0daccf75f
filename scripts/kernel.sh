#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
#
# The patched, pinned 6.12 kernel, built once per (version, series, config).
#
#   scripts/kernel.sh dir VARIANT    print the build directory of VARIANT
#   scripts/kernel.sh build VARIANT  build VARIANT unless the cache has it
#   scripts/kernel.sh src            unpack and patch the source; print it
#
# VARIANT is "release" or "debug" (tests/config/VARIANT.config on top of
# tests/config/base.config).  Builds live outside the tracked tree, in
# $FASTSOCKET_CACHE (default ~/.cache/fastsocket), keyed by a hash of
# everything that goes into them, so a warm run reuses them and any change
# to a patch or a fragment makes a new one.
set -euo pipefail

top=$(cd "$(dirname "$0")/.." && pwd)
# shellcheck source=scripts/versions.sh
. "$top/scripts/versions.sh"

cache=${FASTSOCKET_CACHE:-$HOME/.cache/fastsocket}
make_flags=(LLVM="$FS_LLVM")

die() {
	echo "error: $*" >&2
	exit 1
}

say() {
	echo ">>> $*" >&2
}

# Everything a patched source tree depends on: the pinned package, the
# series in order, and the patches' text.
src_key() {
	{
		echo "$FS_LINUX_DEB_VERSION"
		while read -r p; do
			case "$p" in '' | '#'*) continue ;; esac
			echo "== $p"
			cat "$top/patches/$p"
		done <"$top/patches/series"
	} | sha256sum | cut -c1-16
}

build_key() {
	local variant=$1
	{
		src_key
		cat "$top/tests/config/base.config" "$top/tests/config/$variant.config"
		echo "$FS_LLVM"
	} | sha256sum | cut -c1-16
}

src_dir() {
	echo "$cache/src-$(src_key)/linux"
}

build_dir() {
	echo "$cache/build-$1-$(build_key "$1")"
}

check_variant() {
	[ -f "$top/tests/config/$1.config" ] ||
		die "unknown kernel variant '$1' (no tests/config/$1.config)"
}

tarball_version() {
	dpkg-query -W -f='${Version}' linux-source-6.12 2>/dev/null || true
}

prepare_source() {
	local src stage have
	src=$(src_dir)
	[ -f "$src/.fastsocket-patched" ] && return 0
	mkdir -p "$cache"
	exec 8>"$cache/lock-source"
	flock 8
	[ -f "$src/.fastsocket-patched" ] && return 0

	have=$(tarball_version)
	[ "$have" = "$FS_LINUX_DEB_VERSION" ] ||
		die "linux-source-6.12 is '${have:-not installed}', the pin is $FS_LINUX_DEB_VERSION (run scripts/bootstrap.sh)"
	[ -f "$FS_LINUX_TARBALL" ] || die "$FS_LINUX_TARBALL is missing (run scripts/bootstrap.sh)"

	say "unpacking linux-source-6.12 $FS_LINUX_DEB_VERSION"
	stage=$(dirname "$src")/stage.$$
	rm -rf "$stage" "$src"
	mkdir -p "$stage"
	tar -xJf "$FS_LINUX_TARBALL" -C "$stage"
	mv "$stage/linux-source-6.12" "$src"
	rmdir "$stage"

	while read -r p; do
		case "$p" in '' | '#'*) continue ;; esac
		[ -f "$top/patches/$p" ] || die "patches/series names $p, which is not in patches/"
		if ! patch -d "$src" -p1 --batch --forward --dry-run --quiet \
			<"$top/patches/$p" >/dev/null; then
			rm -rf "$src"
			die "patch $p does not apply to linux-source-6.12 $FS_LINUX_DEB_VERSION"
		fi
		patch -d "$src" -p1 --batch --forward --quiet <"$top/patches/$p"
		say "applied $p"
	done <"$top/patches/series"
	touch "$src/.fastsocket-patched"

	# Builds against an older series are stale, and their sources with them.
	find "$cache" -maxdepth 1 -name 'src-*' ! -path "$(dirname "$src")" \
		-exec rm -rf {} + 2>/dev/null || true
}

# merge_config.sh only warns when Kconfig drops an option; a test kernel
# without RUST or the hooks is useless, so insist on every fragment line.
# A later fragment overrides an earlier one, as merge_config.sh does.
verify_config() {
	local out=$1 line opt val frag missing=0
	while IFS=$'\t' read -r frag line; do
		opt=${line%%=*}
		val=${line#*=}
		if [ "$val" = n ]; then
			if grep -q "^$opt=" "$out/.config"; then
				echo "error: $opt is still set (from $frag)" >&2
				missing=1
			fi
		elif ! grep -qx "$opt=$val" "$out/.config"; then
			echo "error: the kernel config dropped $line (from $frag)" >&2
			missing=1
		fi
	done < <(for frag in "${@:2}"; do
		sed -n "s/^\(CONFIG_[A-Za-z0-9_]*=.*\)/$(basename "$frag")\t\1/p" "$frag"
	done | awk -F'\t' '{ split($2, kv, "="); last[kv[1]] = $0; order[kv[1]] = NR }
		END { for (k in last) print order[k] "\t" last[k] }' | sort -n | cut -f2-)
	[ "$missing" = 0 ] || die "kernel config incomplete; for CONFIG_RUST, check 'make LLVM=$FS_LLVM rustavailable'"
}

# ticker_of LOG VARIANT: a line of progress every 30 s while a build writes
# LOG (a cold build is minutes of silence otherwise).
ticker_of() {
	local t0=$SECONDS
	while sleep 30 >/dev/null 2>&1; do
		say "  $2 kernel: $((SECONDS - t0)) s, $(grep -c '^  [A-Z]' "$1") steps done," \
			"now $(tail -n 1 "$1" | awk '{ print $NF }')"
	done
}

build() {
	local variant=$1 src out frags
	check_variant "$variant"
	# One build of a variant at a time; a second caller waits, then finds
	# the result in the cache.
	mkdir -p "$cache"
	exec 9>"$cache/lock-$variant"
	flock 9
	out=$(build_dir "$variant")
	if [ -f "$out/.fastsocket-built" ]; then
		say "kernel ($variant) is cached in $out"
		return 0
	fi
	prepare_source
	src=$(src_dir)

	mkdir -p "$out"
	frags=("$top/tests/config/base.config" "$top/tests/config/$variant.config")
	say "configuring the $variant kernel in $out"
	make -s -C "$src" O="$out" "${make_flags[@]}" tinyconfig >/dev/null
	"$src/scripts/kconfig/merge_config.sh" -m -O "$out" "$out/.config" \
		"${frags[@]}" >"$out/merge_config.log"
	make -s -C "$src" O="$out" "${make_flags[@]}" olddefconfig >/dev/null
	verify_config "$out" "${frags[@]}"

	make -s -C "$src" O="$out" "${make_flags[@]}" rustavailable >/dev/null ||
		die "the kernel rejects this rustc or bindgen ('make LLVM=$FS_LLVM rustavailable' in $src says why)"

	say "building the $variant kernel ($(nproc) cpus; about 10 minutes cold; log: $out/build.log)"
	local start=$SECONDS ticker rc=0
	: >"$out/build.log"
	ticker_of "$out/build.log" "$variant" &
	ticker=$!
	make -C "$src" O="$out" "${make_flags[@]}" -j"$(($(nproc) + 1))" \
		>"$out/build.log" 2>&1 || rc=$?
	kill "$ticker" 2>/dev/null
	wait "$ticker" 2>/dev/null || true
	if [ "$rc" != 0 ]; then
		grep -E 'error|Error' "$out/build.log" | head -20 >&2
		die "the $variant kernel did not build; see $out/build.log"
	fi
	touch "$out/.fastsocket-built"
	say "kernel ($variant) built in $((SECONDS - start)) s"

	# Older builds of this variant are stale now; keep the disk in check.
	find "$cache" -maxdepth 1 -name "build-$variant-*" ! -path "$out" \
		-exec rm -rf {} + 2>/dev/null || true
}

case "${1:-}" in
dir)
	check_variant "${2:-}"
	build_dir "$2"
	;;
src)
	prepare_source
	src_dir
	;;
build)
	build "${2:-}"
	;;
*)
	echo "usage: $0 {dir|build} VARIANT | $0 src" >&2
	exit 2
	;;
esac

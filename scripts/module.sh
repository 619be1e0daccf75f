#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
#
# Builds fastsocket.ko (and the test modules) against a kernel variant:
#   scripts/module.sh VARIANT
#
# The sources are staged inside that kernel's build directory, so objects
# never land in the work tree and each variant has its own.  The Rust
# module is built with CLIPPY=1; any compiler or clippy warning fails.
set -euo pipefail

top=$(cd "$(dirname "$0")/.." && pwd)
# shellcheck source=scripts/versions.sh
. "$top/scripts/versions.sh"

variant=${1:?usage: $0 VARIANT}
kdir=$("$top/scripts/kernel.sh" dir "$variant")
[ -f "$kdir/.fastsocket-built" ] || {
	echo "error: the $variant kernel is not built (make kernel-$variant)" >&2
	exit 1
}
stage=$kdir/fastsocket-module
mkdir -p "$stage"
# -c: compare contents, so unchanged files keep their mtime and make stays
# incremental.
rsync -a -c --delete --exclude='*.o' --exclude='*.ko' --exclude='.*.cmd' \
	--exclude='*.mod*' --exclude='modules.order' --exclude='Module.symvers' \
	"$top/Kbuild" "$top/rust" "$stage/"
mkdir -p "$stage/tests"
rsync -a -c "$top/tests/modules" "$stage/tests/"

log=$stage/build.log
if ! make -C "$kdir" M="$stage" LLVM="$FS_LLVM" CLIPPY=1 >"$log" 2>&1 ||
	! make -C "$kdir" M="$stage/tests/modules" LLVM="$FS_LLVM" >>"$log" 2>&1; then
	grep -E -A12 '^(error|warning)' "$log" | head -80 >&2
	echo "error: the fastsocket module did not build against the $variant kernel" >&2
	exit 1
fi
if grep -q 'warning' "$log"; then
	grep -A12 'warning' "$log" | head -80 >&2
	echo "error: the module build has warnings (see above)" >&2
	exit 1
fi
echo "$stage/rust/fastsocket.ko"

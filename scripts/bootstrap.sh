#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
#
# Installs what building and testing fastsocket needs, and nothing that is
# already there.  Run by `make run` and `make test`; safe to run again.
set -euo pipefail

top=$(cd "$(dirname "$0")/.." && pwd)
# shellcheck source=scripts/versions.sh
. "$top/scripts/versions.sh"

die() {
	echo "error: $*" >&2
	exit 1
}

say() {
	echo ">>> $*" >&2
}

# Debian packages: the LLVM toolchain the kernel's Rust build uses, kernel
# build tools, QEMU (and udev, which virtme-ng's guest init uses to find its
# I/O ports), and the programs the VM scenarios run: stock nginx and
# haproxy, wrk to load them, and a C compiler for the test programs; jq
# and gnuplot for the benchmark's results and plots.
packages=(
	"linux-source-6.12=$FS_LINUX_DEB_VERSION"
	clang-19 lld-19 llvm-19 libclang-19-dev
	flex bison bc cpio libelf-dev libssl-dev kmod rsync
	qemu-system-x86 busybox-static udev
	iproute2 procps lsof psmisc
	nginx haproxy wrk gcc libc6-dev
	jq gnuplot-nox
)

missing=()
for p in "${packages[@]}"; do
	name=${p%%=*}
	want=${p#*=}
	have=$(dpkg-query -W -f='${db:Status-Abbrev}${Version}' "$name" 2>/dev/null || true)
	case "$have" in
	ii\ *) [ "$want" = "$p" ] || [ "${have#ii }" = "$want" ] || missing+=("$p") ;;
	*) missing+=("$p") ;;
	esac
done
if [ ${#missing[@]} -gt 0 ]; then
	[ "$(id -u)" = 0 ] || die "missing Debian packages (${missing[*]}); run this as root"
	say "installing Debian packages: ${missing[*]}"
	apt-get update -qq || die "apt-get update failed"
	if ! DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --allow-downgrades \
		"${missing[@]}" >/tmp/fastsocket-apt.log 2>&1; then
		tail -5 /tmp/fastsocket-apt.log >&2
		die "could not install: ${missing[*]} (see /tmp/fastsocket-apt.log)"
	fi
fi

command -v cargo >/dev/null || die "cargo is missing: install a Rust toolchain with rustup"

# bindgen, pinned: the kernel checks its version against libclang's.
if [ "$(bindgen --version 2>/dev/null | awk '{print $2}')" != "$FS_BINDGEN_VERSION" ]; then
	say "installing bindgen-cli $FS_BINDGEN_VERSION from crates.io"
	cargo install --locked --quiet "bindgen-cli@$FS_BINDGEN_VERSION" ||
		die "could not install bindgen-cli $FS_BINDGEN_VERSION"
fi

# The kernel builds its own `core` and `alloc` from the Rust sources.
sysroot=$(rustc --print sysroot)
if [ ! -d "$sysroot/lib/rustlib/src/rust/library/core" ]; then
	say "installing the rust-src component"
	rustup component add rust-src || die "could not install rust-src"
fi
for c in clippy-driver rustfmt; do
	if ! "$c" --version >/dev/null 2>&1; then
		say "installing the ${c%-driver} component"
		rustup component add "${c%-driver}" || die "could not install ${c%-driver}"
	fi
done

# virtme-ng boots the test kernel with the host's root file system.
if [ "$(vng --version 2>/dev/null | awk '{print $2}')" != "$FS_VIRTME_NG_VERSION" ]; then
	say "installing virtme-ng $FS_VIRTME_NG_VERSION from PyPI"
	python3 -m pip install --quiet "virtme-ng==$FS_VIRTME_NG_VERSION" ||
		die "could not install virtme-ng $FS_VIRTME_NG_VERSION"
fi
exit 0

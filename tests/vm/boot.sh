#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
#
# Boots a built kernel under QEMU (TCG) with virtme-ng and runs one command
# in it, as root, on the host's root file system (read-only; OUTDIR is
# shared read-write).  The console goes to stdout.
#
#   tests/vm/boot.sh KERNEL_BUILD_DIR CPUS OUTDIR COMMAND
#
# virtme-ng is what kernel developers use to test a kernel tree: the host's
# programs (nginx, wrk, ss, lsof, our tools) run in the guest unchanged.
# KVM is not used: guests hang at boot on these machines (see README).
# Under TCG virtme-ng cannot pass the command's exit status back, so the
# command leaves its results in OUTDIR.
set -euo pipefail

kdir=$1
cpus=$2
out=$3
cmd=$4

[ -f "$kdir/arch/x86/boot/bzImage" ] || {
	echo "error: no kernel image in $kdir" >&2
	exit 1
}
mem=2G
# KASAN's shadow memory and lockdep's tables want room as cpus grow.
[ "$cpus" -gt 2 ] && mem=3G

exec vng --run "$kdir" --disable-kvm --cpus "$cpus" --memory "$mem" \
	--verbose --rwdir "$out" \
	--append "panic_on_warn=0 oops=panic panic=-1 softlockup_panic=0" \
	-- "$cmd" </dev/null

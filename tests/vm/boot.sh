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
# The command's exit status comes back as ours (virtme-ng needs the host's
# udev for that), but scenarios leave their results in OUTDIR anyway, so
# that a guest that dies still leaves what it did.
#
# TCG runs single-threaded by default: with multi-threaded TCG, guests of
# this QEMU now and then execute a stale int3 after the kernel patched a
# jump label (an "Oops: int3" at boot or when a static key flips), which
# would fail runs for the emulator's sake.  FASTSOCKET_TCG_THREAD=multi
# restores it.
#
# FASTSOCKET_ICOUNT=SHIFT (single-threaded TCG only) runs the guest's
# clock on instructions executed, one every 2^SHIFT ns, rather than on the
# host's time: the benchmark's clock for figures that the host's own
# speed, which varies by tens of percent from second to second on a shared
# machine, must not move.  sleep=on: an idle guest waits in host time (with
# sleep=off its clock would race ahead while it waits for the host's
# files, and its timeouts would fire early).
#
# FASTSOCKET_QEMU_PLUGIN=PLUGIN.so[,ARG=VALUE...] loads a TCG plugin, the
# cache-coherence model (Documentation/coherence.rst), and boots the guest
# with nokaslr, so that the kernel's System.map names its addresses.
set -euo pipefail

kdir=$1
cpus=$2
out=$3
cmd=$4

[ -f "$kdir/arch/x86/boot/bzImage" ] || {
	echo "error: no kernel image in $kdir" >&2
	exit 1
}
# virtme-ng lays a tmpfs overlay over the guest's /tmp: a shared directory
# there is hidden from the guest.
case $(realpath -m "$out") in
/tmp | /tmp/*)
	echo "error: the results directory $out must not be under /tmp" >&2
	exit 1
	;;
esac
accel="-accel tcg,thread=${FASTSOCKET_TCG_THREAD:-single}"
[ -z "${FASTSOCKET_ICOUNT:-}" ] || accel="$accel -icount shift=$FASTSOCKET_ICOUNT,sleep=on"
# no5lvl: QEMU's "max" cpu has LA57, and with 5-level paging an interrupt
# that lands between identify_cpu()'s clearing of the boot cpu's feature
# bits and get_cpu_cap() makes KASAN see LA57 off, so an irq descriptor in
# the 5-level direct map looks like a wild address ("BUG: KASAN:
# wild-memory-access in do_raw_spin_trylock" at 0.005 s, seen in 1 boot of
# 6).  That race is the kernel's and the emulator's timing, not ours; with
# 4-level paging, as on most servers, it cannot happen.
append="oops=panic panic=-1 no5lvl"
if [ -n "${FASTSOCKET_QEMU_PLUGIN:-}" ]; then
	accel="$accel -plugin $FASTSOCKET_QEMU_PLUGIN"
	append="$append nokaslr"
fi
mem=2G
# KASAN's shadow memory and lockdep's tables want room as cpus grow; 4G
# from make bench's 8 vCPUs on is a margin for the per-cpu caches, not a
# measured need.
[ "$cpus" -gt 2 ] && mem=3G
[ "$cpus" -gt 4 ] && mem=4G

exec vng --run "$kdir" --disable-kvm --cpus "$cpus" --memory "$mem" \
	--verbose --rwdir "$out" \
	--qemu-opts="$accel" \
	--append "$append" \
	-- "$cmd" </dev/null

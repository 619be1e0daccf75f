#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
#
# Runs inside the VM (as root, on the host's file system, through
# virtme-ng).  For each scenario named on the command line it runs
# tests/vm/scenarios/NAME.sh and leaves in OUT:
#   NAME.log    what the scenario printed
#   NAME.kv     its figures, one "key value" per line
#   NAME.dmesg  the kernel log of the scenario alone
#   NAME.result "ok", "skip REASON" or "fail REASON"
# A scenario skips as kselftest's do: it exits with status 4 (KSFT_SKIP)
# after printing "SKIP: REASON" last (lib.sh's skip does both); an exit
# status of 4 without that line is a failure like any other.
# The host (tests/run_tests.py) turns these into KTAP.  OUT/env.sh, written
# by the host, exports the paths of the built module and tools.
#
#   guest.sh OUT SCENARIO_TIMEOUT SCENARIO...
set -u

out=$1
limit=$2
shift 2
here=$(cd "$(dirname "$0")" && pwd)

# shellcheck source=/dev/null
. "$out/env.sh"
export PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin:$PATH

echo "@@fastsocket guest: $(nproc) cpus, kernel $(uname -r)"
: >"$out/guest.started"

for name in "$@"; do
	export FS_KV="$out/$name.kv"
	# Names a scenario's network namespaces and the like.
	export FS_SCENARIO=$name
	: >"$FS_KV"
	dmesg -C
	echo "@@fastsocket begin $name"
	start=$(date +%s)
	timeout -k 5 "$limit" bash "$here/scenarios/$name.sh" >"$out/$name.log" 2>&1
	rc=$?
	echo "seconds $(($(date +%s) - start))" >>"$FS_KV"
	# Let a report printed by a softirq or an RCU callback reach the log.
	sleep 1
	dmesg >"$out/$name.dmesg"
	case $rc in
	0) echo ok >"$out/$name.result" ;;
	124 | 137) echo "fail timed out after $limit s" >"$out/$name.result" ;;
	*)
		last=$(tail -n 1 "$out/$name.log")
		if [ "$rc" = 4 ] && [ "${last#SKIP: }" != "$last" ]; then
			echo "skip ${last#SKIP: }" >"$out/$name.result"
		else
			echo "fail $(grep -m1 '^FAIL:' "$out/$name.log" || echo "exit status $rc")" \
				>"$out/$name.result"
		fi
		;;
	esac
	echo "@@fastsocket end $name $(cat "$out/$name.result")"
	# A module a failed scenario left loaded must not spoil the next one.
	rmmod fastsocket 2>/dev/null
	rmmod fs_dup_register 2>/dev/null
done
: >"$out/guest.finished"
echo "@@fastsocket guest finished"

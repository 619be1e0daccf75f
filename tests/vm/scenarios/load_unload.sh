# SPDX-License-Identifier: GPL-2.0
# The module loads and unloads FS_LOAD_UNLOAD_ROUNDS times (100 unless the
# tier says otherwise); each time its file appears and goes, and it says
# its version.
. "$FS_TOP/tests/vm/lib.sh"

rounds=${FS_LOAD_UNLOAD_ROUNDS:-100}
for i in $(seq "$rounds"); do
	load
	[ -r "$FS_PROC" ] || fail "round $i: $FS_PROC missing after insmod"
	proc_total syn_local >/dev/null
	[ -c /dev/fastsocket ] || fail "round $i: /dev/fastsocket missing after insmod"
	[ -d /proc/sys/net/fastsocket ] || fail "round $i: no sysctls after insmod"
	unload
	[ ! -e "$FS_PROC" ] || fail "round $i: $FS_PROC left after rmmod"
	[ ! -e /dev/fastsocket ] || fail "round $i: /dev/fastsocket left after rmmod"
done
loaded=$(dmesg | grep -c 'fastsocket [0-9.]* loaded' || true)
[ "$loaded" = "$rounds" ] || fail "the module said it loaded $loaded times, not $rounds"
kv rounds "$rounds"

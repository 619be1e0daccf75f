# SPDX-License-Identifier: GPL-2.0
# One registrant at a time: a second one is refused with EBUSY and the
# first keeps working; loading fastsocket twice is refused with EEXIST.
. "$FS_TOP/tests/vm/lib.sh"

load
if insmod "$FS_MODULE" 2>/tmp/err; then fail "a second insmod of fastsocket succeeded"; fi
grep -q 'File exists' /tmp/err || fail "second insmod: $(cat /tmp/err), not EEXIST"
kv twice "EEXIST"

if insmod "$FS_DUP_MODULE" 2>/tmp/err; then fail "a competing registration succeeded"; fi
grep -q 'busy' /tmp/err || fail "competing registration: $(cat /tmp/err), not EBUSY"
kv competing "EBUSY"

# The first registration still works: its hook still counts.
before=$(proc_total lookup_ipv4)
start_server 127.0.0.1:0 1
"$FS_BENCH" client --connect "$SERVER_ADDR" --connections 100 --threads 1 >/dev/null ||
	fail "connections failed after the refused registration"
stop_server
after=$(proc_total lookup_ipv4)
[ $((after - before)) -ge 100 ] || fail "the hook stopped counting ($before -> $after)"
unload

# The other way round: fastsocket's init fails cleanly while another
# module holds the hooks, and loads once it is gone.
insmod "$FS_DUP_MODULE" || fail "the test registrant could not load alone"
if insmod "$FS_MODULE" 2>/tmp/err; then fail "fastsocket loaded while the hooks were taken"; fi
grep -q 'busy' /tmp/err || fail "fastsocket over a registrant: $(cat /tmp/err), not EBUSY"
[ ! -e "$FS_PROC" ] || fail "a failed init left $FS_PROC behind"
rmmod fs_dup_register
load
[ -r "$FS_PROC" ] || fail "$FS_PROC missing after the retry"
unload
kv refused_init "EBUSY"

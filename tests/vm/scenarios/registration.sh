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

# The first registration still works: its hooks still count.
before=$(($(proc_total syn_local) + $(proc_total syn_global)))
fs_server --listen 127.0.0.1:0 --workers 1 --local-listen
fs_client "$SERVER_ADDR" 100 /tmp/reg.json --threads 1
fs_server_stop /tmp/reg-server.json
after=$(($(proc_total syn_local) + $(proc_total syn_global)))
[ $((after - before)) -ge 100 ] || fail "the hooks stopped counting ($before -> $after)"
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

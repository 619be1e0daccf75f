# SPDX-License-Identifier: GPL-2.0
# The sysctl auto mode: an unmodified server (no ioctl) gets local listen;
# switching the feature off under load moves every queued connection back
# and loses none.
. "$FS_TOP/tests/vm/lib.sh"

n=${FS_AUTO_CONNS:-600}
cpus=$(nproc)
load
fs_sysctl listen_auto 1
fs_server --listen 127.0.0.1:0 --workers "$cpus" --pin --mode process
fs_client "$SERVER_ADDR" "$n" /tmp/auto.json --threads "$cpus" --pin
syn_local=$(proc_total syn_local)
accept_local=$(proc_total accept_local)
# Off and on again while connections arrive.
"$FS_BENCH" client --connect "$SERVER_ADDR" --connections "$n" --threads "$cpus" --pin \
	--timeout 10 --json >/tmp/toggle.json &
client=$!
TOGGLES=0
toggle_listen_while "$client"
rc=0
wait "$client" || rc=$?
fs_server_stop /tmp/auto.server.json
fs_sysctl listen_auto 0
cat "$FS_PROC"
unload

kv syn_local "$syn_local"
kv accept_local "$accept_local"
kv locality "$(json_field /tmp/auto.server.json fraction)"
kv toggles "$TOGGLES"
[ "$rc" = 0 ] && [ "$(json_field /tmp/toggle.json completed)" = "$n" ] ||
	fail "connections lost while the feature was switched: $(cat /tmp/toggle.json)"
[ "$syn_local" -ge $((n * 9 / 10)) ] || fail "auto mode: only $syn_local of $n SYNs local"
[ "$accept_local" -ge $((n * 9 / 10)) ] || fail "auto mode: only $accept_local of $n accepts local"

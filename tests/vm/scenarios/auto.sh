# SPDX-License-Identifier: GPL-2.0
# The sysctl auto mode: an unmodified server (no ioctl) gets local listen;
# switching the feature off under load moves every queued connection back
# and loses none.  The mode's static key (listen() calls into the module
# only while it is on) follows the settings, also when writers race.
. "$FS_TOP/tests/vm/lib.sh"

n=${FS_AUTO_CONNS:-600}
cpus=$(nproc)

# probe_listener: a fresh pinned server takes 50 connections; sets
# PROBE_LOCAL to the connections that waited on their cpu's accept queue
# meanwhile (only an enabled listener has such queues, and its workers are
# pinned, so that they use them).
probe_listener() {
	local before
	before=$(proc_total syn_local)
	fs_server --listen 127.0.0.1:0 --workers "$cpus" --pin --mode process
	fs_client "$SERVER_ADDR" 50 /tmp/auto.probe.json --threads "$cpus" --pin
	fs_server_stop /tmp/auto.probe.server.json
	PROBE_LOCAL=$(($(proc_total syn_local) - before))
}

# flip SETTING: 200 writes of 0 and 1 alternately, then 1.
flip() {
	local i
	for i in $(seq 200); do
		echo $((i % 2)) >"/proc/sys/net/fastsocket/$1" || exit 1
	done
	echo 1 >"/proc/sys/net/fastsocket/$1"
}

load
# Loaded, the mode off: listen() leaves new listeners alone.
probe_listener
[ "$PROBE_LOCAL" = 0 ] || fail "listen_auto=0: a new listener took $PROBE_LOCAL SYNs locally"
# Two writers race, one on listen_auto and one on listen, and leave both
# on: the key must end on, and new listeners enabled.
flip listen_auto &
a=$!
flip listen &
b=$!
if ! wait "$a" || ! wait "$b"; then
	fail "a writer of listen_auto or listen failed"
fi
probe_listener
[ "$PROBE_LOCAL" -gt 0 ] || fail "listen_auto=1 after racing writers: no SYN taken locally"
kv raced_local_syns "$PROBE_LOCAL"
fs_sysctl listen_auto 0
probe_listener
[ "$PROBE_LOCAL" = 0 ] || fail "listen_auto=0 again: a new listener took $PROBE_LOCAL SYNs locally"

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

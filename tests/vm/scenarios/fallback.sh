# SPDX-License-Identifier: GPL-2.0
# A dead worker never loses connections: with a worker process pinned per
# cpu and local listen on, the worker of the last cpu is killed while
# clients on every cpu connect.  Its cpu's queued connections move to the
# listener and complete; the one connection the worker itself was serving
# when it died is reset with it, as on stock Linux, and is the only one
# allowed to fail.  Then unpinned workers and clients: every connection
# completes, and none waits on a cpu's accept queue (only workers pinned to
# a cpu use its queue; unpinned ones share the listener's, as on stock).
. "$FS_TOP/tests/vm/lib.sh"

n=${FS_FALLBACK_CONNS:-1500}
cpus=$(nproc)
# One worker per cpu; on one cpu two, so that one survives.
workers=$((cpus < 2 ? 2 : cpus))
load
fs_sysctl listen_idle_ms 100
fs_server --listen 127.0.0.1:0 --workers "$workers" --pin --mode process --local-listen
"$FS_BENCH" client --connect "$SERVER_ADDR" --connections "$n" --threads "$cpus" --pin \
	--timeout 10 --json >/tmp/fallback.json &
client=$!
sleep 2
# The worker pinned on the last cpu: a child of the server.
victim=
for p in $(pgrep -P "$SERVER_PID"); do
	if [ "$(taskset -pc "$p" | awk '{ print $NF }')" = "$((cpus - 1))" ]; then
		victim=$p
		break
	fi
done
[ -n "$victim" ] || fail "no worker pinned on cpu $((cpus - 1))"
kill -9 "$victim"
rc=0
wait "$client" || rc=$?
fs_server_stop /tmp/fallback.server.json

# Unpinned workers and clients: the scheduler moves them, locality may be
# lost, connections never.
unpinned_local=$(proc_total syn_local)
fs_server --listen 127.0.0.1:0 --workers "$workers" --mode thread --local-listen
fs_client "$SERVER_ADDR" "$n" /tmp/unpinned.json --threads "$cpus" --timeout 10
fs_server_stop /tmp/unpinned.server.json
unpinned_local=$(($(proc_total syn_local) - unpinned_local))
kv unpinned_completed "$(json_field /tmp/unpinned.json completed)"
kv unpinned_locality "$(json_field /tmp/unpinned.server.json fraction)"
kv unpinned_syn_local "$unpinned_local"
moved=$(proc_total moved)
syn_global=$(proc_total syn_global)
cat "$FS_PROC"
unload

kv completed "$(json_field /tmp/fallback.json completed)"
kv failed "$(json_field /tmp/fallback.json failed)"
kv moved "$moved"
kv syn_global "$syn_global"
kv workers_alive "$(json_field /tmp/fallback.server.json workers_alive)"
completed=$(json_field /tmp/fallback.json completed)
[ "$completed" -ge $((n - 1)) ] ||
	fail "only $completed of $n connections completed after the worker died (client status $rc): $(cat /tmp/fallback.json)"
if [ "$cpus" -gt 1 ]; then
	# The dead worker's cpu kept getting connections: those queued there
	# before its queue fell idle moved to the shared queue, the later
	# ones went there directly.
	[ $((moved + syn_global)) -gt 0 ] || fail "nothing fell back after the worker died"
	# With more than one cpu nothing of the unpinned run is pinned (with
	# one, every task is).
	[ "$unpinned_local" = 0 ] ||
		fail "unpinned workers: $unpinned_local connections waited on a cpu's accept queue"
fi

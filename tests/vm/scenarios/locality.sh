# SPDX-License-Identifier: GPL-2.0
# Locality: one worker pinned per cpu (processes, threads blocking in
# accept(), threads in epoll with EPOLLEXCLUSIVE), clients
# pinned on every cpu.  A connection is local when the cpu that processed
# its packets, the cpu that accepted it and the cpu its worker ran on
# agree.  The same load runs on stock 6.12 (module not loaded) and with
# local listen, over loopback and across a veth pair between two network
# namespaces with RPS spreading the server side's packets over every cpu
# (a NIC's RSS).  FS_LOCALITY_CONNS sets the connections per run.
#
# A cpu's accept queue is used while a worker pinned there accepted or
# polled within listen_idle_ms; the last check is that locality survives
# workers that sat idle for longer than that: epoll workers with
# EPOLLEXCLUSIVE (nginx's way) that served every cpu, then idle, then one
# connection at a time from the last cpu (FS_LOCALITY_IDLE_CONNS).  Its
# worker must get them: a shared-queue wakeup with EPOLLEXCLUSIVE goes to
# the first idle worker registered, which need not be the last cpu's.
. "$FS_TOP/tests/vm/lib.sh"

n=${FS_LOCALITY_CONNS:-1000}
cpus=$(nproc)
all_mask=$(printf '%x' $(((1 << cpus) - 1)))

# run LABEL ADDR [SERVER ARGS...]
run() {
	local label=$1 addr=$2
	shift 2
	fs_server --listen "$addr" --workers "$cpus" --pin "$@"
	# shellcheck disable=SC2086 # CLIENT_NS: an optional "ip netns exec NS"
	$CLIENT_NS "$FS_BENCH" client --connect "$SERVER_ADDR" --connections "$n" \
		--threads "$cpus" --pin --timeout 10 --json >"/tmp/$label.json" ||
		fail "$label: client: $(cat "/tmp/$label.json")"
	fs_server_stop "/tmp/$label.server.json"
	[ "$(json_field "/tmp/$label.json" completed)" = "$n" ] ||
		fail "$label: not all $n connections completed: $(cat "/tmp/$label.json")"
	kv "${label}_conn_per_sec" "$(int "$(json_field "/tmp/$label.json" conn_per_sec)")"
	kv "${label}_p99_us" "$(json_field "/tmp/$label.json" latency.p99_us)"
	kv "${label}_locality" "$(json_field "/tmp/$label.server.json" fraction)"
}

trap veth_down EXIT

CLIENT_NS= SERVER_NS=
for mode in process thread; do
	run "stock_${mode}" 127.0.0.1:0 --mode "$mode"
done
run stock_epoll 127.0.0.1:0 --mode thread --accept-mode epoll --epoll-exclusive
veth_up "$all_mask"
CLIENT_NS="ip netns exec $VETH_CLI_NS" SERVER_NS="ip netns exec $VETH_SRV_NS"
run stock_veth 10.77.0.1:0 --mode process
CLIENT_NS= SERVER_NS=

load
before_local=$(proc_total syn_local)
before_global=$(proc_total syn_global)
for mode in process thread; do
	run "fastsocket_${mode}" 127.0.0.1:0 --mode "$mode" --local-listen
done
run fastsocket_epoll 127.0.0.1:0 --mode thread --accept-mode epoll --epoll-exclusive --local-listen
CLIENT_NS="ip netns exec $VETH_CLI_NS" SERVER_NS="ip netns exec $VETH_SRV_NS"
run fastsocket_veth 10.77.0.1:0 --mode process --local-listen
CLIENT_NS= SERVER_NS=
syn_local=$(($(proc_total syn_local) - before_local))
syn_global=$(($(proc_total syn_global) - before_global))
accept_local=$(proc_total accept_local)
moved=$(proc_total moved)

# Idle, then light load from the last cpu.
if [ "$cpus" -gt 1 ]; then
	m=${FS_LOCALITY_IDLE_CONNS:-200}
	last=$((cpus - 1))
	fs_server --listen 127.0.0.1:0 --workers "$cpus" --pin --mode thread --accept-mode epoll \
		--epoll-exclusive --local-listen
	# Every worker accepts: a few hundred connections from every cpu.
	fs_client "$SERVER_ADDR" $((n < 500 ? n : 500)) /tmp/idle-warm.json --threads "$cpus" --pin \
		--timeout 10
	# Longer than listen_idle_ms (200 ms) with nothing to accept.
	sleep 1
	accepts=$(($(proc_cpu accept_local "$last") + $(proc_cpu accept_global "$last")))
	taskset -pc "$last" $$ >/dev/null
	fs_client "$SERVER_ADDR" "$m" /tmp/idle.json --threads 1 --pin --timeout 10
	taskset -pc "0-$last" $$ >/dev/null
	accepts=$(($(proc_cpu accept_local "$last") + $(proc_cpu accept_global "$last") - accepts))
	fs_server_stop /tmp/idle.server.json
	kv idle_epoll_last_cpu_accepts "$accepts"
	kv idle_epoll_last_cpu_fraction "$(awk -v a="$accepts" -v m="$m" 'BEGIN { printf "%.3f", a / m }')"
fi
cat "$FS_PROC"
unload

kv syn_local "$syn_local"
kv syn_global "$syn_global"
kv accept_local "$accept_local"
kv moved "$moved"
for label in process thread epoll veth; do
	s=$(json_field "/tmp/stock_$label.json" conn_per_sec)
	f=$(json_field "/tmp/fastsocket_$label.json" conn_per_sec)
	kv "ratio_${label}" "$(awk -v f="$f" -v s="$s" 'BEGIN { printf "%.2f", f / s }')"
done
# With local listen every connection stays on one cpu, but a worker that
# falls behind under the emulator may see a few move; stock spreads them.
for label in process thread epoll veth; do
	frac=$(json_field "/tmp/fastsocket_$label.server.json" fraction)
	awk -v f="$frac" 'BEGIN { exit !(f >= 0.9) }' ||
		fail "fastsocket_$label: locality $frac < 0.9"
done
[ "$syn_local" -ge $((4 * n * 9 / 10)) ] || fail "only $syn_local SYNs matched locally"
if [ "$cpus" -gt 1 ]; then
	[ "$accepts" -ge $((m * 9 / 10)) ] ||
		fail "after idling, only $accepts of $m connections from cpu $last were accepted there"
fi

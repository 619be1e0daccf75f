# SPDX-License-Identifier: GPL-2.0
# Issue 17's bounds and lifetimes, measured by tests/tools/fs_bounds.c on
# stock (the module loaded, the listener not enabled) and with local listen
# enabled by FASTSOCKET_IOC_LISTEN, in the same boot; stock's value is the
# assertion where there is one:
#
# 1. Work stealing: cpu 0's acceptor accepts once and sleeps, a second one
#    (pinned to the last cpu, then not pinned) blocks in accept(), and a
#    client on cpu 0 connects FS_BOUNDS_STEAL_CONNS (20) times: the second
#    acceptor must take every connection within FS_BOUNDS_STEAL_MS
#    (2000 ms: the rescue's 1.5 x listen_idle_ms = 300 ms, and room for
#    TCG).  Stock gives them at once.  Enabled, on more than one cpu, the
#    connections must have waited on cpu 0's queue first (else the row
#    tested nothing).  On one cpu the second acceptor is on cpu 0 too, so
#    there is nothing to steal: the row runs, reduced to its bound.
# 2. Unpinned acceptors: four, blocking in accept(), and 200 connections
#    from every cpu; all accepted, the longest wait from connect() to
#    accept() at most 3 x stock's + 100 ms, and (on more than one cpu) none
#    waited on a cpu's queue.
# 3. SIGIO: O_ASYNC and F_SETOWN on the listener, a thread pinned to cpu 0
#    polls it, a client on cpu 0 connects: SIGIO arrives, as on stock.
# 4. Linux AIO IOCB_CMD_POLL (POLLIN) on the listener, submitted from cpu 0
#    with a client on cpu 0, and from a task that is not pinned with a
#    client on the last cpu: the submission and completion are stock's.
# 5. LISTEN/UNLISTEN racing from two threads, FS_BOUNDS_RACE_ROUNDS
#    (10,000) rounds each, on one listener that a client connects to now
#    and then, in a network namespace of its own: every connection is
#    accepted, the namespace's "TCP: inuse" (and the TCP sockets
#    allocated) return to where they were, the namespace itself is freed
#    once deleted (a socket reference left anywhere, the module's registry
#    included, would keep it), and the module unloads.  Stock: the same
#    client and acceptors, no ioctl, which also shows that the namespace
#    check works.
. "$FS_TOP/tests/vm/lib.sh"

need_tool fs_bounds "fs_bounds.c does not build"
cpus=$(nproc)
idle=200
steal_conns=${FS_BOUNDS_STEAL_CONNS:-20}
steal_ms=${FS_BOUNDS_STEAL_MS:-2000}
unpinned_conns=${FS_BOUNDS_UNPINNED_CONNS:-200}
rounds=${FS_BOUNDS_RACE_ROUNDS:-10000}
modes=(stock ioctl)
tool=$FS_TEST_TOOLS/fs_bounds

# The race's namespaces: NAME and the end of a veth pair left in the
# initial namespace, which goes when the namespace is freed.
race_ns=()
race_peer=()
cleanup() {
	local i
	for i in "${!race_ns[@]}"; do
		ip netns del "${race_ns[$i]}" 2>/dev/null || true
		ip link del "${race_peer[$i]}" 2>/dev/null || true
	done
}
trap cleanup EXIT

# ms MICROSECONDS: milliseconds, rounded up ("-" stays).
ms() {
	case $1 in
	-1 | -) echo - ;;
	*) echo $((($1 + 999) / 1000)) ;;
	esac
}

# run MODE ARGS...: fs_bounds --mode MODE ARGS, its lines added to
# /tmp/bounds.MODE (a command prefix in PREFIX: the race's namespace).
run() {
	local mode=$1
	shift
	# shellcheck disable=SC2086 # PREFIX: an optional command prefix
	if ! ${PREFIX:-} "$tool" --mode "$mode" --conns "$steal_conns" \
		--unpinned-conns "$unpinned_conns" --rounds "$rounds" "$@" \
		>>"/tmp/bounds.$mode" 2>"/tmp/bounds.$mode.err"; then
		cat "/tmp/bounds.$mode.err"
		fail "$mode: fs_bounds $*: $(tail -n 1 "/tmp/bounds.$mode.err")"
	fi
}

# race MODE: row 5 in a namespace of its own; sets FREED_MS to how long
# the namespace took to go after it was deleted (-1: it did not, in 30 s).
race() {
	local mode=$1 ns peer i
	ns=$(netns_name "race-$mode")
	peer=fsb$$${mode:0:1}
	race_ns+=("$ns")
	race_peer+=("$peer")
	ip netns add "$ns" || fail "ip netns add $ns"
	ip link add "$peer" type veth peer name "${peer}n" || fail "ip link add $peer"
	ip link set "${peer}n" netns "$ns" || fail "moving ${peer}n to $ns"
	ip -n "$ns" link set lo up
	PREFIX="ip netns exec $ns" run "$mode" race
	local start
	start=$(date +%s%N)
	ip netns del "$ns" || fail "ip netns del $ns"
	FREED_MS=-1
	for i in $(seq 300); do
		if ! ip link show "$peer" >/dev/null 2>&1; then
			FREED_MS=$((($(date +%s%N) - start) / 1000000))
			break
		fi
		sleep 0.1
	done
}

load
fs_sysctl listen_auto 0
fs_sysctl listen 1
fs_sysctl listen_idle_ms "$idle"
rm -f /tmp/bounds.stock /tmp/bounds.ioctl
for mode in "${modes[@]}"; do
	echo "== $mode"
	run "$mode"
	cat "/tmp/bounds.$mode.err"
done
declare -A freed
for mode in "${modes[@]}"; do
	echo "== $mode race"
	race "$mode"
	freed[$mode]=$FREED_MS
done
# Every rescue round has passed: the registry holds no listener in use.
sleep 0.5
local_listeners=$(proc_total local_listeners)
unload

declare -A value
keys=()
for mode in "${modes[@]}"; do
	while read -r key v; do
		[ -n "${value[seen.$key]+x}" ] || keys+=("$key")
		value[seen.$key]=1
		value[$mode.$key]=$v
	done <"/tmp/bounds.$mode"
done
printf '%-36s %10s %10s\n' key "${modes[@]}"
for key in "${keys[@]}"; do
	printf '%-36s %10s %10s\n' "$key" "${value[stock.$key]:--}" "${value[ioctl.$key]:--}"
done

# val MODE KEY: a value ("-" if not measured).
val() {
	echo "${value[$1.$2]:--}"
}
problems=()
problem() {
	problems+=("$*")
	echo "problem: $*"
}
# pair KEY [ms]: "stock ioctl", for kv.
pair() {
	if [ "${2:-}" = ms ]; then
		echo "$(ms "$(val stock "$1")") $(ms "$(val ioctl "$1")")"
	else
		echo "$(val stock "$1") $(val ioctl "$1")"
	fi
}

kv listen_idle_ms "$idle"
kv modes "${modes[*]}"

# --- 1. Work stealing.
if [ "$cpus" = 1 ]; then
	kv steal_form "reduced: one cpu, the second acceptor shares cpu 0 (nothing to steal), the bound only"
fi
for row in steal_pinned steal_unpinned; do
	for mode in "${modes[@]}"; do
		acc=$(val "$mode" "${row}_accepted")
		wait_us=$(val "$mode" "${row}_max_wait_us")
		[ "$(val "$mode" "${row}_connected")" = "$steal_conns" ] ||
			problem "$mode $row: $(val "$mode" "${row}_connected") of $steal_conns connections from cpu 0 completed"
		[ "$acc" = "$steal_conns" ] ||
			problem "$mode $row: the second acceptor got $acc of $steal_conns connections from cpu 0 (its accept() gave up after 5 s)"
		if [ "$wait_us" = - ] || [ "$wait_us" -gt $((steal_ms * 1000)) ]; then
			problem "$mode $row: a connection waited $(ms "$wait_us") ms for the second acceptor, more than ${steal_ms} ms (1.5 x listen_idle_ms = $((idle * 3 / 2)) ms and slack)"
		fi
	done
	if [ "$cpus" -gt 1 ]; then
		moved=$(val ioctl "${row}_moved")
		queued=$(val ioctl "${row}_queued_local")
		[ "$moved" -gt 0 ] || [ "$queued" -gt 0 ] ||
			problem "ioctl $row: no connection waited on cpu 0's queue (queued $queued, moved $moved): the row did not test stealing"
	fi
	kv "${row}_max_wait_ms" "$(pair "${row}_max_wait_us" ms)"
	kv "${row}_accepted" "$(pair "${row}_accepted")"
	kv "${row}_moved" "$(val ioctl "${row}_moved")"
done

# --- 2. Unpinned acceptors.
for mode in "${modes[@]}"; do
	c=$(val "$mode" unpinned_connected) a=$(val "$mode" unpinned_accepted)
	if [ "$c" != "$unpinned_conns" ] || [ "$a" != "$c" ]; then
		problem "$mode unpinned: $c of $unpinned_conns connected, $a accepted"
	fi
done
stock_max=$(val stock unpinned_max_us)
fs_max=$(val ioctl unpinned_max_us)
limit=$((3 * stock_max + 100000))
if [ "$fs_max" = - ] || [ "$fs_max" -gt "$limit" ]; then
	problem "unpinned acceptors: the longest wait from connect() to accept() was $(ms "$fs_max") ms enabled, $(ms "$stock_max") ms on stock (at most $(ms "$limit") allowed)"
fi
if [ "$cpus" -gt 1 ]; then
	[ "$(val ioctl unpinned_syn_local)" = 0 ] ||
		problem "unpinned acceptors: $(val ioctl unpinned_syn_local) connections waited on a cpu's queue"
fi
kv unpinned_max_ms "$(pair unpinned_max_us ms)"
kv unpinned_p50_ms "$(pair unpinned_p50_us ms)"
kv unpinned_accepted "$(pair unpinned_accepted)"
kv unpinned_max_allowed_ms "$(ms "$limit")"

# --- 3. SIGIO.
[ "$(val stock sigio_received)" = 1 ] ||
	problem "stock: no SIGIO for a connection to an O_ASYNC listener (the row itself is broken)"
for key in sigio_received sigio_poll_woken sigio_accepted; do
	[ "$(val ioctl $key)" = "$(val stock $key)" ] ||
		problem "SIGIO row: $key is $(val ioctl $key) enabled, $(val stock $key) on stock"
done
[ "$(val ioctl sigio_received)" != 1 ] || [ "$(val ioctl sigio_queued_local)" = 1 ] ||
	problem "SIGIO row: the connection did not wait on cpu 0's queue (queued $(val ioctl sigio_queued_local)): the row did not test it"
kv sigio_received "$(pair sigio_received)"
kv sigio_ms "$(pair sigio_us ms)"
kv sigio_queued_local "$(val ioctl sigio_queued_local)"

# --- 4. Linux AIO IOCB_CMD_POLL.
for row in aio_pinned aio_unpinned; do
	case $row in
	aio_pinned) what="from a task pinned to cpu 0, client on cpu 0" ;;
	*) what="from a task not pinned, client on the last cpu" ;;
	esac
	[ "$(val stock ${row}_completed)" = 1 ] ||
		problem "stock: IOCB_CMD_POLL $what did not complete (the row itself is broken)"
	[ "$(val ioctl ${row}_submit_errno)" = "$(val stock ${row}_submit_errno)" ] ||
		problem "IOCB_CMD_POLL $what: io_submit failed with errno $(val ioctl ${row}_submit_errno) enabled (stock: $(val stock ${row}_submit_errno))"
	for key in completed pollin accepted; do
		[ "$(val ioctl ${row}_$key)" = "$(val stock ${row}_$key)" ] ||
			problem "IOCB_CMD_POLL $what: $key is $(val ioctl ${row}_$key) enabled, $(val stock ${row}_$key) on stock"
	done
	kv "${row}_submit_errno" "$(pair ${row}_submit_errno)"
	kv "${row}_completed" "$(pair ${row}_completed)"
	kv "${row}_ms" "$(pair ${row}_us ms)"
done

# --- 5. LISTEN/UNLISTEN racing.
for mode in "${modes[@]}"; do
	c=$(val "$mode" race_connected) a=$(val "$mode" race_accepted)
	[ "$(val "$mode" race_connect_failed)" = 0 ] ||
		problem "$mode race: $(val "$mode" race_connect_failed) connections did not complete"
	[ "$a" = "$c" ] || problem "$mode race: $c connected, $a accepted: connections lost"
	[ "$(val "$mode" race_tcp_inuse_after)" = "$(val "$mode" race_tcp_inuse_before)" ] ||
		problem "$mode race: TCP inuse $(val "$mode" race_tcp_inuse_after) after closing everything, $(val "$mode" race_tcp_inuse_before) before"
	[ "$(val "$mode" race_tcp_alloc_after)" -le "$(val "$mode" race_tcp_alloc_before)" ] ||
		problem "$mode race: TCP sockets allocated $(val "$mode" race_tcp_alloc_after) after closing everything, $(val "$mode" race_tcp_alloc_before) before"
	[ "${freed[$mode]}" -ge 0 ] ||
		problem "$mode race: its network namespace was not freed 30 s after deletion (a socket reference was left)"
done
[ "$(val ioctl race_listen_ok)" = $((2 * rounds)) ] ||
	problem "race: $(val ioctl race_listen_ok) of $((2 * rounds)) LISTENs succeeded"
[ "$local_listeners" = 0 ] ||
	problem "race: after every listener closed, the registry still has $local_listeners in use"
kv race_rounds "$rounds"
kv race_ms "$(pair race_ms)"
kv race_unlisten_ok "$(val ioctl race_unlisten_ok)"
kv race_unlisten_einval "$(val ioctl race_unlisten_einval)"
kv race_connected "$(pair race_connected)"
kv race_accepted "$(pair race_accepted)"
kv race_tcp_inuse "$(val ioctl race_tcp_inuse_before) $(val ioctl race_tcp_inuse_after)"
kv race_netns_freed_ms "${freed[stock]} ${freed[ioctl]}"
kv unloaded ok

kv problems "${#problems[@]}"
if [ "${#problems[@]}" -gt 0 ]; then
	fail "${#problems[@]} problems: ${problems[0]}${problems[1]:+; ${problems[1]}}${problems[2]:+; ...}"
fi

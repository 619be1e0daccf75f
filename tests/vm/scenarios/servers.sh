# SPDX-License-Identifier: GPL-2.0
# Servers that know nothing of fastsocket (fsbench without --local-listen):
# a threaded one (a thread per cpu), a single-threaded one, and forked
# workers pinned by libfsocket.so itself (FASTSOCKET_PIN=1), each on stock
# 6.12, with libfsocket.so and in the auto mode.  Every connection
# completes; the pinned ones are local under fastsocket (unpinned workers
# use the listener's shared queue, as on stock).  Pinned epoll workers are
# woken on their own cpu.
. "$FS_TOP/tests/vm/lib.sh"
. "$FS_TOP/tests/vm/apps.sh"

cpus=$(nproc)
n=${FS_SERVERS_CONNS:-300}

# serve LABEL MODE PIN_ENV SERVER_ARGS...: one run, all n connections.
serve() {
	local label=$1 mode=$2 pin=$3 syns=0 seen
	shift 3
	mode_setup "$mode"
	is_loaded && syns=$(($(proc_total syn_local) + $(proc_total syn_global)))
	# The probe is not needed: fsbench measures its own locality.
	APP_PRELOAD=${APP_PRELOAD%"$FS_PROBE"}
	APP_PRELOAD=${APP_PRELOAD%:}
	SERVER_NS="env LD_PRELOAD=$APP_PRELOAD FASTSOCKET_PIN=$pin" \
		fs_server --listen 127.0.0.1:0 "$@"
	fs_client "$SERVER_ADDR" "$n" "/tmp/$label.json" --threads "$cpus" --pin
	fs_server_stop "/tmp/$label.server.json"
	grep -q libfsocket "$SERVER_LOG" &&
		fail "$label $mode: libfsocket complained: $(cat "$SERVER_LOG")"
	local loc
	loc=$(json_field "/tmp/$label.server.json" fraction)
	printf '%-10s %-8s %6.0f conn/s, locality %.3f, accepts per cpu %s\n' "$label" "$mode" \
		"$(json_field "/tmp/$label.json" conn_per_sec)" "$loc" \
		"$(json_field "/tmp/$label.server.json" per_cpu_accepts)"
	kv "${label}_${mode}_conn_per_sec" "$(json_field "/tmp/$label.json" conn_per_sec)"
	kv "${label}_${mode}_locality" "$(printf '%.3f' "$loc")"
	LOCALITY=$loc
	if [ "$mode" != stock ]; then
		seen=$(($(proc_total syn_local) + $(proc_total syn_global) - syns))
		[ "$seen" -ge "$n" ] || fail "$label $mode: only $seen of $n SYNs reached fastsocket"
	fi
}

for mode in $APP_MODES; do
	# One process, a pinned thread per cpu.
	serve threaded "$mode" 0 --workers "$cpus" --mode thread --pin
	if [ "$mode" != stock ] && [ "$cpus" -gt 1 ]; then
		at_least "$LOCALITY" 0.9 || fail "threaded $mode: locality $LOCALITY"
	fi
	# One thread on one process, wherever the scheduler puts it.
	serve single "$mode" 0 --workers 1 --mode process
done

# Forked workers that do not pin themselves, pinned by the library: only
# libfsocket.so has FASTSOCKET_PIN.
serve pinned stock 0 --workers "$cpus" --mode process
serve pinned preload 1 --workers "$cpus" --mode process
accepting=$(jq '[.per_cpu_accepts[] | select(. > 0)] | length' /tmp/pinned.server.json ||
	echo none)
kv pinned_cpus_accepting "$accepting"
[ "$accepting" = "$cpus" ] || fail "FASTSOCKET_PIN: workers accepted on $accepting of $cpus cpus"
if [ "$cpus" -gt 1 ]; then
	at_least "$LOCALITY" 0.8 || fail "FASTSOCKET_PIN: locality $LOCALITY"
fi

# Epoll workers that all start on cpu 0 and that libfsocket.so pins: each
# must be pinned before it registers the listener with epoll, or the
# worker of the last cpu waits on cpu 0's accept queue while the
# connections of its own cpu wait on the last cpu's (its accepts there put
# that queue in use), until the rescue moves them to the shared queue
# (they "move").  The client runs on the last cpu only, so that nothing
# else wakes that worker.
if [ "$cpus" -gt 1 ]; then
	mode_setup preload
	moved=$(proc_total moved)
	SERVER_NS="taskset -c 0 env LD_PRELOAD=$FS_PRELOAD FASTSOCKET_PIN=1 FASTSOCKET_CPUS=0-$((cpus - 1))" \
		fs_server --listen 127.0.0.1:0 --workers "$cpus" --mode process --accept-mode epoll
	taskset -pc $((cpus - 1)) $$ >/dev/null
	fs_client "$SERVER_ADDR" "$n" /tmp/epoll.json --threads 1
	taskset -pc 0-$((cpus - 1)) $$ >/dev/null
	fs_server_stop /tmp/epoll.server.json
	moved=$(($(proc_total moved) - moved))
	kv epoll_pinned_moved "$moved"
	kv epoll_pinned_conn_per_sec "$(json_field /tmp/epoll.json conn_per_sec)"
	[ "$moved" = 0 ] || fail "FASTSOCKET_PIN, epoll workers: $moved connections waited for the rescue (moved to the shared queue)"
fi
if is_loaded; then
	fs_sysctl listen_auto 0
	cat "$FS_PROC"
	unload
fi

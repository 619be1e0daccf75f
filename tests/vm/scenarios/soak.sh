# SPDX-License-Identifier: GPL-2.0
# The long tier's soak (`make test-long`): for FS_SOAK_SECONDS, and at
# least until each way has run once, round after round of a freshly
# loaded module under load, each round another way of serving (pinned
# processes, threads in epoll with EPOLLEXCLUSIVE, the auto mode with the
# feature switched off and on under the clients, IPv6), unloaded after
# each.  Every connection completes and every one is accepted; the kernel
# says nothing (the runner checks every round's log).
. "$FS_TOP/tests/vm/lib.sh"

seconds=${FS_SOAK_SECONDS:-900}
n=${FS_SOAK_CONNS:-500}
cpus=$(nproc)
end=$(($(date +%s) + seconds))
rounds=0
connections=0
TOGGLES=0
while [ "$(date +%s)" -lt "$end" ] || [ "$rounds" -lt 4 ]; do
	load
	addr=127.0.0.1:0
	case $((rounds % 4)) in
	0) args="--mode process --local-listen" ;;
	1) args="--mode thread --accept-mode epoll --epoll-exclusive --local-listen" ;;
	2) args="--mode process" && fs_sysctl listen_auto 1 ;;
	3) args="--mode thread --local-listen" addr='[::1]:0' ;;
	esac
	# shellcheck disable=SC2086 # args: several words
	fs_server --listen "$addr" --workers "$cpus" --pin $args
	"$FS_BENCH" client --connect "$SERVER_ADDR" --connections "$n" --threads "$cpus" --pin \
		--timeout 10 --json >/tmp/soak.json &
	client=$!
	if [ $((rounds % 4)) = 2 ]; then
		toggle_listen_while "$client"
	fi
	rc=0
	wait "$client" || rc=$?
	fs_server_stop /tmp/soak.server.json
	[ "$rc" = 0 ] && [ "$(json_field /tmp/soak.json completed)" = "$n" ] ||
		fail "round $rounds ($args): not all $n connections completed: $(cat /tmp/soak.json)"
	[ "$(json_field /tmp/soak.server.json accepted)" = "$n" ] ||
		fail "round $rounds ($args): the server accepted $(json_field /tmp/soak.server.json accepted), not $n"
	unload
	rounds=$((rounds + 1))
	connections=$((connections + n))
done
kv rounds "$rounds"
kv connections "$connections"
kv toggles "$TOGGLES"

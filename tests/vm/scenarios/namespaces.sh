# SPDX-License-Identifier: GPL-2.0
# Matching keeps the stock rules: IPv6, a specific address beside an
# enabled wildcard listener on the same port, two network namespaces with
# enabled listeners on the same port, and a reuseport group of enabled
# listeners beside a plain one.
. "$FS_TOP/tests/vm/lib.sh"

n=300
cpus=$(nproc)
load

# IPv6, wildcard.
fs_server --listen '[::]:0' --workers "$cpus" --pin --local-listen
port=${SERVER_ADDR##*:}
fs_client "[::1]:$port" "$n" /tmp/v6.json --threads "$cpus" --pin
# An IPv4 client reaches the dual-stack listener too.
fs_client "127.0.0.1:$port" "$n" /tmp/v4mapped.json --threads "$cpus" --pin
fs_server_stop /tmp/v6.server.json
[ "$(json_field /tmp/v6.server.json accepted)" = $((2 * n)) ] ||
	fail "IPv6 server accepted $(json_field /tmp/v6.server.json accepted), not $((2 * n))"
kv ipv6_locality "$(json_field /tmp/v6.server.json fraction)"

# A specific address beside an enabled wildcard on one port (Linux lets
# two listeners share a port only through SO_REUSEPORT): the SYNs to the
# specific address go to the specific listener, as on stock Linux.
fs_server --listen 0.0.0.0:4444 --workers "$cpus" --pin --reuseport --local-listen
wild_pid=$SERVER_PID wild_log=$SERVER_LOG
fs_server --listen 127.0.0.2:4444 --workers 1 --reuseport
fs_client 127.0.0.2:4444 "$n" /tmp/spec.json --threads "$cpus" --pin
fs_client 127.0.0.1:4444 "$n" /tmp/wild.json --threads "$cpus" --pin
fs_server_stop /tmp/spec.server.json
SERVER_PID=$wild_pid SERVER_LOG=$wild_log
fs_server_stop /tmp/wild.server.json
[ "$(json_field /tmp/spec.server.json accepted)" = "$n" ] ||
	fail "the specific listener accepted $(json_field /tmp/spec.server.json accepted), not $n"
[ "$(json_field /tmp/wild.server.json accepted)" = "$n" ] ||
	fail "the wildcard listener accepted $(json_field /tmp/wild.server.json accepted), not $n"
kv specific_beside_wildcard ok

# Two namespaces, one port, each with its own enabled listener.
ns_a=$(netns_name a)
ns_b=$(netns_name b)
for ns in "$ns_a" "$ns_b"; do
	ip netns add "$ns"
	ip -n "$ns" link set lo up
done
trap 'ip netns del "$ns_a"; ip netns del "$ns_b"' EXIT
SERVER_NS="ip netns exec $ns_a" fs_server --listen 127.0.0.1:4242 --workers "$cpus" --pin --local-listen
a_pid=$SERVER_PID a_log=$SERVER_LOG
SERVER_NS="ip netns exec $ns_b" fs_server --listen 127.0.0.1:4242 --workers "$cpus" --pin --local-listen
ip netns exec "$ns_a" "$FS_BENCH" client --connect 127.0.0.1:4242 --connections "$n" \
	--threads "$cpus" --pin --json >/tmp/nsa.json || fail "netns a: $(cat /tmp/nsa.json)"
ip netns exec "$ns_b" "$FS_BENCH" client --connect 127.0.0.1:4242 --connections $((n / 2)) \
	--threads "$cpus" --pin --json >/tmp/nsb.json || fail "netns b: $(cat /tmp/nsb.json)"
fs_server_stop /tmp/nsb.server.json
SERVER_PID=$a_pid SERVER_LOG=$a_log
fs_server_stop /tmp/nsa.server.json
[ "$(json_field /tmp/nsa.server.json accepted)" = "$n" ] ||
	fail "netns a's listener accepted $(json_field /tmp/nsa.server.json accepted), not $n"
[ "$(json_field /tmp/nsb.server.json accepted)" = $((n / 2)) ] ||
	fail "netns b's listener accepted $(json_field /tmp/nsb.server.json accepted), not $((n / 2))"
kv netns_separate ok

# A reuseport group of enabled listeners (one per worker), epoll, and a
# plain member joining the same group.
fs_server --listen 127.0.0.1:4343 --workers "$cpus" --pin --reuseport --local-listen \
	--accept-mode epoll
rp_pid=$SERVER_PID rp_log=$SERVER_LOG
fs_server --listen 127.0.0.1:4343 --workers 1 --reuseport
fs_client 127.0.0.1:4343 "$n" /tmp/rp.json --threads "$cpus" --pin
fs_server_stop /tmp/rp-plain.server.json
SERVER_PID=$rp_pid SERVER_LOG=$rp_log
fs_server_stop /tmp/rp.server.json
total=$(($(json_field /tmp/rp.server.json accepted) + $(json_field /tmp/rp-plain.server.json accepted)))
[ "$total" = "$n" ] || fail "the reuseport group accepted $total, not $n"
kv reuseport_enabled_accepted "$(json_field /tmp/rp.server.json accepted)"
kv reuseport_plain_accepted "$(json_field /tmp/rp-plain.server.json accepted)"
kv reuseport_locality "$(json_field /tmp/rp.server.json fraction)"
unload

# SPDX-License-Identifier: GPL-2.0
# With the module loaded, 10,000 short IPv4 and 1,000 IPv6 loopback
# connections all succeed, and the listener-lookup hook counts each SYN.
. "$FS_TOP/tests/vm/lib.sh"

n4=10000
n6=1000
load
v4_before=$(proc_total lookup_ipv4)
v6_before=$(proc_total lookup_ipv6)

start_server 127.0.0.1:0
"$FS_BENCH" client --connect "$SERVER_ADDR" --connections "$n4" --threads 4 \
	--json >/tmp/v4.json || fail "IPv4 client: $(cat /tmp/v4.json)"
stop_server
start_server '[::1]:0'
"$FS_BENCH" client --connect "$SERVER_ADDR" --connections "$n6" --threads 4 \
	--json >/tmp/v6.json || fail "IPv6 client: $(cat /tmp/v6.json)"
stop_server

v4=$(($(proc_total lookup_ipv4) - v4_before))
v6=$(($(proc_total lookup_ipv6) - v6_before))
unload

kv ipv4_completed "$(json_field /tmp/v4.json completed)"
kv ipv4_failed "$(json_field /tmp/v4.json failed)"
kv ipv4_conn_per_sec "$(json_field /tmp/v4.json conn_per_sec | cut -d. -f1)"
kv ipv4_p50_us "$(json_field /tmp/v4.json p50_us)"
kv ipv4_p99_us "$(json_field /tmp/v4.json p99_us)"
kv ipv6_completed "$(json_field /tmp/v6.json completed)"
kv lookup_ipv4 "$v4"
kv lookup_ipv6 "$v6"
[ "$(json_field /tmp/v4.json completed)" = "$n4" ] || fail "IPv4: not all $n4 completed"
[ "$(json_field /tmp/v6.json completed)" = "$n6" ] || fail "IPv6: not all $n6 completed"
# Every connection's SYN reaches the listener lookup once (a retransmitted
# SYN may add more); fewer means the hook missed some.
[ "$v4" -ge "$n4" ] || fail "lookup_ipv4 counted $v4 < $n4 SYNs"
[ "$v6" -ge "$n6" ] || fail "lookup_ipv6 counted $v6 < $n6 SYNs"

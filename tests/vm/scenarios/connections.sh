# SPDX-License-Identifier: GPL-2.0
# With the module loaded but no listener enabled, short IPv4 and IPv6
# loopback connections (FS_CONNECTIONS_V4, 10,000, and FS_CONNECTIONS_V6,
# 1,000, unless the tier says otherwise) all succeed on the stock path: the
# hooks see none of them.
. "$FS_TOP/tests/vm/lib.sh"

n4=${FS_CONNECTIONS_V4:-10000}
n6=${FS_CONNECTIONS_V6:-1000}
load
before=$(($(proc_total syn_local) + $(proc_total syn_global) + $(proc_total accept_local) + $(proc_total accept_global)))

start_server 127.0.0.1:0
fs_client "$SERVER_ADDR" "$n4" /tmp/v4.json --threads 4
stop_server
start_server '[::1]:0'
fs_client "$SERVER_ADDR" "$n6" /tmp/v6.json --threads 4
stop_server

after=$(($(proc_total syn_local) + $(proc_total syn_global) + $(proc_total accept_local) + $(proc_total accept_global)))
unload

kv ipv4_completed "$(json_field /tmp/v4.json completed)"
kv ipv4_conn_per_sec "$(int "$(json_field /tmp/v4.json conn_per_sec)")"
kv ipv4_p50_us "$(json_field /tmp/v4.json latency.p50_us)"
kv ipv4_p99_us "$(json_field /tmp/v4.json latency.p99_us)"
kv ipv6_completed "$(json_field /tmp/v6.json completed)"
kv hook_events "$((after - before))"
[ "$after" = "$before" ] || fail "listeners nobody enabled went through the hooks ($before -> $after)"

# SPDX-License-Identifier: GPL-2.0
# The module is removed and loaded again, over and over, while connections
# are being made: no connection fails.
. "$FS_TOP/tests/vm/lib.sh"

n=2000
load
start_server 127.0.0.1:0
"$FS_BENCH" client --connect "$SERVER_ADDR" --connections "$n" --threads 4 \
	--json >/tmp/load.json &
client=$!

cycles=0
while kill -0 "$client" 2>/dev/null; do
	if is_loaded; then unload; else load; fi
	cycles=$((cycles + 1))
	sleep 0.05
done
wait "$client" || fail "client: $(cat /tmp/load.json)"
stop_server
is_loaded && unload

kv cycles "$cycles"
kv completed "$(json_field /tmp/load.json completed)"
kv failed "$(json_field /tmp/load.json failed)"
[ "$cycles" -ge 4 ] || fail "only $cycles load/unload cycles ran during the load"
[ "$(json_field /tmp/load.json completed)" = "$n" ] || fail "not all $n connections completed"

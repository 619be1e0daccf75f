# SPDX-License-Identifier: GPL-2.0
# The module is removed and loaded again, over and over, while connections
# are being made to a listener enabled for local listen (by the auto mode,
# the listener made again for each batch): no connection fails.  Clients
# run in batches until both enough connections (FS_UNLOAD_CONNS) and
# enough load/unload cycles (FS_UNLOAD_CYCLES) happened under them.
. "$FS_TOP/tests/vm/lib.sh"

min_connections=${FS_UNLOAD_CONNS:-2000}
min_cycles=${FS_UNLOAD_CYCLES:-8}
batch=500
cpus=$(nproc)

connections=0
failed=0
cycles=0
while [ "$connections" -lt "$min_connections" ] || [ "$cycles" -lt "$min_cycles" ]; do
	is_loaded || load
	fs_sysctl listen_auto 1
	fs_server --listen 127.0.0.1:0 --workers "$cpus" --pin
	"$FS_BENCH" client --connect "$SERVER_ADDR" --connections "$batch" --threads "$cpus" \
		--pin --timeout 10 --json >/tmp/batch.json &
	client=$!
	while kill -0 "$client" 2>/dev/null; do
		if is_loaded; then unload; else load; fi
		cycles=$((cycles + 1))
		sleep 0.05
	done
	rc=0
	wait "$client" || rc=$?
	failed=$((failed + $(json_field /tmp/batch.json failed || echo 0)))
	[ "$rc" = 0 ] || fail "connections failed while the module came and went: $(cat /tmp/batch.json)"
	[ "$(json_field /tmp/batch.json completed)" = "$batch" ] ||
		fail "a batch did not complete: $(cat /tmp/batch.json)"
	connections=$((connections + batch))
	fs_server_stop /tmp/batch.server.json
done
is_loaded && unload

kv cycles "$cycles"
kv completed "$connections"
kv failed "$failed"

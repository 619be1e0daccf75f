# SPDX-License-Identifier: GPL-2.0
# `make bench`, throughput: every configuration of tests/bench/configs
# under fsbench, nginx and haproxy, BENCH_ROUNDS rounds of BENCH_SECONDS
# each.  The order of the configurations rotates from round to round, so
# none always runs first (or after the same neighbour).  tests/bench/bench.py
# runs it on the bench kernel; `make test` runs one short round, to show
# that every configuration runs and loses no connection.
. "$FS_TOP/tests/vm/lib.sh"
. "$FS_TOP/tests/vm/apps.sh"
. "$FS_TOP/tests/bench/lib.sh"

BENCH_ROUNDS=${FS_BENCH_ROUNDS:-3}
BENCH_SECONDS=${FS_BENCH_SECONDS:-5}
APP_SECONDS=$BENCH_SECONDS
workloads=${FS_BENCH_WORKLOADS:-fsbench nginx haproxy}

emit_meta release
mapfile -t names < <(config_names)
n=${#names[@]}
for round in $(seq 0 $((BENCH_ROUNDS - 1))); do
	for i in $(seq 0 $((n - 1))); do
		config=${names[$(((i + round) % n))]}
		config_setup "$config"
		for w in $workloads; do
			"run_$w" "$config" "$round"
		done
	done
done
! is_loaded || unload
runs=$(jq -s '[.[] | select(.kind == "run")] | length' "$BENCH_JSONL")
lost=$(jq -s '[.[] | select(.kind == "run") | .failed] | add // 0' "$BENCH_JSONL")
echo "bench: $runs measurements, $lost failed connections"
kv measurements "$runs"
kv failed_connections "$lost"
[ "$lost" = 0 ] || fail "$lost connections failed"

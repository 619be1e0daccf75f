# SPDX-License-Identifier: GPL-2.0
# `make bench`, throughput: every configuration of tests/bench/configs
# under fsbench, nginx, haproxy and (from 4 cpus) nginx-veth, measured in
# pairs with the baseline (reuseport): the configuration and the baseline
# run back to back, for BENCH_SECONDS each, so the two see the same
# emulator speed (TCG's speed drifts over minutes, by tens of percent).
# A round pairs every configuration once per load; the order of the pairs
# rotates from round to round, and which of a pair runs first alternates,
# so a drift favours neither side.  tests/bench/report.py divides each pair.
# tests/bench/bench.py runs it on the bench kernel; `make test` runs one
# short round, to show that every configuration runs and loses no
# connection.
. "$FS_TOP/tests/vm/lib.sh"
. "$FS_TOP/tests/vm/apps.sh"
. "$FS_TOP/tests/bench/lib.sh"

BENCH_ROUNDS=${FS_BENCH_ROUNDS:-3}
BENCH_SECONDS=${FS_BENCH_SECONDS:-5}
APP_SECONDS=$BENCH_SECONDS
workloads=${FS_BENCH_WORKLOADS:-fsbench nginx haproxy nginx-veth}
# nginx-veth gives half the cpus to the client: from 4 cpus on.
if [ "$BENCH_CPUS" -lt 4 ]; then
	workloads=${workloads/nginx-veth/}
elif [[ " $workloads " == *" nginx-veth "* ]]; then
	bench_veth_up
fi

emit_meta
# The configurations each load pairs with the baseline.
declare -A pairs_of
for w in $workloads; do
	for c in $(config_names); do
		[ "$c" != "$BENCH_BASELINE" ] && config_runs "$c" "$w" && pairs_of[$w]+=" $c"
	done
done
for round in $(seq 0 $((BENCH_ROUNDS - 1))); do
	for w in $workloads; do
		read -r -a others <<<"${pairs_of[$w]}"
		n=${#others[@]}
		for i in $(seq 0 $((n - 1))); do
			pair=${others[$(((i + round) % n))]}
			order="$BENCH_BASELINE $pair"
			((round % 2)) && order="$pair $BENCH_BASELINE"
			for config in $order; do
				config_setup "$config"
				"run_${w//-/_}" "$config" "$round" "$pair"
			done
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

# SPDX-License-Identifier: GPL-2.0
# `make bench`, cache-line transfers: every configuration of
# tests/bench/configs under fsbench, nginx and haproxy, each for a fixed
# number of connections inside the coherence plugin's window
# (Documentation/coherence.rst), so that its figures divide by the
# connections: transfers, instructions, IPIs per connection, and the
# locality.  The window opens just before the client starts and closes
# just after it ends (tests/bench/lib.sh's counters_start and
# counters_end), so starting and stopping servers and loading the module
# are not counted.  One "coherence" line per configuration and load goes
# to bench.jsonl, with the plugin's totals and its top functions and
# lines; the plugin's whole file is kept in coherence/LOAD-CONFIG.json.
#
# The first configuration of each load also runs once with the window
# closed (the plugin loaded, counting nothing), for what counting costs;
# and an empty window first says what opening and closing it count.
#
# Needs a VM booted with the plugin whose out= file is FS_COHERENCE_OUT:
# tests/bench/bench.py boots one per vCPU count (tests/run_tests.py does
# not run this scenario).
#
#   FS_COHERENCE_CONNS      connections per measurement (2000; 2000 * 4 /
#                           CPUS above 4 vCPUs)
#   FS_COHERENCE_WORKLOADS  the loads ("fsbench nginx haproxy")
. "$FS_TOP/tests/vm/lib.sh"
. "$FS_TOP/tests/vm/apps.sh"
. "$FS_TOP/tests/bench/lib.sh"

WINDOW=$FS_TOP/userspace-tools/target/release/coherence-window
[ -x "$WINDOW" ] || fail "no $WINDOW: build userspace-tools with cargo build --release"
[ -n "${FS_COHERENCE_OUT:-}" ] || skip "no coherence plugin in this VM (FS_COHERENCE_OUT unset)"

default=2000
[ "$BENCH_CPUS" -gt 4 ] && default=$((2000 * 4 / BENCH_CPUS))
BENCH_COUNT=${FS_COHERENCE_CONNS:-$default}
workloads=${FS_COHERENCE_WORKLOADS:-fsbench nginx haproxy}
# The loads end at their count; wrk's duration only bounds a run.
APP_SECONDS=600
# record's "seconds" (a wrk run's length when it is timed): none here.
BENCH_SECONDS=null
# The run lines the loads' functions record go here, not to the report.
RUNS=/tmp/bench-coherence-runs.jsonl
mkdir -p "$FS_OUT/coherence"

# measure LOAD CONFIG WINDOW: one run of LOAD as CONFIG (set up already),
# counted by the plugin if WINDOW is "window"; its run line is in RUNS, its
# counts in /tmp/bench-counts.
measure() {
	local window=
	[ "$3" = window ] && window=$WINDOW
	: >"$RUNS"
	rm -f "$FS_COHERENCE_OUT"
	BENCH_WINDOW=$window BENCH_JSONL=$RUNS "run_${1//-/_}" "$2" 0 ""
	[ -s "$RUNS" ] || fail "$1 $2: no measurement recorded"
}

# record_coherence LOAD CONFIG IDLE_MS: the coherence line of the run just
# measured, from its run line, its counts and the plugin's results (kept
# in FS_OUT/coherence); IDLE_MS: the same load's milliseconds with the
# window closed, or null.  Per connection is per connection the server
# accepted in the window: wrk stops with a few connections served but not
# counted (tests/bench/lib.sh's wrk_count).
record_coherence() {
	local json=$FS_OUT/coherence/$1-$2.json net ipi syns switches ms line
	# The plugin writes its file when the window closes, before the
	# guest's next instruction.
	[ -s "$FS_COHERENCE_OUT" ] || fail "$1 $2: the plugin wrote no $FS_COHERENCE_OUT"
	cp "$FS_COHERENCE_OUT" "$json"
	cp "${FS_COHERENCE_OUT%.json}.txt" "${json%.json}.txt" 2>/dev/null || true
	read -r net ipi syns switches ms </tmp/bench-counts
	line=$(jq -c --arg w "$1" --arg c "$2" --arg kernel "$BENCH_KERNEL" --argjson cpus "$BENCH_CPUS" \
		--argjson requested "$BENCH_COUNT" --argjson net "$net" --argjson ipi "$ipi" \
		--argjson syns "$syns" --argjson switches "$switches" --argjson ms "$ms" \
		--argjson idle "$3" --slurpfile run "$RUNS" '
		$run[0] as $r
		| ([$r.completed, ($r.accepted // 0)] | max) as $n
		| {kind: "coherence", kernel: $kernel, cpus: $cpus, workload: $w, config: $c,
		   requested: $requested, connections: $n, completed: $r.completed,
		   accepted: $r.accepted, failed: $r.failed,
		   seconds: ($ms / 1000), idle_seconds: (if $idle == null then null else $idle / 1000 end),
		   window_seconds: .window_seconds, vcpus: .vcpus,
		   instructions: .totals.instructions, loads: .totals.loads, stores: .totals.stores,
		   transfers: .totals.transfers, load_transfers: .totals.load_transfers,
		   store_transfers: .totals.store_transfers,
		   per_vcpu_transfers: [.per_vcpu[].transfers],
		   untracked_accesses: .untracked_accesses,
		   ipis: $ipi, net_rx: $net, switches: $switches, fastsocket_syns: $syns,
		   locality: $r.locality, back_locality: $r.back_locality,
		   top_functions: [.top_functions[:15][]
		     | [.function, .transfers, .load_transfers, .store_transfers]],
		   top_lines: [.top_lines[:8][]
		     | {line: (.data_symbol // .paddr), transfers, load_transfers, store_transfers,
		        functions: [.functions[:4][] | [.function, .transfers]]}]}' \
		"$json") || fail "$1 $2: no coherence figures from $json"
	jq -e '.connections > 0' <<<"$line" >/dev/null ||
		fail "$1 $2: no connection in the window: $(cat "$RUNS")"
	echo "$line" >>"$BENCH_JSONL"
	jq -r '"bench: coherence \(.workload) \(.config): \(.connections) connections, "
		+ "\(.transfers / .connections | floor) transfers and "
		+ "\(.instructions / .connections | floor) instructions per connection, "
		+ "window \(.window_seconds | floor) s, failed \(.failed)"' <<<"$line"
}

emit_meta
# An empty window: what opening and closing it count themselves (a
# process started and ended each way), in every measurement alike.
rm -f "$FS_COHERENCE_OUT"
"$WINDOW" start
"$WINDOW" stop
[ -s "$FS_COHERENCE_OUT" ] || fail "the plugin wrote no $FS_COHERENCE_OUT"
kv empty_window_instructions "$(json_field "$FS_COHERENCE_OUT" totals.instructions)"
kv empty_window_transfers "$(json_field "$FS_COHERENCE_OUT" totals.transfers)"
for w in $workloads; do
	idle=
	for config in $(config_names); do
		config_runs "$config" "$w" || continue
		config_setup "$config"
		# The plugin names a module's functions from a copy of kallsyms
		# (its kallsyms= argument), read when the window closes; the
		# module was just loaded at a new address.
		cp /proc/kallsyms "$FS_OUT/kallsyms"
		if [ -z "$idle" ]; then
			measure "$w" "$config" idle
			[ ! -e "$FS_COHERENCE_OUT" ] || fail "the plugin wrote results with its window closed"
			read -r _ _ _ _ idle </tmp/bench-counts
			echo "bench: coherence $w $config: $idle ms with the window closed"
			measure "$w" "$config" window
			record_coherence "$w" "$config" "$idle"
		else
			measure "$w" "$config" window
			record_coherence "$w" "$config" null
		fi
	done
done
! is_loaded || unload
n=$(jq -s '[.[] | select(.kind == "coherence")] | length' "$BENCH_JSONL")
lost=$(jq -s '[.[] | select(.kind == "coherence") | .failed] | add // 0' "$BENCH_JSONL")
echo "bench: coherence: $n measurements of $BENCH_COUNT connections, $lost failed connections"
kv measurements "$n"
kv connections "$BENCH_COUNT"
kv failed_connections "$lost"
kv window_slowdown_over_idle "$(jq -rs '[.[] | select(.kind == "coherence" and .idle_seconds != null
	and .idle_seconds > 0) | .seconds / .idle_seconds] | if length > 0 then add / length * 100
	| round / 100 else "-" end' "$BENCH_JSONL")"
[ "$lost" = 0 ] || fail "$lost connections failed"

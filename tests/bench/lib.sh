# SPDX-License-Identifier: GPL-2.0
# The benchmark inside the VM (sourced by the bench scenarios after
# tests/vm/lib.sh and tests/vm/apps.sh): the configurations of
# tests/bench/configs, the loads, and one JSON line per measurement
# appended to $FS_OUT/bench.jsonl (tests/bench/report.py reads them).
#
# Every load is run with one pinned worker per cpu and measured the same
# way in every configuration, so the figures compare.

BENCH_CONFIGS=$FS_TOP/tests/bench/configs
BENCH_JSONL=$FS_OUT/bench.jsonl
BENCH_CPUS=$(nproc)
# The kernel the figures are of: the report keeps the debug kernel's
# (lock_stat) apart from the release kernel's (throughput).
BENCH_KERNEL=release
[ -e /proc/lock_stat ] && BENCH_KERNEL=debug
# The configuration the others are paired with and divided by.
BENCH_BASELINE=reuseport

# The configurations file, read once: under TCG every awk or jq started
# costs a tenth of a second or more, and a bench looks up fields hundreds
# of times.  BENCH_FIELD[NAME,N] is field N of configuration NAME.
declare -A BENCH_FIELD
BENCH_NAMES=()
while IFS=$'\t' read -r name n value; do
	[ "$n" = 1 ] && BENCH_NAMES+=("$name")
	BENCH_FIELD[$name,$n]=$value
done < <(awk -F'|' '!/^#/ && NF >= 7 {
	for (i = 1; i <= 7; i++) {
		v[i] = $i
		gsub(/^ +| +$/, "", v[i])
		print v[1] "\t" i "\t" v[i]
	}
}' "$BENCH_CONFIGS")

# config_names: the configurations, in the order of the file.
config_names() {
	printf '%s\n' "${BENCH_NAMES[@]}"
}

# config_field NAME N: field N of configuration NAME (1 name, 2 module,
# 3 sysctls, 4 preload, 5 fsbench, 6 apps, 7 label).
config_field() {
	[ -n "${BENCH_FIELD[$1,$2]+set}" ] || fail "no configuration $1 in $BENCH_CONFIGS"
	echo "${BENCH_FIELD[$1,$2]}"
}

# config_runs NAME LOAD: whether configuration NAME runs LOAD (fsbench,
# nginx or haproxy): not when its fsbench or apps field says n/a.
config_runs() {
	local n=6
	[ "$2" = fsbench ] && n=5
	[ "$(config_field "$1" $n)" != n/a ]
}

# config_setup NAME: stock, or a freshly loaded module with the
# configuration's sysctls; sets BENCH_PRELOAD (libfsocket.so or empty).
config_setup() {
	local kv
	! is_loaded || unload
	if [ "$(config_field "$1" 2)" = yes ]; then
		load
		for kv in $(config_field "$1" 3 | tr ',' ' '); do
			[ "$kv" = - ] || fs_sysctl "${kv%%=*}" "${kv#*=}"
		done
	fi
	BENCH_PRELOAD=
	[ "$(config_field "$1" 4)" = yes ] && BENCH_PRELOAD=$FS_PRELOAD
	return 0
}

# Interrupt work per connection: NET_RX softirqs, and IPIs (function call
# and rescheduling interrupts: the cost of work handed to another cpu).
net_rx_count() {
	awk '$1 == "NET_RX:" { for (i = 2; i <= NF; i++) s += $i } END { print s + 0 }' /proc/softirqs
}
ipi_count() {
	awk '$1 == "CAL:" || $1 == "RES:" {
		for (i = 2; i <= NF && $i ~ /^[0-9]+$/; i++) s += $i
	} END { print s + 0 }' /proc/interrupts
}
# Context switches of every cpu: where a connection's client and server
# share a cpu, each exchange switches between them.
switch_count() {
	awk '$1 == "ctxt" { print $2 }' /proc/stat
}
# SYNs that went through fastsocket's lookup (0 when stock).
fs_syns() {
	if is_loaded; then
		echo $(($(proc_total syn_local) + $(proc_total syn_global)))
	else
		echo 0
	fi
}

# bench_window start|stop: opens or closes the coherence plugin's window
# (Documentation/coherence.rst) when BENCH_WINDOW names coherence-window
# (the bench_coherence scenario); nothing otherwise.  It may run in a
# command substitution (counters_end): its failure goes to stderr, the
# scenario's log.
bench_window() {
	[ -z "${BENCH_WINDOW:-}" ] || "$BENCH_WINDOW" "$1" || {
		echo "FAIL: coherence-window $1 failed" >&2
		exit 1
	}
}

# counters_start / counters_end: what a measurement added to the NET_RX
# softirq, IPI, fastsocket SYN and context switch counts, as "net_rx ipi
# syns switches" (record divides by the connections).  They bracket the
# load alone, so the coherence window opens after the counters are read
# and closes before they are read again.  counters_end runs in a command
# substitution: it also leaves the counts, and the load's milliseconds,
# in /tmp/bench-counts for the coherence pass.
counters_start() {
	C_NET_RX=$(net_rx_count)
	C_IPI=$(ipi_count)
	C_SYNS=$(fs_syns)
	C_SWITCH=$(switch_count)
	bench_window start
	now_ms
	C_FROM=$NOW_MS
}
counters_end() {
	local counts
	now_ms
	bench_window stop
	counts="$(($(net_rx_count) - C_NET_RX)) $(($(ipi_count) - C_IPI))"
	counts+=" $(($(fs_syns) - C_SYNS)) $(($(switch_count) - C_SWITCH))"
	echo "$counts $((NOW_MS - C_FROM))" >/tmp/bench-counts
	echo "$counts"
}

# emit_meta: the VM run's description, and the configurations.
emit_meta() {
	local configs
	configs=$(for c in $(config_names); do
		jq -nc --arg n "$c" --arg l "$(config_field "$c" 7)" '{name: $n, label: $l}'
	done | jq -sc .)
	jq -nc --arg kernel "$BENCH_KERNEL" --argjson cpus "$BENCH_CPUS" --arg uname "$(uname -r -v)" \
		--arg date "$(date -u +%Y-%m-%dT%H:%M:%SZ)" \
		--arg host_cpu "${FS_HOST_CPU:-unknown}" --argjson host_cpus "${FS_HOST_CPUS:-0}" \
		--arg qemu "${FS_QEMU:-unknown}" --arg accel "${FS_ACCEL:-tcg,thread=single}" \
		--arg nginx "$(nginx -v 2>&1 | sed 's|.*/||')" \
		--arg haproxy "$(haproxy -v | awk 'NR == 1 { print $3 }')" \
		--argjson rounds "${BENCH_ROUNDS:-null}" --argjson seconds "${BENCH_SECONDS:-null}" \
		--argjson connections "${BENCH_COUNT:-null}" --argjson configs "$configs" \
		'{kind: "meta", kernel: $kernel, cpus: $cpus, uname: $uname, date: $date,
		  host_cpu: $host_cpu, host_cpus: $host_cpus, qemu: $qemu, accel: $accel,
		  nginx: $nginx, haproxy: $haproxy, rounds: $rounds, seconds: $seconds,
		  connections: $connections, configs: $configs}' >>"$BENCH_JSONL"
}

# bench_server CONFIG: "fsbench server" as CONFIG runs it, one pinned
# worker per cpu; sets SERVER_PID, SERVER_ADDR, SERVER_LOG (tests/vm/lib.sh).
bench_server() {
	local flags
	flags=$(config_field "$1" 5)
	[ "$flags" = - ] && flags=
	# shellcheck disable=SC2086 # flags: several words
	SERVER_NS="env LD_PRELOAD=$BENCH_PRELOAD" fs_server --listen 127.0.0.1:0 \
		--threads "$BENCH_CPUS" --pin $flags
}

# The client: two pinned threads per cpu, so every cpu has a connection
# in flight while another is being set up or torn down.
bench_client() {
	"$FS_BENCH" client --connect "$SERVER_ADDR" --threads $((BENCH_CPUS * 2)) --pin --json "$@"
}

# run_fsbench CONFIG ROUND PAIR: fsbench for BENCH_SECONDS, or for
# BENCH_COUNT connections if that is set (under the coherence plugin, whose
# guest runs several times slower: a connection gets longer to finish).
run_fsbench() {
	local counts amount=(--duration "$BENCH_SECONDS")
	[ -z "${BENCH_COUNT:-}" ] || amount=(--connections "$BENCH_COUNT" --timeout 120)
	bench_server "$1"
	counters_start
	# A run with failed connections exits 1; it is recorded, not hidden.
	bench_client "${amount[@]}" >/tmp/bench-client.json || true
	counts=$(counters_end)
	fs_server_stop /tmp/bench-server.json
	record fsbench "$1" "$2" "$3" /tmp/bench-client.json "$counts" \
		--slurpfile s /tmp/bench-server.json '{
		seconds: .seconds, completed: .completed, failed: .failed,
		conn_per_sec: .conn_per_sec, slice_ms: .slice_ms, per_slice: .per_slice,
		p50_us: .latency.p50_us,
		p99_us: .latency.p99_us, p999_us: .latency.p999_us,
		locality: $s[0].fraction, per_cpu_accepts: $s[0].per_cpu_accepts,
		accepted: $s[0].accepted}'
}

# app_preload CONFIG: LD_PRELOAD for an application under the probe.
app_preload() {
	APP_PRELOAD=$FS_PROBE
	[ -z "$BENCH_PRELOAD" ] || APP_PRELOAD=$BENCH_PRELOAD:$FS_PROBE
}

# app_reuseport CONFIG: 1 if the application listens with a socket per
# worker.
app_reuseport() {
	[ "$(config_field "$1" 6)" = reuseport ] && echo 1 || echo 0
}

# now_ms: wall-clock ms since the epoch in NOW_MS (bash's own clock: no
# process), the clock libfsprobe.so counts accepts by.
now_ms() {
	local us=${EPOCHREALTIME/./}
	NOW_MS=$((us / 1000))
}

# bench_wrk URL: wrk_run into /tmp/bench-wrk.out (wrk_count if BENCH_COUNT
# is set), its window in WRK_FROM and WRK_TO (now_ms).
bench_wrk() {
	now_ms
	WRK_FROM=$NOW_MS
	if [ -n "${BENCH_COUNT:-}" ]; then
		wrk_count "$1" /tmp/bench-wrk.out "$BENCH_COUNT"
	else
		wrk_run "$1" /tmp/bench-wrk.out
	fi
	now_ms
	WRK_TO=$NOW_MS
}

# wrk_count URL OUT N: wrk_run's load (tests/vm/apps.sh), ended by a count
# rather than a time: tests/bench/wrk_count.lua stops each wrk thread at
# its share of N responses and wrk once every thread has stopped
# (APP_SECONDS only bounds it).  The connections a thread has in flight
# when it stops (up to three) are served but not counted by wrk; the
# server's probe counts them.  It runs under the coherence plugin, whose
# guest is several times slower: wrk counts a response later than its
# --timeout as an error, so the timeout is long.
wrk_count() {
	local threads
	threads=${WRK_THREADS:-$(nproc)}
	rm -f /tmp/bench-wrk.done
	# shellcheck disable=SC2086 # WRK_PREFIX: an optional command prefix
	${WRK_PREFIX:-} wrk -t "$threads" -c $((threads * 4)) -d "${APP_SECONDS}s" --timeout 120s \
		--latency -H "Connection: close" -s "$FS_TOP/tests/bench/wrk_count.lua" "$1" \
		-- $((($3 + threads - 1) / threads)) "$threads" /tmp/bench-wrk.done >"$2" 2>&1 ||
		fail "wrk $1: $(cat "$2")"
}

# record_wrk WORKLOAD CONFIG ROUND PAIR COUNTS BACK: records the wrk run of
# bench_wrk against a server measured by libfsprobe.so in /tmp/bench-probe,
# with the server's accepts in each 100 ms slice of the run; BACK: the
# backend's probe summary, or null.
record_wrk() {
	wrk_field /tmp/bench-wrk.out json >/tmp/bench-wrk.json
	record "$1" "$2" "$3" "$4" /tmp/bench-wrk.json "$5" --argjson back "$6" \
		--argjson probe "$("$FS_TOOLS/fsprobe" /tmp/bench-probe "$WRK_FROM" "$WRK_TO")" '{
		seconds: $seconds, completed: .requests, failed: (.errors + .non2xx),
		conn_per_sec: .rps, slice_ms: $probe.slice_ms, per_slice: $probe.per_slice,
		p50_us: .p50_us, p99_us: .p99_us, p999_us: null,
		locality: $probe.fraction, per_cpu_accepts: $probe.per_cpu_accepts,
		accepted: $probe.accepts}
		+ (if $back == null then {} else {back_locality: $back.fraction} end)'
}

# measure_nginx LOAD CONFIG ROUND PAIR WORKERS: nginx (WORKERS pinned
# workers, accept_mutex off, its default) under wrk with "Connection:
# close" for BENCH_SECONDS, recorded as LOAD.  APP_NS and APP_ADDR place
# nginx, WRK_PREFIX and WRK_THREADS wrk (tests/vm/apps.sh).
measure_nginx() {
	local counts
	app_preload "$2"
	probe_dir /tmp/bench-probe
	FSPROBE_DIR=/tmp/bench-probe nginx_start /tmp/bench-nginx 8080 "$5" off \
		"$(app_reuseport "$2")"
	counters_start
	bench_wrk "http://${APP_ADDR:-127.0.0.1}:8080/"
	counts=$(counters_end)
	app_stop "$NGINX_PID"
	record_wrk "$1" "$2" "$3" "$4" "$counts" null
}

# run_nginx CONFIG ROUND PAIR: nginx with one worker per cpu, over
# loopback.
run_nginx() {
	measure_nginx nginx "$@" "$BENCH_CPUS"
}

# The nginx-veth load splits the cpus: nginx's workers on the first half,
# wrk on the other half in a network namespace of its own, across a veth
# pair whose RPS steers each side's packets to its own cpus.  That is a
# client on another machine, as in a deployment.  Over loopback the
# client's thread and the worker it reaches share a cpu once locality is
# perfect, and each exchange between them is a context switch.
VETH_HALF=$((BENCH_CPUS / 2))

# bench_veth_up: the namespaces and the veth pair of nginx-veth (removed
# when the scenario exits).
bench_veth_up() {
	local all=$(((1 << BENCH_CPUS) - 1)) server=$(((1 << VETH_HALF) - 1))
	trap veth_down EXIT
	veth_up "$(printf '%x' $server)" "$(printf '%x' $((all & ~server)))"
}

# run_nginx_veth CONFIG ROUND PAIR: nginx on VETH_HALF cpus under wrk on
# the others, across the veth pair.
run_nginx_veth() {
	APP_NS="ip netns exec $VETH_SRV_NS" APP_ADDR=10.77.0.1 \
		WRK_PREFIX="ip netns exec $VETH_CLI_NS taskset -c $VETH_HALF-$((BENCH_CPUS - 1))" \
		WRK_THREADS=$VETH_HALF measure_nginx nginx-veth "$@" "$VETH_HALF"
}

# run_haproxy CONFIG ROUND PAIR: haproxy (a thread per cpu) in front of
# nginx, both listening as CONFIG says, a new connection on each side per
# request.
run_haproxy() {
	local counts reuse
	app_preload "$1"
	reuse=$(app_reuseport "$1")
	probe_dir /tmp/bench-probe-back
	probe_dir /tmp/bench-probe
	FSPROBE_DIR=/tmp/bench-probe-back nginx_start /tmp/bench-nginx 8080 "$BENCH_CPUS" off "$reuse"
	FSPROBE_DIR=/tmp/bench-probe haproxy_start /tmp/bench-haproxy 8081 8080 "$reuse"
	counters_start
	bench_wrk http://127.0.0.1:8081/
	counts=$(counters_end)
	haproxy_stop "$HAPROXY_PID"
	app_stop "$NGINX_PID"
	record_wrk haproxy "$1" "$2" "$3" "$counts" "$("$FS_TOOLS/fsprobe" /tmp/bench-probe-back)"
}

# record WORKLOAD CONFIG ROUND PAIR INPUT COUNTS [JQ OPTIONS...] FIGURES:
# one measurement into the results and one line for the person waiting.
# FIGURES is a jq filter that turns INPUT (a JSON file) into the load's
# figures, with $seconds at hand; COUNTS is counters_end's output.  One jq
# does it all (see BENCH_FIELD for why).
record() {
	local w=$1 config=$2 round=$3 pair=$4 input=$5 net ipi syns switches out
	read -r net ipi syns switches <<<"$6"
	out=$(jq -r "${@:7:$#-7}" --arg w "$w" --arg c "$config" --argjson r "$round" \
		--arg pair "$pair" --arg kernel "$BENCH_KERNEL" --argjson cpus "$BENCH_CPUS" \
		--argjson seconds "$BENCH_SECONDS" --argjson net "$net" --argjson ipi "$ipi" \
		--argjson syns "$syns" --argjson switches "$switches" \
		"(${*: -1}) as \$m | $RECORD_LINES" "$input") ||
		fail "$w $config: no figures from $(cat "$input")"
	head -n 1 <<<"$out" >>"$BENCH_JSONL"
	tail -n +2 <<<"$out"
}
# The rest of record's filter, from the load's figures $m.
RECORD_LINES='
	def per(x): if ($m.completed // 0) > 0
		then (x / $m.completed * 1000 | round) / 1000 else null end;
	{kind: "run", kernel: $kernel, cpus: $cpus, workload: $w, config: $c,
	 round: $r, pair: $pair} + $m
	+ {net_rx_per_conn: per($net), ipi_per_conn: per($ipi),
	   switch_per_conn: per($switches), fastsocket_syns: $syns}
	| tojson, "bench: round \($r) \($w) \($c): \(.conn_per_sec | floor) conn/s, "
		+ "locality \(.locality // "-"), failed \(.failed)"'
